"""The feedback box's pages: send feedback (``/feedback/new``), my feedback (``/feedback``),
an anonymous sender's follow-up page (``/feedback/follow-up/<secret>``), an owner's inbox
(``/feedback/inbox``), HR's owners and targets (``/manage/feedback``) and the public answer
times (``/feedback/answer-times``).

A sender sees only their own items, an owner only the items addressed to them: every lookup
goes through a service that answers NotFound otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from perks.auth.session import leave_unseen
from perks.catalog.claims import company_today
from perks.errors import ChangedMeanwhile, Conflict, ValidationFailed
from perks.feedback import items, targets
from perks.feedback.forms import (
    AnswerForm,
    DeclineForm,
    DeskForm,
    FeedbackForm,
    MessageForm,
    RatingForm,
)
from perks.feedback.models import (
    DEFAULT_ACKNOWLEDGE_DAYS,
    DEFAULT_ANSWER_DAYS,
    OPEN_STATES,
    FeedbackDesk,
    FeedbackItem,
    FeedbackStatus,
    Topic,
)
from perks.forms import require_confirmation, shown_as_saved
from perks.i18n import format_share
from perks.people.access import roles_required
from perks.people.models import Role
from perks.recognition.views import field_error
from perks.urls import absolute_url

bp = Blueprint("feedback", __name__)

Page = str | tuple[str, int]

#: how far back the public answer times look
ANSWER_TIMES_DAYS = 365


@bp.get("/feedback")
@roles_required()
def mine() -> str:
    """The person's named items (anonymous ones are reached only by their follow-up link)."""
    return render_template(
        "feedback/mine.html",
        items=items.sent_by(current_user),
        owns=items.owns_items(current_user),
    )


@bp.route("/feedback/new", methods=["GET", "POST"])
@roles_required()
def send() -> Response | Page:
    form = FeedbackForm()
    form.set_choices(items.departments())
    if not form.is_submitted():
        form.sending.data = items.new_sending(current_user)
    if form.is_submitted() and form.anonymous.data:
        leave_unseen()
    if form.validate_on_submit():
        try:
            opened = items.send_feedback(
                current_user,
                form.department.data or None,
                Topic(form.topic.data),
                form.subject.data or "",
                form.text.data or "",
                anonymous=bool(form.anonymous.data),
                sending=form.sending.data or None,
            )
        except ValidationFailed as error:
            if error.details.get("field") == "sending":
                form.form_errors.append(error.message)
            else:
                field_error(form, error)
        else:
            if opened.item.anonymous:
                # shown in this answer (and again to the same form sent again): the database
                # keeps only its hash
                link = opened.follow_up_secret and absolute_url(
                    "feedback.follow_up", secret=opened.follow_up_secret
                )
                return render_template(
                    "feedback/sent_anonymously.html", link=link, again=opened.again
                )
            if opened.again:
                flash(_("This feedback was already sent: here it is."), "info")
            else:
                flash(_("Thank you: your feedback was sent."), "success")
            return redirect(url_for("feedback.mine_item", item_id=opened.item.id))
    if form.sending.errors:
        form.form_errors.append(_("This page is out of date: open the feedback form again."))
    return render_template("feedback/send.html", form=form), 400 if form.errors else 200


def _item_page(
    item: FeedbackItem,
    actions: dict[str, str],
    reply_form: MessageForm | None = None,
    rating_form: RatingForm | None = None,
    **extra: Any,
) -> str:
    """The sender's page of an item, with its forms (as sent back, errors and text kept)."""
    return render_template(
        "feedback/item.html",
        item=item,
        actions=actions,
        reply_form=reply_form or MessageForm(formdata=None),
        rating_form=rating_form or RatingForm(formdata=None),
        acknowledge_by=targets.acknowledge_by(item),
        answer_by=targets.answer_by(item),
        **extra,
    )


def _mine_page(item_id: int, **forms: Any) -> str:
    """Raises NotFound: not the person's item."""
    item = items.own_item(item_id, current_user)
    actions = {
        name: url_for(f"feedback.mine_{name}", item_id=item_id)
        for name in ("reply", "rate", "close")
    }
    return _item_page(item, actions, **forms)


def _follow_up_page(secret: str, **forms: Any) -> str:
    """Raises NotFound: no item has that secret."""
    item = items.followed_item(secret)
    actions = {
        name: url_for(f"feedback.follow_up_{name}", secret=secret)
        for name in ("reply", "rate", "close")
    }
    return _item_page(item, actions, anonymous_view=True, **forms)


@bp.get("/feedback/<int:item_id>")
@roles_required()
def mine_item(item_id: int) -> str:
    return _mine_page(item_id)


@bp.get("/feedback/follow-up/<secret>")
@roles_required()
def follow_up(secret: str) -> str:
    return _follow_up_page(secret)


