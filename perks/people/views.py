"""HR pages: the directory, a person's page, create/edit/deactivate, departments."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from perks.errors import ChangedMeanwhile, Conflict, NotPermitted, ValidationFailed
from perks.forms import ConfirmForm, entered_values, page_arg
from perks.people import services
from perks.people.access import roles_required
from perks.people.forms import DepartmentForm, EditedPersonForm, PeopleFilterForm, PersonForm
from perks.people.models import EmploymentType, Gender, Role, User

bp = Blueprint("people", __name__, url_prefix="/people")

hr_only = roles_required(Role.HR)


@bp.get("/")
@hr_only
def directory() -> str | tuple[str, int]:
    form = PeopleFilterForm(request.args)
    form.department.choices = [SelectChoice("", _("All"))] + [
        SelectChoice(d.id, d.name) for d in services.departments()
    ]
    if request.args and not form.validate():
        return render_template("people/directory.html", form=form, page=None), 400
    status = form.status.data or "active"
    page = services.search_people(
        query=form.q.data or "",
        department_id=form.department.data,
        employment_type=EmploymentType(form.employment_type.data)
        if form.employment_type.data
        else None,
        role=Role(form.role.data) if form.role.data else None,
        active={"active": True, "inactive": False}.get(status),
        page=page_arg(),
        per_page=current_app.config["PEOPLE_PER_PAGE"],
    )
    return render_template("people/directory.html", form=form, page=page)


def _person_form(person: User | None = None, *, as_saved: bool = False) -> PersonForm:
    """The form for a new person, or for ``person``'s details (an ``EditedPersonForm``):
    filled from the request's form, or on a GET (or ``as_saved``) with them as they are."""
    choices = {
        "departments": services.departments(),
        "managers": [
            m
            for m in services.manager_choices(keeping=person.manager_id if person else None)
            if person is None or m.id != person.id
        ],
        "roles": services.assignable_roles(current_user) | (person.roles if person else set()),
    }
    if person is None:
        return PersonForm(**choices)  # type: ignore[arg-type]
    if not (as_saved or request.method == "GET"):
        return EditedPersonForm(**choices)  # type: ignore[arg-type]
    form = EditedPersonForm(formdata=None, obj=person, **choices)  # type: ignore[arg-type]
    form.roles.data = [r.value for r in person.roles]
    form.employment_type.data = person.employment_type.value
    form.shown.data = services.shown_fingerprint(person)
    return form


def _person_data(form: PersonForm) -> services.PersonData:
    return services.PersonData(
        email=form.email.data or "",
        name=form.name.data or "",
        employee_number=form.employee_number.data,
        department_id=form.department_id.data,
        location=form.location.data or "",
        employment_type=EmploymentType(form.employment_type.data),
        hire_date=form.hire_date.data,
        leaving_date=form.leaving_date.data,
        birth_month=form.birth_month.data,
        birth_day=form.birth_day.data,
        manager_id=form.manager_id.data,
        locale=form.locale.data or "vi",
        gender=Gender(form.gender.data) if form.gender.data else None,
        children_under_15=form.children_under_15.data,
        roles=frozenset(Role(r) for r in form.roles.data or []),
    )


@bp.route("/new", methods=["GET", "POST"])
@hr_only
def create() -> Response | str | tuple[str, int]:
    form = _person_form()
    if form.validate_on_submit():
        try:
            person = services.create_person(_person_data(form), actor=current_user)
        except (Conflict, ValidationFailed, NotPermitted) as error:
            form.form_errors.append(error.message)
        else:
            flash(_("%(name)s was added.", name=person.name), "success")
            return redirect(url_for("people.detail", user_id=person.id))
    status = 400 if form.is_submitted() else 200
    return render_template("people/form.html", form=form, person=None), status


@bp.get("/<int:user_id>")
@hr_only
def detail(user_id: int) -> str:
    person = services.get_person(user_id)
    return render_template("people/detail.html", person=person, confirm_form=ConfirmForm())


def _entered(refused: PersonForm, person: User) -> list[tuple[str, str]]:
    """What a refused form said where it differs from ``person`` as they are now."""
    mine, theirs = _person_data(refused), services.person_data_of(person)

    def compared(name: str, value: object) -> object:
        if name == "email" and isinstance(value, str):
            return value.strip().casefold()
        if isinstance(value, str):
            return " ".join(value.split()) or None
        return value

    differing = [
        name
        for name in (*services.SHOWN_COLUMNS, "roles")
        if compared(name, getattr(mine, name)) != compared(name, getattr(theirs, name))
    ]
    return entered_values(refused, differing)


@bp.route("/<int:user_id>/edit", methods=["GET", "POST"])
@hr_only
def edit(user_id: int) -> Response | str | tuple[str, int]:
    person = services.get_person(user_id)
    form = _person_form(person)
    assert isinstance(form, EditedPersonForm)
    status = 400 if form.is_submitted() else 200
    entered: list[tuple[str, str]] = []
    if form.validate_on_submit():
        try:
            services.update_person(
                person, _person_data(form), actor=current_user, shown=form.shown.data
            )
        except ChangedMeanwhile as error:
            # the form shows the person as they are now (and its fingerprint: saving it again
            # is a decision made on what is saved), with what was entered beside it
            entered = _entered(form, person)
            form = _person_form(person, as_saved=True)
            form.form_errors.append(error.message)
            status = error.status_code
        except (Conflict, ValidationFailed, NotPermitted) as error:
            form.form_errors.append(error.message)
        else:
            flash(_("Changes saved."), "success")
            if person.leaving_date is not None and services.is_the_last_administrator(person):
                flash(
                    _(
                        "%(name)s is the only active administrator: they stay active after "
                        "their leaving date until someone else is made an administrator.",
                        name=person.name,
                    ),
                    "warning",
                )
            return redirect(url_for("people.detail", user_id=person.id))
    elif form.shown.errors:
        form.form_errors.append(_("This page is out of date: open the person's page again."))
    return render_template("people/form.html", form=form, person=person, entered=entered), status


@bp.post("/<int:user_id>/deactivate")
@hr_only
def deactivate(user_id: int) -> Response:
    person = services.get_person(user_id)
    if ConfirmForm().validate_on_submit():
        services.deactivate_person(person, actor=current_user)
        flash(_("%(name)s is deactivated and signed out.", name=person.name), "success")
    return redirect(url_for("people.detail", user_id=person.id))


@bp.post("/<int:user_id>/reactivate")
@hr_only
def reactivate(user_id: int) -> Response:
    person = services.get_person(user_id)
    if ConfirmForm().validate_on_submit():
        try:
            services.reactivate_person(person, actor=current_user)
        except ValidationFailed as error:
            flash(error.message, "danger")
        else:
            flash(_("%(name)s is active again.", name=person.name), "success")
    return redirect(url_for("people.detail", user_id=person.id))


@bp.route("/departments", methods=["GET", "POST"])
@hr_only
def departments() -> Response | str | tuple[str, int]:
    form = DepartmentForm()
    if form.validate_on_submit():
        try:
            services.create_department(form.name.data or "", actor=current_user)
        except (Conflict, ValidationFailed) as error:
            form.name.errors.append(error.message)
        else:
            flash(_("Department added."), "success")
            return redirect(url_for("people.departments"))
    status = 400 if form.is_submitted() else 200
    return render_template(
        "people/departments.html",
        form=form,
        departments=services.departments(),
        headcounts=services.department_headcounts(),
    ), status
