"""Employees' link pages (list, new, share, QR downloads, pause); the public redirect's URL
rule (the redirect itself is ``redirect_app.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from flask import (
    Blueprint,
    Flask,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.routing import BaseConverter
from werkzeug.wrappers import Response

from perks.errors import PerksError
from perks.forms import ConfirmForm, require_confirmation
from perks.people.access import login_required
from perks.qr import qr_png_bytes, qr_svg, qr_svg_bytes
from perks.referrals import clicks, services
from perks.referrals.forms import LinkForm
from perks.referrals.models import ReferralLink
from perks.security import is_safe_path
from perks.shop.queries import category_choices, product_choices
from perks.urls import absolute_url

bp = Blueprint("referrals", __name__)

Page = str | tuple[str, int]


class AnyCodeConverter(BaseConverter):
    """Everything after ``/r/``, slashes included, so that ``/r//evil.com`` and the like reach
    the view (and land on the storefront) instead of being re-routed by Werkzeug."""

    regex = r".*"
    part_isolating = False


@bp.record_once
def _setup(state: BlueprintSetupState) -> None:
    app = state.app
    assert isinstance(app, Flask)  # typed as Flask's framework-neutral base (``App``)
    app.url_map.converters["anycode"] = AnyCodeConverter
    clicks.init_referrals(app)


def link_url(link: ReferralLink) -> str:
    """The link as people share it: absolute, on this site's configured ``BASE_URL``."""
    return absolute_url("referrals.redirect", code=link.code)


# --- the links pages ------------------------------------------------------------------------


@bp.get("/links")
@login_required
def my_links() -> str:
    rows = services.my_links(current_user)
    return render_template(
        "referrals/my_links.html",
        rows=rows,
        urls={row.link.id: link_url(row.link) for row in rows},
        has_default=any(row.link.is_default for row in rows),
        form=ConfirmForm(),
    )


@bp.post("/links/default")
@login_required
def make_default_link() -> Response:
    """The "make my link" button, for someone who has no default link (people get theirs
    when they are added or re-activated)."""
    require_confirmation()
    link = services.ensure_default_link(current_user)
    flash(_("Your link is ready: share it."), "success")
    return redirect(url_for("referrals.share", link_id=link.id))


def _link_form() -> LinkForm:
    return LinkForm(products=product_choices(), categories=category_choices())


@bp.route("/links/new", methods=["GET", "POST"])
@login_required
def new_link() -> Response | Page:
    form = _link_form()
    if request.method == "GET":
        # ?target=product:12 pre-selects a page (a "share this product" button may link here).
        wanted = request.args.get("target", "")
        if wanted in form.offered_targets():
            form.target.data = wanted
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("referrals/new_link.html", form=form), status
    destination, destination_id = form.destination
    try:
        link = services.create_link(
            current_user,
            label=form.label.data or "",
            destination=destination,
            destination_id=destination_id,
        )
    except PerksError as error:  # ValidationFailed (product gone), Conflict (too many)
        form.form_errors.append(error.message)
        return render_template("referrals/new_link.html", form=form), error.status_code
    flash(_("Your link is ready: share it."), "success")
    return redirect(url_for("referrals.share", link_id=link.id))


@dataclass(frozen=True)
class ShareTarget:
    key: str
    label: str
    href: str
    #: shown under the button: where it works
    note: str = ""
    new_tab: bool = False


def share_targets(url: str, message: str, subject: str) -> list[ShareTarget]:
    """Plain links that open each app's own share screen on a phone (no script, no SDK).

    Zalo publishes no share URL that works without its SDK and an Official Account, so the page
    offers "Copy for Zalo" and the phone's own share sheet (which lists Zalo) instead.
    """

    def q(text: str) -> str:
        return quote(text, safe="")

    return [
        ShareTarget(
            "facebook",
            _("Facebook"),
            f"https://www.facebook.com/sharer/sharer.php?u={q(url)}",
            new_tab=True,
        ),
        ShareTarget(
            "messenger",
            _("Messenger"),
            f"fb-messenger://share?link={q(url)}",
            note=_("opens the Messenger app on a phone."),
        ),
        ShareTarget("email", _("E-mail"), f"mailto:?subject={q(subject)}&body={q(message)}"),
        ShareTarget(
            "sms",
            _("SMS"),
            f"sms:?&body={q(message)}",
            note=_("opens the messages app on a phone."),
        ),
    ]


def _share_page(link: ReferralLink) -> str:
    url = link_url(link)
    destination_name, target = services.link_details(link)
    message = _("Have a look at this: %(url)s", url=url)
    subject = _("A recommendation from %(name)s", name=current_user.name)
    return render_template(
        "referrals/share.html",
        link=link,
        url=url,
        message=message,
        destination_name=destination_name,
        landing_url=url_for(target.endpoint, **target.values),
        clicks=services.human_clicks(link.id),
        targets=share_targets(url, message, subject),
        qr=qr_svg(url),
        form=ConfirmForm(),
    )


@bp.get("/links/<int:link_id>")
@login_required
def share(link_id: int) -> str:
    return _share_page(services.own_link(link_id, current_user))


def _download(link: ReferralLink, body: bytes, mimetype: str, extension: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="referral-{link.code}.{extension}"'
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/links/<int:link_id>/qr.png", endpoint="qr_png")
@login_required
def qr_png_download(link_id: int) -> Response:
    link = services.own_link(link_id, current_user)
    return _download(link, qr_png_bytes(link_url(link)), "image/png", "png")


@bp.get("/links/<int:link_id>/qr.svg", endpoint="qr_svg")
@login_required
def qr_svg_download(link_id: int) -> Response:
    link = services.own_link(link_id, current_user)
    return _download(link, qr_svg_bytes(link_url(link)), "image/svg+xml", "svg")


def _back_to(link_id: int) -> Response:
    target = request.form.get("next", "")
    return redirect(target if is_safe_path(target) else url_for("referrals.share", link_id=link_id))


@bp.post("/links/<int:link_id>/pause")
@login_required
def pause(link_id: int) -> Response:
    require_confirmation()
    services.set_link_paused(link_id, current_user, paused=True)
    flash(_("Link paused: it still leads to the storefront, but counts nothing."), "info")
    return _back_to(link_id)


@bp.post("/links/<int:link_id>/resume")
@login_required
def resume(link_id: int) -> Response:
    require_confirmation()
    services.set_link_paused(link_id, current_user, paused=False)
    flash(_("Link resumed."), "success")
    return _back_to(link_id)


# --- the public redirect --------------------------------------------------------------------
#
# ``/r/<code>`` is served by its own WSGI app in front of Flask (``redirect_app.py``): the
# blueprint only names the rule, so ``url_for("referrals.redirect", code=...)`` writes links.

bp.add_url_rule("/r/<anycode:code>", endpoint="redirect", build_only=True, merge_slashes=False)
