"""The employee directory: search, create, edit, deactivate; departments."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, fields
from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import ColumnElement, Select, and_, func, or_, select

from perks import audit
from perks.db import MAX_ID, paginate, take_turns, transaction
from perks.errors import ChangedMeanwhile, Conflict, NotFound, NotPermitted, ValidationFailed
from perks.extensions import db
from perks.fingerprints import fingerprint
from perks.folding import alphabetical, contains_folded, equals_folded, name_key
from perks.i18n import company_today, format_day
from perks.people.events import announce_activated, people_changed
from perks.people.models import (
    DEPARTMENT_NAMES_LOCK,
    PEOPLE_ADDRESSES_LOCK,
    Department,
    EmploymentType,
    Gender,
    Role,
    User,
    UserRole,
    new_session_token,
    normalise_email,
    roles_changed,
    roles_if_asked,
)
from perks.people.notices import tell_address_changed
from perks.text import trim

#: the most children under 15 HR may record for a person (the column's check says so too)
MAX_CHILDREN = 20
#: roles HR may hand out; finance and admin rights come only from an admin
HR_ASSIGNABLE_ROLES = frozenset({Role.EMPLOYEE, Role.MANAGER, Role.REDEEMER, Role.HR})
#: people holding these roles are changed only by an admin: otherwise HR could change such a
#: person's e-mail address, ask for a password reset and take over the account
PRIVILEGED_ROLES = frozenset({Role.FINANCE, Role.ADMIN})
PRIVILEGED_PERSON_MESSAGE = _l(
    "Only an administrator can change people with finance or admin rights."
)
LAST_ADMINISTRATOR_MESSAGE = _l(
    "At least one active administrator must remain: make someone else an administrator first."
)


@dataclass(frozen=True)
class PersonData:
    """What HR may set on a person (an allow-list: nothing else can be assigned)."""

    email: str
    name: str
    employee_number: str | None = None
    department_id: int | None = None
    location: str = ""
    employment_type: EmploymentType = EmploymentType.STAFF
    hire_date: date | None = None
    #: the first day they no longer work here (``perks.commissions.leavers`` applies it)
    leaving_date: date | None = None
    birth_month: int | None = None
    birth_day: int | None = None
    manager_id: int | None = None
    locale: str = "vi"
    #: optional, for gift programmes (8/3, 20/10; 1/6, Trung thu)
    gender: Gender | None = None
    children_under_15: int | None = None
    roles: frozenset[Role] = field(default_factory=lambda: frozenset({Role.EMPLOYEE}))


def assignable_roles(actor: User) -> frozenset[Role]:
    return frozenset(Role) if actor.has_role(Role.ADMIN) else HR_ASSIGNABLE_ROLES


def may_manage(actor: User | None, person_roles: frozenset[Role] | set[Role]) -> bool:
    """Whether ``actor`` may change a person holding ``person_roles`` (None: the system)."""
    return actor is None or actor.has_role(Role.ADMIN) or not (person_roles & PRIVILEGED_ROLES)


def ensure_may_manage(actor: User, person: User) -> None:
    """Raises NotPermitted when HR would change someone with finance or admin rights."""
    if not may_manage(actor, person.roles):
        raise NotPermitted(str(PRIVILEGED_PERSON_MESSAGE))


def get_person(user_id: int) -> User:
    """Raises NotFound."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound()
    return user


def name_has_words(text: str) -> ColumnElement[bool]:
    """SQL: whether a person's name contains every word of ``text``, in any order, accents
    and case aside ("nguyen an" and "an nguyen" find "Nguyễn Văn An")."""
    words = text.split()
    if len(words) < 2:
        return contains_folded(User.name, text)
    return and_(*(contains_folded(User.name, word) for word in words))


def person_matches(text: str) -> ColumnElement[bool]:
    """SQL: whether a person's name has every word of ``text`` (``name_has_words``), or
    their e-mail or employee number contains it, accents and case aside ("nguyen" finds
    "Nguyễn", "nv-01" finds "NV-012")."""
    return or_(
        name_has_words(text),
        contains_folded(User.email, text),
        contains_folded(func.coalesce(User.employee_number, ""), text),
    )


