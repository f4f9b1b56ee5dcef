"""Employee pages: the catalog, claiming, my perks, draws, rules; the redeemer's counter.

A refused action (not eligible, limit reached, sold out, already used...) re-renders the page
it came from with the reason and a 4xx status, so the person sees why and nothing changed.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.wrappers import Response

from perks import counters
from perks.catalog import claims, draws, queries
from perks.catalog.employee_forms import CatalogFilterForm, RedeemForm, RedeemLookupForm
from perks.catalog.models import Claim, Perk
from perks.db import utcnow
from perks.errors import Conflict, NotEligible, NotFound, PerksError
from perks.extensions import limiter
from perks.forms import ConfirmForm, page_arg, require_confirmation
from perks.images import image_response
from perks.people.access import login_required, roles_required
from perks.people.models import EmploymentType, Role
from perks.qr import qr_svg

bp = Blueprint("catalog", __name__)

Page = str | tuple[str, int]


@bp.app_template_global()
def employment_type_labels(perk: Perk) -> list[str]:
    """The names of the employment types a perk is limited to, in the page's language."""
    return [EmploymentType(value).label for value in perk.employment_types]


# --- the catalog ----------------------------------------------------------------------------


@bp.get("/perks")
@login_required
def index() -> Page:
    form = CatalogFilterForm(request.args)
    if request.args and not form.validate():
        return render_template("catalog/index.html", form=form, cards=None), 400
    cards = queries.catalog_cards(
        current_user,
        form.q.data or "",
        form.chosen_category,
        bool(form.claimable.data),
        claims.company_today(),
        locale=str(get_locale() or "vi"),
    )
    return render_template("catalog/index.html", form=form, cards=cards)


def _detail_page(perk_id: int, error: str | None = None, status: int = 200) -> Page:
    card, entries = queries.perk_card(perk_id, current_user, claims.company_today())
    page = render_template(
        "catalog/detail.html", card=card, entries=entries, form=ConfirmForm(), error=error
    )
    return page, status


@bp.get("/perks/<int:perk_id>")
@login_required
def detail(perk_id: int) -> Page:
    return _detail_page(perk_id)


@bp.get("/perks/<int:perk_id>/image")
@bp.get("/perks/<int:perk_id>/image/<name>")
@login_required
def perk_image(perk_id: int, name: str | None = None) -> Response:
    """The perk's image, from the database (``perks.images``). Pages link to it by its
    stored name, which changes with the image: cached for a year by the browser only (it
    needs a sign-in). Without the name it is the current image, revalidated each time."""
    perk = queries.visible_perk(perk_id, current_user)
    if not perk.image_filename or name not in (None, perk.image_filename):
        abort(404)
    response = image_response(perk.image_filename, public=False)
    if name is None:
        response.headers["Cache-Control"] = "private, no-cache"
    return response


@bp.post("/perks/<int:perk_id>/claim")
@login_required
def claim_perk(perk_id: int) -> Response | Page:
    require_confirmation()
    try:
        claim = claims.claim_perk(perk_id, current_user)
    except (NotEligible, Conflict) as error:  # LimitReached and SoldOut are Conflicts
        return _detail_page(perk_id, error.message, error.status_code)
    flash(_("It is yours. Show this code at the counter."), "success")
    return redirect(url_for("catalog.my_claim", claim_id=claim.id))


@bp.post("/perks/<int:perk_id>/enter")
@login_required
def enter_draw(perk_id: int) -> Response | Page:
    require_confirmation()
    try:
        draws.enter_draw(perk_id, current_user)
    except PerksError as error:  # no open draw, closed, not eligible, already entered
        return _detail_page(perk_id, error.message, error.status_code)
    flash(_("You are in the draw. Good luck!"), "success")
    return redirect(url_for("catalog.detail", perk_id=perk_id))


# --- my perks -------------------------------------------------------------------------------


def _my_perks_page(error: str | None = None, status: int = 200) -> Page:
    mine = queries.my_claims(current_user)
    page = render_template(
        "catalog/my_perks.html",
        claims=mine,
        status_now={claim.id: claims.status_now(claim) for claim in mine},
        entries=queries.my_entries(current_user),
        now=utcnow(),
        form=ConfirmForm(),
        error=error,
    )
    return page, status


@bp.get("/my-perks")
@login_required
def my_perks() -> Page:
    return _my_perks_page()


def _claim_page(claim_id: int, error: str | None = None, status: int = 200) -> Page:
    claim = claims.own_claim(claim_id, current_user)
    page = render_template(
        "catalog/claim.html",
        claim=claim,
        status=claims.status_now(claim),
        seat=queries.seat_of(claim),
        now=utcnow(),
        qr=qr_svg(claim.reference),
        form=ConfirmForm(),
        error=error,
    )
    return page, status


@bp.get("/my-perks/<int:claim_id>")
@login_required
def my_claim(claim_id: int) -> Page:
    return _claim_page(claim_id)


@bp.post("/my-perks/<int:claim_id>/used")
@login_required
def mark_used(claim_id: int) -> Response | Page:
    require_confirmation()
    try:
        claims.mark_claim_used(claim_id, current_user)
    except Conflict as error:  # already used (when, by whom), expired or cancelled
        return _claim_page(claim_id, error.message, error.status_code)
    flash(_("Marked as used."), "success")
    return redirect(url_for("catalog.my_claim", claim_id=claim_id))


