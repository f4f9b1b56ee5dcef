"""Survey pages: HR builds, opens, reminds, closes and reads surveys (``/manage/surveys``);
everyone answers the open surveys they are in the audience of (``/surveys``)."""

from __future__ import annotations

from flask import (
    Blueprint,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from perks.auth.session import leave_unseen
from perks.catalog import admin_queries
from perks.catalog.claims import company_today
from perks.errors import ChangedMeanwhile, Conflict, ValidationFailed
from perks.feedback import surveys, surveys_export
from perks.feedback.surveys_forms import (
    EditedSurveyForm,
    QuestionForm,
    SurveyForm,
    answer_form,
    answers_of,
)
from perks.feedback.surveys_models import QuestionKind, Survey
from perks.forms import ConfirmForm, Form, require_confirmation, shown_as_saved
from perks.i18n import format_number
from perks.people import services as people_services
from perks.people.access import roles_required
from perks.people.models import Role

bp = Blueprint("surveys", __name__)

Page = str | tuple[str, int]
hr_only = roles_required(Role.HR)


def _field_error(form: Form, error: ValidationFailed) -> None:
    field = getattr(form, str(error.details.get("field")), None)
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, error.message]
    else:
        flash(error.message, "danger")


@bp.get("/manage/surveys")
@hr_only
def manage() -> str:
    """Every survey, and eNPS across them."""
    return render_template(
        "feedback/surveys/manage.html",
        surveys=surveys.surveys(),
        trend=surveys.enps_trend(),
        rounded=surveys.rounded,
    )


#: the fields a refused stale save of a survey lists, where what was entered differs
SURVEY_FIELDS = (
    "title_vi",
    "title_en",
    "intro_vi",
    "intro_en",
    "department_ids",
    "locations",
    "employment_types",
    "min_tenure_days",
)


def _survey_form(survey: Survey | None, *, as_saved: bool = False) -> SurveyForm:
    """The survey form with its choices; for changes of ``survey``, an ``EditedSurveyForm``
    (carrying what its page showed), filled with the survey on a GET or when ``as_saved``."""
    kind = SurveyForm if survey is None else EditedSurveyForm
    form = kind(formdata=None) if as_saved else kind()
    form.set_choices(
        people_services.departments(),
        admin_queries.staff_locations(survey.locations if survey else ()),
    )
    if survey is not None and (as_saved or request.method == "GET"):
        form.fill(survey)
    return form


def _save(survey: Survey | None) -> Response | Page:
    form = _survey_form(survey)
    entered: list[tuple[str, str]] = []
    status = 400 if form.is_submitted() else 200
    if form.validate_on_submit():
        try:
            if survey is None:
                saved = surveys.create_survey(
                    form.data_for_service(), actor=current_user, sending=form.sending.data or None
                )
            else:
                assert isinstance(form, EditedSurveyForm)
                saved = surveys.update_survey(
                    survey.id, form.data_for_service(), actor=current_user, shown=form.shown.data
                )
        except ChangedMeanwhile as error:
            assert survey is not None
            survey = surveys.get_draft(survey.id)
            current = _survey_form(survey, as_saved=True)
            form, entered, status = shown_as_saved(form, current, SURVEY_FIELDS, error)
        except Conflict as error:  # opened meanwhile
            assert survey is not None
            return _back_to_survey(survey.id, error)
        except ValidationFailed as error:
            _field_error(form, error)
        else:
            flash(_("The survey “%(title)s” is saved.", title=saved.title), "success")
            return redirect(url_for(".detail", survey_id=saved.id), 303)
    elif isinstance(form, EditedSurveyForm) and form.shown.errors:
        form.form_errors.append(_("This page is out of date: open the survey again."))
    page = render_template("feedback/surveys/form.html", form=form, survey=survey, entered=entered)
    return page, status


@bp.route("/manage/surveys/new", methods=["GET", "POST"])
@hr_only
def create() -> Response | Page:
    return _save(None)


@bp.route("/manage/surveys/<int:survey_id>/edit", methods=["GET", "POST"])
@hr_only
def edit(survey_id: int) -> Response | Page:
    """Raises NotFound (404): no such survey. Not a draft (opened meanwhile): back to the
    survey, saying so."""
    try:
        survey = surveys.get_draft(survey_id)
    except Conflict as error:
        return _back_to_survey(survey_id, error)
    return _save(survey)


def _back_to_survey(survey_id: int, error: Conflict) -> Response:
    """The survey's page, saying why a step on it was refused."""
    flash(error.message, "danger")
    return redirect(url_for(".detail", survey_id=survey_id), 303)


