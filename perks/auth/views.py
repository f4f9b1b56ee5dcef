"""Sign in and out, invitations, password reset, and the person's own account page."""

from __future__ import annotations

from collections.abc import Callable

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from perks.auth import services, tokens
from perks.auth.forms import (
    ChangePasswordForm,
    ForgotPasswordForm,
    LoginForm,
    PrivacyForm,
    SetPasswordForm,
)
from perks.errors import InvalidToken, ValidationFailed
from perks.extensions import limiter, login_email_key, reset_email_key, signed_in_account_key
from perks.forms import ConfirmForm
from perks.i18n import LOCALES, adopt_language
from perks.people import services as people_services
from perks.people.access import login_required, roles_required
from perks.people.models import Role
from perks.security import is_safe_path

bp = Blueprint("auth", __name__)


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


#: one count of password guesses per account, at sign-in and on the account page (its check
#: of the current password before a change)
ACCOUNT_SCOPE = "password-guesses"


def _account_limit() -> str:
    return current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"]


def _reset_account_limit() -> str:
    return current_app.config["PASSWORD_RESET_ACCOUNT_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@limiter.shared_limit(
    _account_limit, scope=ACCOUNT_SCOPE, key_func=login_email_key, methods=["POST"]
)
def login() -> Response | str | tuple[str, int]:
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm(next=request.args.get("next", ""))
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form), 400 if form.is_submitted() else 200
    remember = bool(form.remember.data)
    try:
        signed_in = services.sign_in(
            form.email.data or "", form.password.data or "", remember=remember, user_agent=_agent()
        )
    except services.InvalidCredentials as error:
        form.password.errors.append(error.message)
        return render_template("auth/login.html", form=form), 401
    target = form.next.data
    _start_session(signed_in, remember=remember)
    return redirect(target if is_safe_path(target) else url_for("main.home"))


def _start_session(signed_in: services.SignedIn, *, remember: bool) -> None:
    """Sign this browser in to the session just opened. A fresh Flask session: nothing from
    before it (fixation) survives."""
    session.clear()
    login_user(signed_in.user, remember=remember)
    session.permanent = True


def _agent() -> str:
    return request.user_agent.string or ""


def _end_session() -> None:
    """Sign the browser out and forget its session, but not the person's language: the
    sign-in page that follows (and its message) stays in it, not in the browser's."""
    locale = current_user.locale
    logout_user()
    session.clear()
    if locale in LOCALES:
        session["locale"] = locale


@bp.post("/logout")
@login_required
def logout() -> Response:
    services.sign_out(current_user, current_user.get_session_key())
    _end_session()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.post("/logout-everywhere")
@login_required
def logout_everywhere() -> Response:
    services.log_out_everywhere(current_user._get_current_object())
    _end_session()
    flash(_("You are signed out on every device."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def accept_invitation(token: str) -> Response | str | tuple[str, int]:
    return _set_password_page(token, tokens.INVITATION, _welcome)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> Response | str | tuple[str, int]:
    return _set_password_page(token, tokens.PASSWORD_RESET, _password_reset)


def _welcome(token: str, password: str) -> Response:
    """An invitation accepted: signed in at once, on their home page, in the language the
    page was read in (HR's choice, or the one the newcomer switched it to: now theirs)."""
    chosen = session.get("locale")  # the invitation page's language (``adopt_language``)
    if current_user.is_authenticated:  # whoever was signed in on this browser is signed out
        services.sign_out(current_user, current_user.get_session_key())
        logout_user()
    signed_in = services.accept_invitation(token, password, user_agent=_agent())
    if chosen in LOCALES and chosen != signed_in.user.locale:
        services.set_preferred_locale(signed_in.user, chosen)
    _start_session(signed_in, remember=False)
    flash(_("Welcome! Your password is set and you are signed in."), "success")
    return redirect(url_for("main.home"))


def _password_reset(token: str, password: str) -> Response:
    services.reset_password(token, password)
    flash(_("Your password is set. Please sign in."), "success")
    return redirect(url_for("auth.login"))


def _set_password_page(
    token: str, purpose: str, complete: Callable[[str, str], Response]
) -> Response | str | tuple[str, int]:
    try:
        person = tokens.user_for_token(token, purpose)
    except InvalidToken as error:
        return render_template("auth/token_invalid.html", message=error.message), 400
    adopt_language(person.locale)  # its e-mail's, not the browser's
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            return complete(token, form.password.data or "")
        except ValidationFailed as error:
            form.password.errors.append(error.message)
    status = 400 if form.is_submitted() else 200
    return render_template(
        "auth/set_password.html", form=form, person=person, purpose=purpose
    ), status


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@limiter.limit(_reset_account_limit, key_func=reset_email_key, methods=["POST"])
def forgot_password() -> Response | str | tuple[str, int]:
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        services.request_password_reset(form.email.data or "")
        # The same answer whether or not the address is known.
        flash(_("If that address belongs to an account, a reset link is on its way."), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot_password.html", form=form), (
        400 if form.is_submitted() else 200
    )


@bp.route("/account", methods=["GET", "POST"])
@limiter.shared_limit(
    _account_limit, scope=ACCOUNT_SCOPE, key_func=signed_in_account_key, methods=["POST"]
)
@login_required
def account() -> Response | str | tuple[str, int]:
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            key = services.change_password(
                user,
                form.current_password.data or "",
                form.password.data or "",
                user_agent=_agent(),
            )
        except services.InvalidCredentials as error:
            form.current_password.errors.append(error.message)
        except ValidationFailed as error:  # about the new password
            form.password.errors.append(error.message)
        else:
            # Every session ended, this one too: carry on in the new one opened for it.
            session.clear()
            user.attach_session(key)
            login_user(user, remember=False)
            session["_remember"] = "clear"  # the old remember-me cookie is dead: drop it
            session.permanent = True
            flash(_("Your password has been changed."), "success")
            return redirect(url_for("auth.account"))
    return render_template(
        "auth/account.html", form=form, privacy_form=_privacy_form(), confirm_form=ConfirmForm()
    ), (400 if form.is_submitted() else 200)


def _privacy_form() -> PrivacyForm:
    return PrivacyForm(
        data={
            "hide_personal_dates": current_user.hide_personal_dates,
            "public_celebration": current_user.public_celebration,
        }
    )


@bp.post("/account/privacy")
@login_required
def privacy() -> Response | tuple[str, int]:
    """The person hides their birthday and anniversary, or opts out of public celebration."""
    form = PrivacyForm()
    if not form.validate_on_submit():
        page = render_template(
            "auth/account.html",
            form=ChangePasswordForm(),
            privacy_form=form,
            confirm_form=ConfirmForm(),
        )
        return page, 400
    people_services.set_privacy(
        current_user._get_current_object(),
        hide_personal_dates=bool(form.hide_personal_dates.data),
        public_celebration=bool(form.public_celebration.data),
    )
    flash(_("Your choices are saved."), "success")
    return redirect(url_for("auth.account"), 303)


@bp.post("/people/<int:user_id>/invite")
@roles_required(Role.HR)
def invite(user_id: int) -> Response:
    """HR sends a person (from their page in the directory) a link to set their password."""
    person = people_services.get_person(user_id)
    if ConfirmForm().validate_on_submit():
        services.send_invitation(person, actor=current_user)
        flash(_("An invitation was sent to %(email)s.", email=person.email), "success")
    return redirect(url_for("people.detail", user_id=person.id))
