"""People of the company and its operating chain, the roles they hold, their departments,
and uploaded people files.

``people`` is the lowest capability: every other one that knows a person imports ``User``
from here. ``auth`` (credentials, sessions, sign-in) sits on top of it and adds what a
person signs in with; ``people`` never imports ``auth``.
"""

from __future__ import annotations

import base64
import secrets
import unicodedata
from collections.abc import Iterable
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, lazyload, mapped_column, relationship
from sqlalchemy.orm.strategy_options import _AbstractLoad

from perks.db import Base, TimestampMixin
from perks.folding import given_name
from perks.i18n import LabelledEnum
from perks.text import trim


class Role(LabelledEnum):
    """What a person may do. A person may hold several."""

    EMPLOYEE = "employee", _l("Employee")
    MANAGER = "manager", _l("Manager")
    REDEEMER = "redeemer", _l("Redeemer")
    HR = "hr", _l("HR")
    FINANCE = "finance", _l("Finance")
    ADMIN = "admin", _l("Administrator")


def roles_changed(before: Iterable[Role], after: Iterable[Role]) -> dict[str, list[str]]:
    """What ``auth.roles_changed`` keeps of a change of roles: each side's, sorted. Raises
    nothing."""
    return {"before": sorted(r.value for r in before), "after": sorted(r.value for r in after)}


class EmploymentType(LabelledEnum):
    """How a person works with the company; eligibility rules may use it."""

    STAFF = "staff", _l("Staff")
    CONTRACTOR = "contractor", _l("Contractor")
    PARTNER = "partner", _l("Partner")
    SUPPLIER = "supplier", _l("Supplier")


def new_session_token() -> str:
    """A fresh credential stamp: rotating it ends every session of the person at once."""
    return secrets.token_urlsafe(32)


def new_session_tokens(count: int) -> list[str]:
    """``count`` fresh stamps as ``new_session_token`` makes them, drawn at once (an import
    stamps a hundred thousand people)."""
    entropy = secrets.token_bytes(32 * count)
    return [
        base64.urlsafe_b64encode(entropy[start : start + 32]).rstrip(b"=").decode("ascii")
        for start in range(0, 32 * count, 32)
    ]


def normalise_email(email: str) -> str:
    """An e-mail address as it is stored and looked up (``User.email``): trimmed, composed
    (NFC: an accented address typed with Unikey's "Unicode tổ hợp" is the one typed composed,
    as the import reads it), lower-case."""
    return unicodedata.normalize("NFC", trim(email)).lower()


class Gender(LabelledEnum):
    """A person's gender, when HR records it (gift programmes for 8/3 and 20/10 may use it)."""

    FEMALE = "female", _l("Female")
    MALE = "male", _l("Male")


class UserRole(Base):
    """One role held by one person."""

    __tablename__ = "user_role"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[Role] = mapped_column(
        Enum(Role, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]),
        primary_key=True,
    )