def _detail_page(survey: Survey, question_form: QuestionForm, status: int = 200) -> Page:
    today = company_today()
    return render_template(
        "feedback/surveys/detail.html",
        survey=survey,
        question_form=question_form,
        confirm_form=ConfirmForm(),
        audience=surveys.audience_size(survey, today),
        answered=surveys.answered_count(survey.id),
        threshold=surveys.threshold(),
    ), status


@bp.get("/manage/surveys/<int:survey_id>")
@hr_only
def detail(survey_id: int) -> Page:
    """Raises NotFound (404): no such survey."""
    return _detail_page(surveys.get_survey(survey_id), QuestionForm(formdata=None))


@bp.post("/manage/surveys/<int:survey_id>/questions")
@hr_only
def add_question(survey_id: int) -> Response | Page:
    """Raises NotFound (404): no such survey. Not a draft (opened meanwhile): back to the
    survey, saying so."""
    try:
        survey = surveys.get_draft(survey_id)
    except Conflict as error:
        return _back_to_survey(survey_id, error)
    form = QuestionForm()
    if form.validate_on_submit():
        try:
            surveys.add_question(survey.id, form.data_for_service(), actor=current_user)
        except Conflict as error:
            return _back_to_survey(survey.id, error)
        except ValidationFailed as error:
            _field_error(form, error)
        else:
            flash(_("The question is added."), "success")
            return redirect(url_for(".detail", survey_id=survey.id), 303)
    return _detail_page(survey, form, 400)


@bp.post("/manage/surveys/<int:survey_id>/questions/<int:question_id>/remove")
@hr_only
def remove_question(survey_id: int, question_id: int) -> Response:
    """Raises NotFound (404). Not a draft: back to the survey, saying so."""
    if ConfirmForm().validate_on_submit():
        try:
            surveys.remove_question(survey_id, question_id, actor=current_user)
        except Conflict as error:
            flash(error.message, "danger")
        else:
            flash(_("The question is removed."), "success")
    return redirect(url_for(".detail", survey_id=survey_id), 303)


@bp.post(
    "/manage/surveys/<int:survey_id>/questions/<int:question_id>/move/<any(up, down):direction>"
)
@hr_only
def move_question(survey_id: int, question_id: int, direction: str) -> Response:
    """One place up or down. Raises NotFound (404). Not a draft: back to the survey,
    saying so."""
    require_confirmation()
    offset = -1 if direction == "up" else 1
    try:
        if surveys.move_question(survey_id, question_id, offset, actor=current_user):
            flash(_("The question is moved."), "success")
    except Conflict as error:
        flash(error.message, "danger")
    return redirect(url_for(".detail", survey_id=survey_id, _anchor=f"question-{question_id}"), 303)


@bp.post("/manage/surveys/<int:survey_id>/open")
@hr_only
def open_survey(survey_id: int) -> Response:
    """Raises NotFound (404). Not a draft, no question or nobody in its audience: back to
    the survey, saying so."""
    if ConfirmForm().validate_on_submit():
        try:
            survey = surveys.open_survey(survey_id, actor=current_user)
        except Conflict as error:
            flash(error.message, "danger")
        else:
            flash(_("The survey “%(title)s” is open.", title=survey.title), "success")
    return redirect(url_for(".detail", survey_id=survey_id), 303)


@bp.post("/manage/surveys/<int:survey_id>/delete")
@hr_only
def delete_draft(survey_id: int) -> Response:
    """Raises NotFound (404). Not a draft: back to the survey, saying so."""
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for(".detail", survey_id=survey_id), 303)
    try:
        title = surveys.delete_draft(survey_id, actor=current_user)
    except Conflict as error:
        flash(error.message, "danger")
        return redirect(url_for(".detail", survey_id=survey_id), 303)
    flash(_("The draft “%(title)s” is deleted.", title=title), "success")
    return redirect(url_for(".manage"), 303)


@bp.post("/manage/surveys/<int:survey_id>/close")
@hr_only
def close_survey(survey_id: int) -> Response:
    """Raises NotFound (404). Not open (closed twice): back to the survey, saying so."""
    if ConfirmForm().validate_on_submit():
        try:
            survey = surveys.close_survey(survey_id, actor=current_user)
        except Conflict as error:
            flash(error.message, "danger")
        else:
            flash(_("The survey “%(title)s” is closed.", title=survey.title), "success")
    return redirect(url_for(".detail", survey_id=survey_id), 303)