def search_people(
    *,
    query: str = "",
    department_id: int | None = None,
    employment_type: EmploymentType | None = None,
    role: Role | None = None,
    active: bool | None = True,
    page: int = 1,
    per_page: int = 25,
) -> Pagination:
    """One page of people matching every given filter, by name."""
    statement = select(User).order_by(*alphabetical(User.name), User.id)
    if query.strip():
        statement = statement.where(person_matches(query.strip()))
    if department_id:
        statement = statement.where(User.department_id == department_id)
    if employment_type:
        statement = statement.where(User.employment_type == employment_type)
    if role:
        statement = statement.where(
            User.id.in_(select(UserRole.user_id).where(UserRole.role == role))
        )
    if active is not None:
        statement = statement.where(User.active.is_(active))
    return paginate(statement, page, per_page)


#: a person named in a search field as shown back to finance: "Name <e-mail>"
_NAMED = re.compile(r"<([^<>@\s]+@[^<>\s]+)>\s*$")
#: how many people an ambiguous search names in its message
FIND_SHOWN = 5


def labelled_address(text: str) -> str:
    """The e-mail address of "Name <e-mail>" (how a search field shows a person back, see
    ``person_label``); else ``text`` as it is."""
    named = _NAMED.search(text)
    return named.group(1) if named else text


def person_is(text: str) -> ColumnElement[bool]:
    """SQL: whether a person's e-mail or employee number is ``text`` exactly, in any case
    ("Name <e-mail>" is read as its e-mail; an address composed or not, as it is stored:
    ``normalise_email``)."""
    address = labelled_address(text.strip())
    return or_(
        func.lower(User.email) == normalise_email(address),
        func.lower(func.coalesce(User.employee_number, "")) == address.lower(),
    )


def find_person(text: str) -> User:
    """The one person ``text`` names: an id (the filters' links), an e-mail address or an
    employee number (exactly, any case), "Name <e-mail>" (as the field shows a person back), or
    a part of one name (when only one person's name contains it, or one person's whole name
    is it). One to three statements.

    Raises:
        ValidationFailed: nobody matches, or several people do (the message names a few).
    """
    text = labelled_address(text.strip())
    # an id is ASCII digits the id column can hold; a longer number (a bank account, a tax
    # code run together) is searched like any text
    if text.isascii() and text.isdigit() and int(text) <= MAX_ID:
        found = db.session.get(User, int(text))
        if found is not None:
            return found
    exact = db.session.scalars(select(User).where(person_is(text)).order_by(User.id).limit(2)).all()
    if len(exact) == 1:
        return exact[0]
    matches = (
        exact
        or db.session.scalars(
            select(User)
            .where(name_has_words(text))
            .order_by(*alphabetical(User.name), User.id)
            .limit(FIND_SHOWN + 1)
        ).all()
    )
    if not matches:
        raise ValidationFailed(
            _("Nobody matches “%(text)s”: type a name, an e-mail or an employee number.", text=text)
        )
    if len(matches) > 1:
        # a whole name that is also part of others' ("Nguyễn Văn An", "Nguyễn Văn Anh")
        whole = db.session.scalars(
            select(User).where(equals_folded(User.name, text)).order_by(User.id).limit(2)
        ).all()
        if len(whole) == 1:
            return whole[0]
        shown = ", ".join(f"{m.name} <{m.email}>" for m in matches[:FIND_SHOWN])
        raise ValidationFailed(
            _(
                "Several people match “%(text)s” (%(shown)s…): type more of the name, or the "
                "e-mail or employee number.",
                text=text,
                shown=shown,
            )
        )
    return matches[0]


def people_with_role(role: Role) -> list[User]:
    """The active people holding ``role`` (exactly: admins are not everyone), by id. Raises
    nothing."""
    query = (
        select(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == role, User.active.is_(True))
        .order_by(User.id)
    )
    return list(db.session.scalars(query).unique())


def person_label(user: User) -> str:
    """How a search field shows a chosen person back (``find_person`` reads it again)."""
    return f"{user.name} <{user.email}>"


def departments() -> list[Department]:
    return list(
        db.session.scalars(
            select(Department).order_by(*alphabetical(Department.name), Department.id)
        )
    )