def _new_feedback_instead(item: FeedbackItem, text: str, message: str) -> tuple[str, int]:
    """The new-feedback form, for a reply the item no longer takes (closed or declined
    meanwhile): what was typed, the item's department, topic and subject, anonymous as the
    item was, and why, 409."""
    form = FeedbackForm(
        formdata=None,
        data={
            "department": item.department_id or 0,
            "topic": item.topic.value,
            "subject": item.subject,
            "text": text,
            "anonymous": item.anonymous,
        },
    )
    form.set_choices(items.departments())
    form.form_errors.append(message)
    return render_template("feedback/send.html", form=form), 409


def _sender_action(
    action: str,
    back: str,
    page: Callable[..., str],
    item: Callable[[], FeedbackItem],
    **who: Any,
) -> Response | tuple[str, int]:
    """Reply, rate or close as the sender; a reply or a rating the form refuses (no text,
    too long, no stars) comes back on the item's page, 400; a reply the item no longer
    takes, on the new-feedback form (``_new_feedback_instead``)."""
    try:
        if action == "reply":
            form = MessageForm()
            if not form.validate_on_submit():
                return page(reply_form=form), 400
            try:
                items.reply(form.text.data or "", **who)
            except Conflict as error:  # closed or declined since the page was shown
                return _new_feedback_instead(item(), form.text.data or "", error.message)
            flash(_("Your message was sent."), "success")
        elif action == "rate":
            rating = RatingForm()
            if not rating.validate_on_submit():
                return page(rating_form=rating), 400
            items.rate_answer(int(rating.rating.data), **who)
            flash(_("Thank you for rating the answer."), "success")
        else:
            require_confirmation()
            items.close_as_sender(**who)
            flash(_("Closed."), "success")
    except (Conflict, ValidationFailed) as error:
        flash(error.message, "danger")
    return redirect(back)


def _mine_action(action: str, item_id: int) -> Response | tuple[str, int]:
    return _sender_action(
        action,
        url_for("feedback.mine_item", item_id=item_id),
        lambda **forms: _mine_page(item_id, **forms),
        lambda: items.own_item(item_id, current_user),
        item_id=item_id,
        sender=current_user,
    )


def _follow_up_action(action: str, secret: str) -> Response | tuple[str, int]:
    leave_unseen()  # the anonymous sender's reply, rating or close
    return _sender_action(
        action,
        url_for("feedback.follow_up", secret=secret),
        lambda **forms: _follow_up_page(secret, **forms),
        lambda: items.followed_item(secret),
        secret=secret,
    )


@bp.post("/feedback/<int:item_id>/reply")
@roles_required()
def mine_reply(item_id: int) -> Response | tuple[str, int]:
    return _mine_action("reply", item_id)


@bp.post("/feedback/<int:item_id>/rate")
@roles_required()
def mine_rate(item_id: int) -> Response | tuple[str, int]:
    return _mine_action("rate", item_id)


@bp.post("/feedback/<int:item_id>/close")
@roles_required()
def mine_close(item_id: int) -> Response | tuple[str, int]:
    return _mine_action("close", item_id)


@bp.post("/feedback/follow-up/<secret>/reply")
@roles_required()
def follow_up_reply(secret: str) -> Response | tuple[str, int]:
    return _follow_up_action("reply", secret)


@bp.post("/feedback/follow-up/<secret>/rate")
@roles_required()
def follow_up_rate(secret: str) -> Response | tuple[str, int]:
    return _follow_up_action("rate", secret)


@bp.post("/feedback/follow-up/<secret>/close")
@roles_required()
def follow_up_close(secret: str) -> Response | tuple[str, int]:
    return _follow_up_action("close", secret)


# --- the owner's inbox ----------------------------------------------------------------------


@bp.get("/feedback/inbox")
@roles_required()
def inbox_page() -> str:
    """The items addressed to the person (none for who owns no department's feedback)."""
    today = company_today()
    found = items.inbox(current_user)
    return render_template(
        "feedback/inbox.html",
        items=found,
        late={item.id: targets.overdue(item, today) for item in found},
        replied={
            item.id: item.status in (*OPEN_STATES, FeedbackStatus.ANSWERED)
            and items.sender_wrote_last(item)
            for item in found
        },
    )


@bp.get("/feedback/inbox/<int:item_id>")
@roles_required()
def inbox_item(item_id: int) -> str:
    return _inbox_item_page(item_id, AnswerForm(), DeclineForm())


def _inbox_item_page(item_id: int, answer_form: AnswerForm, decline_form: DeclineForm) -> str:
    """The owner's page of an item, with its forms (as sent back, errors and text kept).
    Raises NotFound: not an item addressed to the person."""
    item = items.addressed_item(item_id, current_user)
    return render_template(
        "feedback/inbox_item.html",
        item=item,
        answer_form=answer_form,
        decline_form=decline_form,
        acknowledge_by=targets.acknowledge_by(item),
        answer_by=targets.answer_by(item),
        late=targets.overdue(item, company_today()),
        replied=items.sender_wrote_last(item),
    )


