"""The API's pages: admins' service tokens, a person's own read tokens, the documentation."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from perks.api import tokens
from perks.api.forms import TokenForm
from perks.api.models import ApiToken
from perks.errors import ValidationFailed
from perks.forms import ConfirmForm, require_confirmation
from perks.people.access import roles_required
from perks.people.models import Role

bp = Blueprint("api_tokens", __name__)

Page = str | tuple[str, int]


@bp.get("/api/v1/docs")
def docs() -> str:
    """The OpenAPI document, read with Swagger UI served from this site (no CDN)."""
    return render_template("api/docs.html")


def _tokens_page(
    form: TokenForm, *, personal: bool, secret: str | None = None, status: int = 200
) -> Page:
    listed = tokens.personal_tokens(current_user) if personal else tokens.service_tokens()
    if not form.sending.data:  # a form drawn now; one refused keeps its own
        form.sending.data = tokens.new_sending()
    return render_template(
        "api/tokens.html",
        form=form,
        personal=personal,
        tokens=listed,
        secret=secret,
        revoke_form=ConfirmForm(),
        now=tokens.utcnow(),
        is_expired=tokens.is_expired,
        last_day=tokens.last_day,
        maker_may_act=tokens.maker_may_act,
    ), status


def _create(personal: bool) -> Page:
    form = TokenForm(personal=personal)
    if not form.validate_on_submit():
        return _tokens_page(form, personal=personal, status=400 if form.is_submitted() else 200)
    assert form.expires_on.data is not None
    try:
        if personal:
            made = tokens.create_personal_token(
                form.label.data or "",
                form.scopes.data or [],
                form.expires_on.data,
                person=current_user,
                sending=form.sending.data or None,
            )
        else:
            made = tokens.create_service_token(
                form.label.data or "",
                form.scopes.data or [],
                form.expires_on.data,
                actor=current_user,
                sending=form.sending.data or None,
            )
    except ValidationFailed as error:
        form.form_errors.append(error.message)
        return _tokens_page(form, personal=personal, status=400)
    # The secret is shown on this answer only: never stored, never in a redirect.
    return _tokens_page(
        TokenForm(formdata=None, personal=personal), personal=personal, secret=made.secret
    )


@bp.route("/admin/api-tokens", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def service_tokens() -> Page:
    return _create(personal=False)


@bp.post("/admin/api-tokens/<int:token_id>/revoke")
@roles_required(Role.ADMIN)
def revoke_service_token(token_id: int) -> Response:
    require_confirmation()
    _said_revoked(tokens.revoke_token(token_id, actor=current_user))
    return redirect(url_for(".service_tokens"))


@bp.route("/account/api-tokens", methods=["GET", "POST"])
@login_required
def personal_tokens() -> Page:
    return _create(personal=True)


@bp.post("/account/api-tokens/<int:token_id>/revoke")
@login_required
def revoke_personal_token(token_id: int) -> Response:
    require_confirmation()
    _said_revoked(tokens.revoke_token(token_id, actor=current_user))
    return redirect(url_for(".personal_tokens"))


def _said_revoked(token: ApiToken) -> None:
    """Tell the person which token stopped (asking twice says the same)."""
    flash(
        _("The token “%(label)s” is revoked: programs using it stop at once.", label=token.label),
        "success",
    )