def department_headcounts() -> dict[int, int]:
    rows = db.session.execute(
        select(User.department_id, func.count())
        .where(User.active.is_(True), User.department_id.is_not(None))
        .group_by(User.department_id)
    )
    # ``is not None`` again, for the type checker: the WHERE already leaves those out
    return {department_id: count for department_id, count in rows if department_id is not None}


def home_figures(user: User) -> dict[str, int]:
    """The counts on a person's home page, in two queries whatever the company's size."""
    team_size = db.session.scalar(
        select(func.count()).where(User.manager_id == user.id, User.active.is_(True))
    )
    people_count = db.session.scalar(select(func.count()).where(User.active.is_(True)))
    return {"team_size": team_size or 0, "people_count": people_count or 0}


def manager_choices(*, keeping: int | None = None) -> list[User]:
    """The people one may report to: the active ones, and ``keeping`` (a person's manager
    deactivated since), so that editing that person keeps their manager unless HR changes it.
    Raises nothing."""
    may_report_to: ColumnElement[bool] = User.active.is_(True)
    if keeping is not None:
        may_report_to = or_(may_report_to, User.id == keeping)
    return list(
        db.session.scalars(
            select(User)
            .where(may_report_to)
            .order_by(*alphabetical(User.name), User.id)
            .options(roles_if_asked())
        )
    )


def create_department(name: str, *, actor: User) -> Department:
    """Raises ValidationFailed (empty name) or Conflict (the name exists)."""
    name = " ".join(trim(name).split())
    if not name:
        raise ValidationFailed(str(_l("Enter a name.")))
    with transaction():
        # two HR people adding it at once take turns: the second sees the first's
        take_turns(DEPARTMENT_NAMES_LOCK)
        # compared in Python (``name_key``): "Phòng Đào tạo" and "phòng đào tạo" are one
        taken = {name_key(other) for other in db.session.scalars(select(Department.name))}
        if name_key(name) in taken:
            raise Conflict(str(_l("A department with this name already exists.")))
        department = Department(name=name)
        db.session.add(department)
        db.session.flush()
        audit.record("people.department_created", actor=actor, target=department, name=name)
        return department


def create_person(data: PersonData, *, actor: User) -> User:
    """Add a person (no password yet: they set it from their invitation).

    Raises:
        Conflict: the e-mail or employee number is taken.
        NotPermitted: the actor may not grant one of the roles.
        ValidationFailed: bad birthday, unknown department or manager.
    """
    with transaction():
        # two HR people adding one person at once (or a double tap on Save) take turns: the
        # second sees the first's address and number, and is told they are taken. First of
        # the people pages' locks, always: the same order everywhere never deadlocks
        take_turns(PEOPLE_ADDRESSES_LOCK)
        user = User(email=normalise_email(data.email), session_token=new_session_token())
        _apply(user, data, actor=actor)
        db.session.add(user)
        db.session.flush()
        audit.record(
            "people.created", actor=actor, target=user, roles=sorted(r.value for r in data.roles)
        )
        announce_activated([user])  # their default referral link, in this transaction
        return user


#: what HR's edit page shows of a person: ``PersonData``'s fields, stored under the same
#: names (but the roles, rows of their own)
SHOWN_COLUMNS = tuple(f.name for f in fields(PersonData) if f.name != "roles")


def person_data_of(user: User) -> PersonData:
    """What HR's form would send back for ``user`` unchanged. Raises nothing."""
    shown: dict[str, object] = {name: getattr(user, name) for name in SHOWN_COLUMNS}
    return PersonData(**shown, roles=frozenset(user.roles))  # type: ignore[arg-type]


def shown_fingerprint(user: User) -> str:
    """The fingerprint (``perks.fingerprints``) of what HR's edit page shows of ``user``: its
    form sends it back, and ``update_person`` refuses a save when it no longer matches.

    Only what the page shows counts, whoever changed it (another HR person, an import or the
    API, the person choosing their language): a sign-in, a new session, a password, their
    own privacy choices or a deactivation leave it as it was. Raises nothing."""
    shown: dict[str, object] = {name: getattr(user, name) for name in SHOWN_COLUMNS}
    shown["roles"] = user.roles
    return fingerprint(shown)


