"""The brand settings page (HR and admins): the company's name, logo, colours, storefront
tagline, contact and legal footer (``perks.branding``)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from perks.branding import services
from perks.branding.forms import BrandForm
from perks.errors import ChangedMeanwhile, Conflict, ValidationFailed
from perks.forms import entered_values
from perks.people.access import roles_required
from perks.people.models import Role

bp = Blueprint("brand_admin", __name__)

#: the fields a refused stale save lists, where what was entered differs from the brand now
ENTERED_FIELDS = (
    "company_name",
    "primary_colour",
    "accent_colour",
    "tagline_vi",
    "tagline_en",
    "contact_email",
    "contact_phone",
    "contact_address",
    "legal_footer_vi",
    "legal_footer_en",
)


def _entered(refused: BrandForm, current: BrandForm) -> list[tuple[str, str]]:
    """What a refused form said where it differs from the brand as it is now (and a logo
    chosen or removed, which was not stored either)."""

    def compared(value: object) -> str:
        return str(value or "").replace("\r\n", "\n").strip().lower()

    names = [
        name
        for name in ENTERED_FIELDS
        if compared(refused[name].data) != compared(current[name].data)
    ]
    entered = entered_values(refused, names)
    if refused.logo.data:
        entered.append((str(refused.logo.label.text), _("A new logo: choose it again.")))
    elif refused.remove_logo.data:
        entered.append((str(refused.remove_logo.label.text), _("Yes")))
    return entered


@bp.route("/settings/brand", methods=["GET", "POST"])
@roles_required(Role.HR)
def edit() -> Response | tuple[str, int]:
    brand = services.current_brand()
    form = BrandForm() if request.method == "POST" else BrandForm.for_brand(brand)
    status = 400 if form.is_submitted() else 200
    entered: list[tuple[str, str]] = []
    if form.validate_on_submit():
        try:
            services.update_brand(
                form.data_for_service(),
                actor=current_user,
                logo=form.logo_bytes(),
                remove_logo=bool(form.remove_logo.data),
                shown=form.shown.data,
            )
        except ChangedMeanwhile as error:
            # the form shows the brand as it is now (and its fingerprint: saving it again is a
            # decision made on what is saved), with what was entered beside it
            brand = services.current_brand()
            current = BrandForm.for_brand(brand)
            entered = _entered(form, current)
            form = current
            form.form_errors.append(error.message)
            status = error.status_code
        except ValidationFailed as error:
            field = getattr(form, str(error.details.get("field")), None)
            if field is not None:
                field.errors = [*field.errors, error.message]
            else:
                form.form_errors.append(error.message)
        except Conflict as error:
            form.form_errors.append(error.message)
            status = error.status_code
        else:
            flash(
                _("The brand is saved: the storefront and the e-mails show it from now on."),
                "success",
            )
            return redirect(url_for(".edit"), 303)
    elif form.shown.errors:
        form.form_errors.append(_("This page is out of date: open the brand page again."))
    return render_template("admin/brand.html", form=form, brand=brand, entered=entered), status