class User(TimestampMixin, Base):
    """A person of the company or its operating chain (staff, contractor, partner, supplier)."""

    __tablename__ = "user"
    __table_args__ = (
        CheckConstraint("birth_month IS NULL OR birth_month BETWEEN 1 AND 12", name="birth_month"),
        CheckConstraint("birth_day IS NULL OR birth_day BETWEEN 1 AND 31", name="birth_day"),
        CheckConstraint(
            "children_under_15 IS NULL OR children_under_15 BETWEEN 0 AND 20",
            name="children_under_15",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: stored lower-case, so uniqueness is case-insensitive on every database
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    #: the id the HR system knows this person by; imports match on it first
    employee_number: Mapped[str | None] = mapped_column(String(32), unique=True)
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("department.id", ondelete="SET NULL"), index=True
    )
    location: Mapped[str] = mapped_column(String(80), default="")
    employment_type: Mapped[EmploymentType] = mapped_column(
        Enum(
            EmploymentType,
            native_enum=False,
            length=16,
            values_callable=lambda e: [m.value for m in e],
        ),
        default=EmploymentType.STAFF,
    )
    hire_date: Mapped[date | None] = mapped_column(Date)
    #: the first day the person no longer works here (set by HR): from that day their links
    #: earn nothing, and the daily task deactivates them and applies the leaver policy
    leaving_date: Mapped[date | None] = mapped_column(Date)
    #: birthday without the year: recognition needs the day, not the age
    birth_month: Mapped[int | None] = mapped_column(SmallInteger)
    birth_day: Mapped[int | None] = mapped_column(SmallInteger)
    manager_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    #: optional, recorded by HR only for gift programmes (8/3, 20/10); None: not recorded
    gender: Mapped[Gender | None] = mapped_column(
        Enum(Gender, native_enum=False, length=8, values_callable=lambda e: [m.value for m in e])
    )
    #: optional, recorded by HR for gift programmes (1/6, Trung thu); None: not recorded
    children_under_15: Mapped[int | None] = mapped_column(SmallInteger)
    #: the person's choice: colleagues do not see their birthday and work anniversary
    hide_personal_dates: Mapped[bool] = mapped_column(Boolean, default=False)
    #: the person's choice: no public celebration of their occasions (they keep their gifts)
    public_celebration: Mapped[bool] = mapped_column(Boolean, default=True)
    #: preferred language of pages and e-mails ("vi" or "en")
    locale: Mapped[str] = mapped_column(String(5), default="vi")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: scrypt hash; empty until the person accepts their invitation
    password_hash: Mapped[str | None] = mapped_column(String(255))
    #: the credential stamp each session copies when it starts (``UserSession.user_stamp``);
    #: rotated on a password change, "sign out everywhere" and deactivation, which ends every
    #: session at once, and part of the fingerprint of invitation and reset links. Never sent
    #: to a browser. Only ever compared with the person's own row, never looked up: not
    #: indexed (migration 0016; an import of 100,000 people paid most for this index).
    session_token: Mapped[str] = mapped_column(String(64), default=new_session_token)
    invited_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    department: Mapped[Department | None] = relationship(lazy="joined")
    manager: Mapped[User | None] = relationship(remote_side=[id], lazy="select")
    role_rows: Mapped[list[UserRole]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    #: the id of the session the current request runs in (set by the user loader or at
    #: sign-in; never stored). Flask-Login puts it in the session cookie.
    _session_key = None

    # Flask-Login protocol -------------------------------------------------------------------
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        """A stable id of the person (rate-limit keys); the cookie holds ``get_session_key``."""
        return str(self.id)

    def get_session_key(self) -> str:
        """The id of this request's session: what Flask-Login keeps in the cookie
        (``login_manager.id_attribute``) and gives back to the user loader.

        Raises:
            RuntimeError: the person was not loaded through a session nor just signed in.
        """
        if not self._session_key:
            raise RuntimeError("this person has no session in this request")
        return self._session_key

    def attach_session(self, key: str) -> None:
        """Remember that this request runs in the session ``key`` (not stored)."""
        self._session_key = key

    # Roles ------------------------------------------------------------------------------------
    @property
    def roles(self) -> set[Role]:
        return {row.role for row in self.role_rows}

    def set_roles(self, roles: set[Role]) -> None:
        """Replace the held roles with ``roles`` (callers audit the change)."""
        keep = [row for row in self.role_rows if row.role in roles]
        have = {row.role for row in keep}
        self.role_rows = keep + [UserRole(role=r) for r in sorted(roles - have)]

    def has_role(self, *roles: Role) -> bool:
        """True if the person holds any of ``roles``; admins hold every role implicitly."""
        held = self.roles
        return Role.ADMIN in held or any(role in held for role in roles)

    def has_left(self, today: date) -> bool:
        """Whether the person's leaving date has come by ``today`` (a company day): from
        then they are no longer with the company, though the daily task deactivates them
        only later that day (and never the last administrator). Raises nothing."""
        return self.leaving_date is not None and self.leaving_date <= today

    @property
    def first_name(self) -> str:
        """The given name to greet the person by, as their language writes names ("Nguyễn
        Văn An" → "An", "Lucas Martin" → "Lucas"; ``folding.given_name``)."""
        return given_name(self.name or "", self.locale)

    @property
    def birthday_label(self) -> str:
        if self.birth_month and self.birth_day:
            return f"{self.birth_day:02d}/{self.birth_month:02d}"
        return ""

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


def roles_if_asked() -> _AbstractLoad:
    """A query option for a list of many people whose roles it does not use (the choices of a
    form, an audience counted): ``role_rows`` loads with its people, a statement per 500 of
    them (20 for 10,000 people); with this option a person's roles load only if asked for."""
    return lazyload(User.role_rows)


class Department(TimestampMixin, Base):
    """A unit of the company; people belong to at most one."""

    __tablename__ = "department"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)

    def __repr__(self) -> str:
        return f"<Department {self.name}>"


#: the lock (``perks.db.take_turns``) every writer of a new department takes before it
#: looks whether the name is taken: names are unique whatever their case (``name_key``), which
#: the database's unique index on the name as written does not see
DEPARTMENT_NAMES_LOCK = "perks.people.department_names"

#: the lock (``perks.db.take_turns``) HR's pages take before they look whether an e-mail
#: address or an employee number is taken: two people added (or given one address) at once
#: take turns, and the second is told it is taken instead of breaking the unique index
PEOPLE_ADDRESSES_LOCK = "perks.people.addresses"


class PeopleImport(TimestampMixin, Base):
    """An uploaded people CSV, kept between its dry run and its confirmation."""

    __tablename__ = "people_import"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    filename: Mapped[str] = mapped_column(String(255))
    #: sha256 of the content, to show that a re-upload is the same file
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[str] = mapped_column(Text)
    #: "pending" after the dry run, "applied" once confirmed
    status: Mapped[str] = mapped_column(String(16), default="pending")