def update_person(user: User, data: PersonData, *, actor: User, shown: str | None = None) -> User:
    """Change a person's details and roles.

    ``shown`` is the ``shown_fingerprint`` of the person as the page showed them: a page
    opened before someone else changed what it shows must not overwrite that change unseen.
    ``None`` checks nothing (callers that showed no page). Changes of one person take turns
    (their row is locked), so of two saves from the same page the second sees the first.

    Raises:
        Conflict, NotPermitted, ValidationFailed: as ``create_person``; also NotPermitted when
            HR would change someone holding finance or admin rights.
        ChangedMeanwhile: what the page showed is no longer what is saved; nothing is saved.

    The columns that changed are told to the guard of ``perks.people.events.guard_changes``
    in the same transaction (a draft payout batch that pays the person moves on).
    """
    with transaction():
        take_turns(PEOPLE_ADDRESSES_LOCK)  # as ``create_person``: first, always
        if data.manager_id:
            # before any row: an import holding it may be waiting for this person's row
            take_turns(REPORTING_LINES)
        if Role.ADMIN in user.roles:
            # before the person's own row: two administrators taking the role from each
            # other at once would each count the other still there
            lock_administrators()
        # FOR NO KEY UPDATE: saves of this person wait for each other, while rows that merely
        # refer to them (sessions, claims...) do not wait; read again under the lock, not
        # from what the session loaded before (the view's ``get_person``)
        locked = db.session.scalar(
            select(User)
            .where(User.id == user.id)
            .with_for_update(of=User, key_share=True)
            .execution_options(populate_existing=True)
        )
        if locked is None:
            raise NotFound()
        ensure_may_manage(actor, user)
        if shown is not None and shown != shown_fingerprint(user):
            raise ChangedMeanwhile(
                _(
                    "Someone changed %(name)s's details after you opened the page, so your "
                    "changes were not saved. The form now shows them as they are: check it "
                    "and make your changes again.",
                    name=user.name,
                )
            )
        before = user.roles
        was = _column_values(user)
        _apply(user, data, actor=actor)
        db.session.flush()
        now = _column_values(user)
        changed = sorted(key for key, value in now.items() if value != was[key])
        audit.record("people.updated", actor=actor, target=user, fields=changed)
        tell_address_changed(user, str(was["email"]), actor=actor)
        # a draft payout batch that pays them moves on (``events.guard_changes``)
        people_changed({user.id: changed}, actor=actor)
        if before != user.roles:
            audit.record(
                "auth.roles_changed", actor=actor, target=user, **roles_changed(before, user.roles)
            )
        return user


def _column_values(user: User) -> dict[str, object]:
    """The person's stored columns but ``updated_at``, compared before and after a change (the
    attributes' history cannot say it: the checks' queries flush the changes as they go)."""
    return {
        column.key: getattr(user, column.key)
        for column in db.inspect(User).column_attrs
        if column.key != "updated_at"
    }