#: the owner's steps that need no text
_PLAIN_STEPS = {
    "acknowledge": items.acknowledge,
    "start": items.start_work,
    "close": items.close_as_owner,
}


@bp.post("/feedback/inbox/<int:item_id>/<step>")
@roles_required()
def owner_step(item_id: int, step: str) -> Response | tuple[str, int]:
    """Acknowledge, start, answer, decline or close an item addressed to the person; an
    answer or a decline the form refuses (no text, too long) comes back on the page, 400."""
    try:
        if step in _PLAIN_STEPS:
            require_confirmation()
            item = _PLAIN_STEPS[step](item_id, current_user)
        elif step == "answer":
            form = AnswerForm()
            if not form.validate_on_submit():
                return _inbox_item_page(item_id, form, DeclineForm(formdata=None)), 400
            item = items.answer(
                item_id, current_user, form.text.data or "", publish=bool(form.publish.data)
            )
        elif step == "decline":
            decline = DeclineForm()
            if not decline.validate_on_submit():
                return _inbox_item_page(item_id, AnswerForm(formdata=None), decline), 400
            item = items.decline(item_id, current_user, decline.reason.data or "")
        else:
            abort(404)
        if item.anonymous:
            # nobody can be told: the sender reads each step only on their follow-up page
            flash(_("Saved. The sender sees it on their private follow-up page."), "success")
        else:
            flash(_("Saved. The sender is told."), "success")
    except (Conflict, ValidationFailed) as error:
        flash(error.message, "danger")
    return redirect(url_for("feedback.inbox_item", item_id=item_id))


# --- public answer times --------------------------------------------------------------------


@bp.get("/feedback/answer-times")
@roles_required()
def answer_times() -> str:
    """Per department: received, median working days to acknowledge and to answer, share
    answered within target, and the answers their owners published, without names."""
    today = company_today()
    since = today - timedelta(days=ANSWER_TIMES_DAYS)
    return render_template(
        "feedback/answer_times.html",
        departments=targets.answer_times(since, today),
        since=since,
        decimal=lambda n: format_decimal(n, format="#,##0.#"),
        percent=format_share,
    )


# --- HR: owners and targets -----------------------------------------------------------------


hr_only = roles_required(Role.HR)


@bp.get("/manage/feedback")
@hr_only
def desks() -> str:
    return render_template("feedback/desks.html", desks=items.desks())


#: the fields a refused stale save of a desk lists, where what was entered differs
DESK_FIELDS = ("owner", "acknowledge_days", "answer_days")


def _desk_form(desk: FeedbackDesk | None, **kwargs: Any) -> DeskForm:
    """The desk form with its owners, filled with ``desk`` as it is (on a POST, with what
    was sent unless ``formdata=None``)."""
    form = DeskForm(
        data={
            "owner": desk.owner_id if desk and desk.owner_id else 0,
            "acknowledge_days": desk.acknowledge_days if desk else DEFAULT_ACKNOWLEDGE_DAYS,
            "answer_days": desk.answer_days if desk else DEFAULT_ANSWER_DAYS,
            "shown": items.shown_desk_fingerprint(desk),
        },
        **kwargs,
    )
    form.set_choices(items.possible_owners())
    return form


def _desk_of(department_id: int) -> tuple[Any, FeedbackDesk | None]:
    return next(((d, k) for d, k in items.desks() if d.id == department_id), (None, None))


@bp.route("/manage/feedback/<int:department_id>", methods=["GET", "POST"])
@hr_only
def edit_desk(department_id: int) -> Response | Page:
    department, desk = _desk_of(department_id)
    if department is None:
        abort(404)
    form = _desk_form(desk)
    entered: list[tuple[str, str]] = []
    status = 400 if form.is_submitted() else 200
    if form.validate_on_submit():
        try:
            items.set_desk(
                department_id,
                items.DeskData(
                    form.owner.data or None,
                    int(form.acknowledge_days.data or 0),
                    int(form.answer_days.data or 0),
                ),
                current_user,
                shown=form.shown.data,
            )
        except ChangedMeanwhile as error:
            department, desk = _desk_of(department_id)
            current = _desk_form(desk, formdata=None)
            form, entered, status = shown_as_saved(form, current, DESK_FIELDS, error)
        except ValidationFailed as error:
            field_error(form, error)
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("feedback.desks"))
    elif form.shown.errors:
        form.form_errors.append(_("This page is out of date: open the department's page again."))
    page = render_template(
        "feedback/desk_form.html", form=form, department=department, entered=entered
    )
    return page, status
