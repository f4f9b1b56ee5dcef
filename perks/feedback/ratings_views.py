"""Ratings pages: rate a used claim or a redeemed staff purchase; the owners' moderation
lists (HR for perks, the shop's keepers for products) with publish and hide.

The perk and product pages, "My perks" and the claim page belong to the catalog and the
shop, which sit below feedback: they include ``templates/feedback/ratings/_*.html``, which
read their figures through the template globals here.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from perks.catalog.models import Claim
from perks.errors import Conflict, ValidationFailed
from perks.feedback import ratings, ratings_queries
from perks.feedback.ratings_forms import RatingForm
from perks.feedback.ratings_models import Rating
from perks.forms import ConfirmForm, page_arg, require_confirmation
from perks.people.access import login_required, roles_required
from perks.urls import absolute_url

bp = Blueprint("ratings", __name__)

Page = str | tuple[str, int]

perk_owners = roles_required(*ratings.PERK_OWNERS)
product_owners = roles_required(*ratings.PRODUCT_OWNERS)


# --- what the catalog's and the shop's pages show ---------------------------------------------


@bp.app_template_global()
def stars_average(tenths: int) -> str:
    """An average in tenths of a star as the reader writes it: "4.3", "4,3"."""
    return format_decimal(Decimal(tenths) / 10, format="0.0")


@bp.app_template_global()
def perk_ratings(perk_id: int) -> ratings_queries.RatingSummary:
    return ratings_queries.perk_summary(perk_id)


@bp.app_template_global()
def product_ratings(product_id: int) -> ratings_queries.RatingSummary:
    return ratings_queries.product_summary(product_id)


@bp.app_template_global()
def ratings_to_give() -> dict[str, list[Any]]:
    """The signed-in person's used claims and redeemed purchases not rated yet."""
    return {
        "claims": ratings_queries.claims_to_rate(current_user.id),
        "orders": ratings_queries.orders_to_rate(current_user.id),
    }


@bp.app_template_global()
def claim_rating(claim: Claim) -> dict[str, Any]:
    """Whether the claim can be rated, and its rating if it has one."""
    return {
        "rateable": ratings.claim_is_rateable(claim),
        "rating": ratings_queries.rating_of_claim(claim.id),
    }


# --- rating -----------------------------------------------------------------------------------


def _rate(
    find: Callable[[], str],
    save: Callable[[int, str, bool, ratings.FollowUp], object],
    back: str,
) -> Response | Page:
    """The rating form for what ``find`` names (it raises NotFound or Conflict: not rateable),
    saved by ``save`` (stars, comment, show_name, what to do with a follow-up link's secret),
    then back to ``back``; or, after a low rating with the name hidden, the page with the
    private link to HR's answer (shown once)."""
    try:
        subject = find()
    except Conflict as error:  # not used yet, or rated already
        flash(error.message, "info")
        return redirect(back)
    form = RatingForm()
    error_message = None
    if form.validate_on_submit():
        links: list[str] = []
        try:
            save(form.stars.data, form.comment.data or "", not form.hide_name.data, links.append)
        except (ValidationFailed, Conflict) as error:
            error_message = error.message
        else:
            if links:  # shown once, in this answer (which thanks): only its hash is kept
                return render_template(
                    "feedback/sent_anonymously.html",
                    link=absolute_url("feedback.follow_up", secret=links[0]),
                    from_rating=True,
                )
            flash(_("Thank you for your rating."), "success")
            return redirect(back)
    page = render_template(
        "feedback/ratings/rate.html", form=form, subject=subject, back=back, error=error_message
    )
    refused = error_message is not None or bool(form.errors)  # a POST the form refused
    return page, 400 if refused else 200


@bp.route("/my-perks/<int:claim_id>/rate", methods=["GET", "POST"])
@login_required
def rate_claim(claim_id: int) -> Response | Page:
    return _rate(
        lambda: ratings.rateable_claim(claim_id, current_user).perk.title,
        lambda stars, comment, show_name, follow_up: ratings.rate_claim(
            claim_id, current_user, stars, comment, show_name, follow_up=follow_up
        ),
        url_for("catalog.my_claim", claim_id=claim_id),
    )


@bp.route("/my-orders/<int:order_id>/rate", methods=["GET", "POST"])
@login_required
def rate_order(order_id: int) -> Response | Page:
    return _rate(
        lambda: ratings.rateable_order(order_id, current_user).lines[0].product.name,
        lambda stars, comment, show_name, follow_up: ratings.rate_order(
            order_id, current_user, stars, comment, show_name, follow_up=follow_up
        ),
        url_for("catalog.my_perks"),
    )


# --- moderation -------------------------------------------------------------------------------


def _moderation_page(products: bool) -> str:
    page = ratings_queries.moderation_page(products, page_arg())
    return render_template(
        "feedback/ratings/moderation.html",
        page=page,
        products=products,
        sees_perks=current_user.has_role(*ratings.PERK_OWNERS),
        form=ConfirmForm(),
    )


@bp.get("/manage/ratings")
@perk_owners
def perk_comments() -> str:
    return _moderation_page(products=False)


@bp.get("/manage/ratings/products")
@product_owners
def product_comments() -> str:
    return _moderation_page(products=True)


def _moderate(rating_id: int, published: bool) -> Response:
    require_confirmation()
    rating: Rating = ratings.set_published(rating_id, published, current_user)
    flash(_("Shown on the page.") if published else _("Hidden from the page."), "success")
    endpoint = "ratings.perk_comments" if rating.perk_id is not None else "ratings.product_comments"
    return redirect(url_for(endpoint), 303)


@bp.post("/manage/ratings/<int:rating_id>/publish")
@product_owners
def publish(rating_id: int) -> Response:
    return _moderate(rating_id, True)


@bp.post("/manage/ratings/<int:rating_id>/hide")
@product_owners
def hide(rating_id: int) -> Response:
    return _moderate(rating_id, False)