def _apply(user: User, data: PersonData, *, actor: User) -> None:
    # nothing of ``user`` changes before the checks' queries: they would flush it (a taken
    # e-mail would fail there, not as a Conflict)
    # composed (NFC), as the import reads a file: Unikey's "Unicode tổ hợp" types Vietnamese
    # decomposed, and the same name must not read as a change when the HR system's file
    # gives it back
    name = " ".join(unicodedata.normalize("NFC", trim(data.name)).split())
    if not name:
        raise ValidationFailed(str(_l("Enter a name.")), field="name")
    email = normalise_email(data.email)
    email_owner = db.session.scalar(select(User.id).where(User.email == email))
    if email_owner is not None and email_owner != user.id:
        raise Conflict(str(_l("Someone already has this e-mail address.")))
    # without the zero-width spaces a number copied from a spreadsheet or a chat brings
    # along (``trim``), as the import reads it: "SV0100\u200b" is the number SV0100
    number = unicodedata.normalize("NFC", trim(data.employee_number or "")) or None
    if number:
        number_owner = db.session.scalar(select(User.id).where(User.employee_number == number))
        if number_owner is not None and number_owner != user.id:
            raise Conflict(str(_l("Someone already has this employee number.")))
    check_birthday(data.birth_month, data.birth_day)
    check_leaving_date(data.hire_date, data.leaving_date)
    if data.children_under_15 is not None and not 0 <= data.children_under_15 <= MAX_CHILDREN:
        raise ValidationFailed(
            str(_l("Children under 15: from 0 to %(most)d.", most=MAX_CHILDREN)),
            field="children_under_15",
        )
    if data.department_id and db.session.get(Department, data.department_id) is None:
        raise ValidationFailed(str(_l("Unknown department.")))
    if data.manager_id:
        check_manager(user, data.manager_id)
    _apply_roles(user, set(data.roles), actor=actor)
    user.email = email
    user.name = name
    user.employee_number = number
    user.department_id = data.department_id
    # trimmed as the import reads it: perks' and surveys' places match it exactly
    user.location = unicodedata.normalize("NFC", trim(data.location))
    user.employment_type = data.employment_type
    user.hire_date = data.hire_date
    user.leaving_date = data.leaving_date
    user.birth_month = data.birth_month
    user.birth_day = data.birth_day
    user.manager_id = data.manager_id
    user.locale = data.locale
    user.gender = data.gender
    user.children_under_15 = data.children_under_15


def _apply_roles(user: User, roles: set[Role], *, actor: User) -> None:
    """Give ``user`` exactly ``roles``.

    Raises:
        NotPermitted: ``actor`` may not grant or remove one of the roles that change.
        ValidationFailed: it would take the admin role from the last active administrator
            (nobody could then reach the admin pages or grant the role again), or take from
            the actor the last role that lets them edit people (HR or admin).
    """
    allowed = assignable_roles(actor)
    current = user.roles
    if (roles ^ current) - allowed:
        raise NotPermitted(str(_l("Only an administrator can grant or remove that role.")))
    if Role.ADMIN not in roles and is_the_last_administrator(user):
        raise ValidationFailed(str(LAST_ADMINISTRATOR_MESSAGE), field="roles")
    if (
        user.id == actor.id
        and not roles & {Role.HR, Role.ADMIN}
        and current & {Role.HR, Role.ADMIN}
    ):
        raise ValidationFailed(
            str(
                _l(
                    "You would lose the people pages, this one included: ask another HR person "
                    "or an administrator to change your roles."
                )
            ),
            field="roles",
        )
    user.set_roles(roles)


def _active_administrators() -> Select[int]:
    return (
        select(User.id)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == Role.ADMIN, User.active.is_(True))
        .order_by(User.id)
    )


def lock_administrators() -> None:
    """Lock the active administrators' rows (``FOR UPDATE`` on PostgreSQL, in id order) until
    the transaction ends: what may take an administrator away does it first, before any other
    lock, so two such transactions take turns instead of each counting the other's
    administrator still there (or deadlocking). Raises nothing."""
    db.session.execute(_active_administrators().with_for_update(of=User)).all()


def is_the_last_administrator(user: User, *, lock: bool = False) -> bool:
    """Whether ``user`` is the company's only active administrator: nobody takes the role
    from them, and the leavers' task keeps them active past their leaving date. ``lock``
    locks the active administrators first (``lock_administrators``), so two transactions
    deciding about two administrators at once cannot each count the other still there: the
    second waits, then counts again in a statement of its own (a locking statement that
    waited sees the role rows as they were when it started). Raises nothing."""
    if not user.active or Role.ADMIN not in user.roles:
        return False
    if lock:
        lock_administrators()
    return list(db.session.scalars(_active_administrators())) == [user.id]


def check_birthday(month: int | None, day: int | None) -> None:
    """Raises ValidationFailed unless both are empty or they form a real day (29/02 allowed)."""
    if month is None and day is None:
        return
    if month is None or day is None:
        raise ValidationFailed(str(_l("Give both the day and the month of the birthday.")))
    try:
        date(2000, month, day)  # a leap year, so 29 February is a real birthday
    except ValueError as error:
        raise ValidationFailed(str(_l("This birthday is not a real date."))) from error