@bp.post("/draws/entries/<int:entry_id>/decline")
@login_required
def decline_seat(entry_id: int) -> Response | Page:
    require_confirmation()
    try:
        draws.decline_seat(entry_id, current_user)
    except Conflict as error:  # not a winning entry, or too late
        return _my_perks_page(error.message, error.status_code)
    flash(_("You gave up your seat: the next person on the waiting list gets it."), "success")
    return redirect(url_for("catalog.my_perks"))


# --- the redeemer's counter -----------------------------------------------------------------

redeemers = roles_required(Role.REDEEMER)

#: the perk counter, as the order counter knows it (``perks.counters``, registered in
#: ``perks.register_receivers``)
COUNTER = counters.Counter(
    name="claims",
    endpoint="catalog.redeem",
    recognise=claims.claim_code_of,
    message=_l("This is the code of a perk claim, not of a shop order."),
    link_text=_l("Check it at the perk counter"),
)


def _redeem_page(
    form: RedeemLookupForm,
    claim: Claim | None = None,
    error: str | None = None,
    status: int = 200,
) -> Page:
    # Why the claim cannot be used now (expired, past its last day, cancelled), if so: the
    # page says it instead of offering a button the counter would be refused.
    unusable = claims.why_not_usable(claim) if claim is not None else None
    # The button carries the reference, which is unique (a partner's code may not be).
    use_form = RedeemForm(code=claim.reference) if claim is not None and not unusable else None
    # A code no claim has may be a shop order's: the page sends the redeemer there.
    code = form.code.data or ""
    elsewhere = counters.elsewhere(code, here=COUNTER.name) if status == 404 and code else None
    page = render_template(
        "catalog/redeem.html",
        form=form,
        claim=claim,
        # as its holder's pages show it: expired once its last day has passed
        status=claims.status_now(claim) if claim is not None else None,
        use_form=use_form,
        unusable=unusable,
        error=error,
        elsewhere=elsewhere,
    )
    return page, status


@bp.get("/redeem")
@redeemers
@limiter.limit(lambda: current_app.config["REDEEM_RATE_LIMIT"])
def redeem() -> Page:
    form = RedeemLookupForm(request.args)
    if "code" not in request.args:
        return _redeem_page(form)
    if not form.validate():
        return _redeem_page(form, status=400)
    try:
        claim = claims.find_claim_by_code(form.code.data or "")
    except (NotFound, Conflict) as error:  # Conflict: a pool code two perks share
        return _redeem_page(form, error=error.message, status=error.status_code)
    return _redeem_page(form, claim)


@bp.post("/redeem/use")
@redeemers
@limiter.limit(lambda: current_app.config["REDEEM_RATE_LIMIT"])
def redeem_use() -> Response | Page:
    use_form = RedeemForm()
    code = use_form.code.data or ""
    lookup = RedeemLookupForm(data={"code": code})
    if not use_form.validate_on_submit():
        return _redeem_page(lookup, error=_("Enter or scan a code."), status=400)
    try:
        claim = claims.redeem_claim(code, current_user)
    except NotFound as error:
        return _redeem_page(lookup, error=error.message, status=404)
    except Conflict as error:  # already used (says when and by whom), or an ambiguous code
        try:
            claim = claims.find_claim_by_code(code)
        except (NotFound, Conflict):
            return _redeem_page(lookup, error=error.message, status=409)
        return _redeem_page(lookup, claim, error.message, 409)
    flash(
        _("Marked as used: %(perk)s for %(name)s.", perk=claim.perk.title, name=claim.user.name),
        "success",
    )
    return redirect(url_for("catalog.redeem", code=claim.reference))


# --- draws and rules ------------------------------------------------------------------------


#: entries a draw's page lists at a time
DRAW_PAGE_SIZE = 100
#: up to this many entries, the data the browser checks a made draw with is in its page; a
#: larger draw's page has the browser fetch it (``draw_data``), as anyone may download it
INLINE_DRAW_DATA = 1000


@bp.get("/draws/<int:draw_id>")
@login_required
def draw(draw_id: int) -> str:
    shown = queries.visible_draw(draw_id, current_user)
    seed = draws.public_seed(shown)
    count = draws.entry_count(shown.id)
    # Everything the browser needs to check the draw on its own (static/js/draw-verify.js):
    # in the page for a small draw, else fetched from ``draw_data`` when asked.
    inline = seed is not None and count <= INLINE_DRAW_DATA
    return render_template(
        "catalog/draw.html",
        draw=shown,
        entry_count=count,
        page=draws.entries_page(shown.id, page_arg(), DRAW_PAGE_SIZE),
        mine=draws.entry_of(shown.id, current_user.id),
        seed=seed,
        method=draws.method_text(shown.method),
        verification=draws.verification_data(shown) if inline else None,
        now=utcnow(),
    )


@bp.get("/draws/<int:draw_id>/data.json")
@login_required
def draw_data(draw_id: int) -> Response:
    """A made draw's public data, to check it with one's own tools (and in the browser, for
    a draw too large to carry it in its page). Not found before the draw: its seed is secret."""
    shown = queries.visible_draw(draw_id, current_user)
    if draws.public_seed(shown) is None:
        raise NotFound()
    response = jsonify(draws.verification_data(shown))
    response.headers["Content-Disposition"] = f'attachment; filename="draw-{shown.id}.json"'
    return response


@bp.get("/rules")
@login_required
def rules() -> str:
    locale = str(get_locale() or "vi")
    return render_template("catalog/rules.html", rules=queries.published_rules(locale))