@bp.post("/manage/surveys/<int:survey_id>/remind")
@hr_only
def remind(survey_id: int) -> Response:
    """Raises NotFound (404). Not open, or reminded today already (a double click): back
    to the survey, saying so."""
    if ConfirmForm().validate_on_submit():
        try:
            count = surveys.remind(survey_id, actor=current_user)
        except Conflict as error:
            flash(error.message, "danger")
        else:
            flash(_("Reminders sent: %(count)s.", count=format_number(count)), "success")
    return redirect(url_for(".detail", survey_id=survey_id), 303)


@bp.get("/manage/surveys/<int:survey_id>/results")
@hr_only
def results(survey_id: int) -> Page:
    """``?department=<id>`` and ``?segment=<question id>:<option or band>`` narrow the group
    while it keeps enough answers. Raises NotFound (404): no such survey or segment."""
    survey = surveys.get_survey(survey_id)
    department_id = request.args.get("department", type=int)
    segment = request.args.get("segment", "")
    try:
        found = surveys.results(survey.id, department_id=department_id, segment=segment)
    except surveys.NotEnoughAnswers as refused:
        found, message = None, refused.message
    else:
        message = ""
    locale = str(get_locale() or "vi")
    segments = [
        (f"{q.id}:{value}", f"{q.text} — {label}")
        for q in survey.questions
        for value, label in surveys.segment_choices(q, locale)
    ]
    return render_template(
        "feedback/surveys/results.html",
        survey=survey,
        results=found,
        message=message,
        threshold=surveys.threshold(),
        department_id=department_id,
        segment=segment,
        # the file of the group shown
        group_args={
            name: value
            for name, value in (("department", department_id), ("segment", segment))
            if value
        },
        segments=segments,
        departments=surveys.shown_departments_of(survey.id),
        rounded=surveys.rounded,
        QuestionKind=QuestionKind,
    )


@bp.get("/manage/surveys/<int:survey_id>/results.<any(csv, xlsx):file_format>")
@hr_only
def results_file(survey_id: int, file_format: str) -> Response:
    """The results page's figures as a file, for the same ``?department=`` and
    ``?segment=``. Raises NotFound (404): no such survey or segment; NotEnoughAnswers
    (409): still open, or too few answers in the group."""
    body, name = surveys_export.results_file(
        survey_id,
        file_format,
        department_id=request.args.get("department", type=int),
        segment=request.args.get("segment", ""),
        actor=current_user,
        locale=str(get_locale() or "vi"),
    )
    return Response(
        stream_with_context(body),
        mimetype=surveys_export.MIMETYPES[file_format],
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


@bp.get("/surveys")
@roles_required()
def mine() -> str:
    """The open surveys the person is asked to answer."""
    return render_template(
        "feedback/surveys/mine.html", surveys=surveys.open_surveys_for(current_user)
    )


@bp.route("/surveys/<int:survey_id>", methods=["GET", "POST"])
@roles_required()
def answer(survey_id: int) -> Response | Page:
    """Raises NotFound (404): no such open survey, or the person is not in its audience; a
    closed one sends its audience back to their surveys, saying so, as one no longer for a
    person it reminded, and so do answers sent by a person who has answered already (a
    second tab)."""
    try:
        survey = surveys.survey_to_answer(survey_id, current_user)
    except (surveys.SurveyClosed, surveys.NoLongerAsked) as closed:
        flash(closed.message, "info")
        return redirect(url_for(".mine"), 303)
    answered = surveys.has_answered(survey.id, current_user)
    if answered and request.method == "POST":
        # answers sent from a second tab (or again): the first answers stand, and these
        # must not read as taken
        flash(
            _("You had answered this survey already: the answers you just sent are not recorded."),
            "warning",
        )
        return redirect(url_for(".mine"), 303)
    form = answer_form(survey, str(get_locale() or "vi"))
    if not answered and form.validate_on_submit():
        leave_unseen()
        try:
            surveys.answer(survey.id, answers_of(form, survey), current_user)
        except ValidationFailed as error:
            _field_error(form, error)
        except Conflict as error:
            flash(error.message, "warning")
            return redirect(url_for(".mine"), 303)
        else:
            flash(_("Thank you: your answers are recorded, without your name."), "success")
            return redirect(url_for(".mine"), 303)
    status = 400 if form.is_submitted() and not answered else 200
    page = render_template(
        "feedback/surveys/answer.html", survey=survey, form=form, answered=answered
    )
    return page, status