def check_leaving_date(hire_date: date | None, leaving_date: date | None) -> None:
    """Raises ValidationFailed for a leaving date before the hire date."""
    if hire_date is not None and leaving_date is not None and leaving_date <= hire_date:
        raise ValidationFailed(
            str(_l("The leaving date must come after the hire date.")), field="leaving_date"
        )


#: the lock every change of reporting lines takes before it looks for a loop (``take_turns``)
REPORTING_LINES = "people.reporting_lines"


def check_manager(user: User, manager_id: int) -> None:
    """Raises ValidationFailed for an unknown manager or a reporting loop (the manager is the
    person, or reports to them directly or through others).

    Saves (and imports) that set a manager take turns (``REPORTING_LINES``) until they end:
    two at once making A report to B and B to A would each find no loop."""
    manager = db.session.get(User, manager_id)
    if manager is None:
        raise ValidationFailed(str(_l("Unknown manager.")))
    if manager_id == user.id:
        raise ValidationFailed(str(_l("A person cannot report to themselves.")))
    take_turns(REPORTING_LINES)
    seen: set[int] = set()
    current: int | None = manager_id
    while current is not None and current not in seen:
        if current == user.id:
            raise ValidationFailed(
                str(
                    _l(
                        "%(manager)s already reports to %(name)s, directly or through others: "
                        "choose another manager.",
                        manager=manager.name,
                        name=user.name,
                    )
                )
            )
        seen.add(current)
        current = db.session.scalar(select(User.manager_id).where(User.id == current))


def deactivate_person(user: User, *, actor: User) -> None:
    """Offboard: the person can no longer sign in, and every session ends.

    Raises:
        ValidationFailed: an actor deactivating themselves, or the last active administrator
            (two administrators deactivating each other at once: the second is refused).
        NotPermitted: HR deactivating someone with finance or admin rights.
    """
    if user.id == actor.id:
        raise ValidationFailed(str(_l("You cannot deactivate yourself.")))
    ensure_may_manage(actor, user)
    with transaction():
        if is_the_last_administrator(user, lock=True):
            raise ValidationFailed(str(LAST_ADMINISTRATOR_MESSAGE))
        user.active = False
        user.session_token = new_session_token()
        audit.record("people.deactivated", actor=actor, target=user)


def reactivate_person(user: User, *, actor: User) -> None:
    """Let a deactivated person sign in again (someone coming back).

    Raises:
        NotPermitted: HR would reactivate someone with finance or admin rights.
        ValidationFailed: their leaving date has come: active with it, they would claim
            nothing and earn nothing on their links, and the leavers' task, done with that
            date, would never deactivate them again; HR clears or moves it first.
    """
    ensure_may_manage(actor, user)
    with transaction():
        # read again under the row's lock: a leaving date another HR person saved meanwhile
        db.session.scalar(
            select(User)
            .where(User.id == user.id)
            .with_for_update(of=User, key_share=True)
            .execution_options(populate_existing=True)
        )
        if user.has_left(company_today()):
            assert user.leaving_date is not None
            raise ValidationFailed(
                str(
                    _l(
                        "%(name)s's leaving date, %(date)s, has come: clear it or move it to "
                        "the day they leave again (Edit) before reactivating them.",
                        name=user.name,
                        date=format_day(user.leaving_date),
                    )
                )
            )
        user.active = True
        db.session.flush()
        audit.record("people.reactivated", actor=actor, target=user)
        announce_activated([user])


def set_privacy(user: User, *, hide_personal_dates: bool, public_celebration: bool) -> None:
    """The person's own choices: hide their birthday and work anniversary from colleagues,
    and whether they are celebrated publicly (``people.privacy_changed`` when one changes).
    Gifts do not depend on them. Raises nothing."""
    with transaction():
        before = {
            "hide_personal_dates": user.hide_personal_dates,
            "public_celebration": user.public_celebration,
        }
        user.hide_personal_dates = hide_personal_dates
        user.public_celebration = public_celebration
        after = {
            "hide_personal_dates": hide_personal_dates,
            "public_celebration": public_celebration,
        }
        changes = audit.changes(before, after)
        if changes:
            audit.record("people.privacy_changed", actor=user, target=user, changes=changes)
