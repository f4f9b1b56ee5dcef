"""The brand settings page (HR and admins): the company's name, logo, colours, storefront
tagline, contact and legal footer (``perks.branding``)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from perks.branding import services
from perks.branding.forms import BrandForm
from perks.errors import Conflict, ValidationFailed
from perks.people.access import roles_required
from perks.people.models import Role

bp = Blueprint("brand_admin", __name__)


@bp.route("/settings/brand", methods=["GET", "POST"])
@roles_required(Role.HR)
def edit() -> Response | tuple[str, int]:
    brand = services.current_brand()
    form = BrandForm() if request.method == "POST" else BrandForm.for_brand(brand)
    if form.validate_on_submit():
        try:
            services.update_brand(
                form.data_for_service(),
                actor=current_user,
                logo=form.logo_bytes(),
                remove_logo=bool(form.remove_logo.data),
            )
        except ValidationFailed as error:
            field = getattr(form, str(error.details.get("field")), None)
            if field is not None:
                field.errors = [*field.errors, error.message]
            else:
                form.form_errors.append(error.message)
        except Conflict as error:
            form.form_errors.append(error.message)
        else:
            flash(
                _("The brand is saved: the storefront and the e-mails show it from now on."),
                "success",
            )
            return redirect(url_for(".edit"), 303)
    status = 400 if form.is_submitted() else 200
    return render_template("admin/brand.html", form=form, brand=brand), status
