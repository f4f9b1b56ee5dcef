"""The people CSV import: a dry run that names every bad row, then one transaction.

The file is the shape an HR system exports: one header row naming the columns (any order, any
case), UTF-8 with or without a byte-order mark, comma-, semicolon- or tab-separated. People
are matched on their employee number first, else on their e-mail. Nothing is written unless
every row is valid, and importing the same file again changes nothing.

What a cell means for someone already stored:

- a column left out of the file keeps what is stored;
- an empty cell clears the department, location, hire date, birthday and manager (the file
  is the HR system's picture of the person), but keeps the employee number, employment type,
  language, roles and status (new people get the defaults: staff, ``vi``, employee, active).

The import never sends invitations: HR invites people from their page.
"""

from __future__ import annotations

import csv
import enum
import hashlib
import io
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from perks import audit
from perks.auth.models import EmploymentType, Role, User, UserRole, new_session_token
from perks.auth.services import normalise_email
from perks.db import transaction, utcnow
from perks.errors import Conflict, NotFound, ValidationFailed
from perks.extensions import db
from perks.people.events import announce_activated
from perks.people.models import Department, PeopleImport
from perks.people.services import PRIVILEGED_PERSON_MESSAGE, assignable_roles, may_manage

#: more rows than this is refused as a whole: split the file
MAX_IMPORT_ROWS = 20_000
#: rows written per flush, and how often ``progress`` is called
WRITE_CHUNK = 500

#: every column the import understands, in the order the example file uses
COLUMNS = (
    "employee_number",
    "email",
    "name",
    "department",
    "location",
    "employment_type",
    "hire_date",
    "birthday",
    "manager_email",
    "language",
    "roles",
    "active",
)
REQUIRED_COLUMNS = ("email", "name")
_HEADER_ALIASES = {"e_mail": "email", "manager_e_mail": "manager_email", "locale": "language"}

_MAX_LENGTHS = {
    "email": 254,
    "name": 120,
    "employee_number": 32,
    "department": 120,
    "location": 80,
}

_EMPLOYMENT_TYPES: dict[str, EmploymentType] = {
    **{t.value: t for t in EmploymentType},
    "nhân viên": EmploymentType.STAFF,
    "cộng tác viên": EmploymentType.CONTRACTOR,
    "đối tác": EmploymentType.PARTNER,
    "nhà cung cấp": EmploymentType.SUPPLIER,
}
_TRUE = frozenset({"yes", "y", "true", "1", "có"})
_FALSE = frozenset({"no", "n", "false", "0", "không"})
_LANGUAGES = {"vi": "vi", "en": "en", "tiếng việt": "vi", "english": "en"}
_ROLE_SEPARATORS = re.compile(r"[;|,]")
_ROLE_VALUES = frozenset(role.value for role in Role)

_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_DMY_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_DAY_MONTH = re.compile(r"(\d{1,2})/(\d{1,2})")

_DEFAULTS: dict[str, Any] = {
    "employment_type": EmploymentType.STAFF,
    "language": "vi",
    "roles": frozenset({Role.EMPLOYEE}),
    "active": True,
}

#: what the review page calls each field of a change
FIELD_LABELS = {
    "employee_number": _l("Employee number"),
    "email": _l("E-mail"),
    "name": _l("Full name"),
    "department": _l("Department"),
    "location": _l("Location"),
    "employment_type": _l("Employment type"),
    "hire_date": _l("Hire date"),
    "birthday": _l("Birthday"),
    "manager": _l("Manager"),
    "language": _l("Language"),
    "roles": _l("Roles"),
    "active": _l("Active"),
}

#: rows of the downloadable example: believable, and valid as they stand
EXAMPLE_ROWS = (
    COLUMNS,
    ("NV001", "hai.nguyen@congty.example", "Nguyễn Đức Hải", "Kinh doanh", "Hà Nội", "staff",
     "2019-04-01", "12/05", "", "vi", "employee;manager", "yes"),
    ("NV002", "an.nguyen@congty.example", "Nguyễn Văn An", "Kinh doanh", "Hà Nội", "staff",
     "15/03/2022", "1990-08-23", "hai.nguyen@congty.example", "vi", "employee", "yes"),
    ("NV003", "nhung.le@congty.example", "Lê Thị Hồng Nhung", "Nhân sự", "TP. Hồ Chí Minh",
     "staff", "2020-09-14", "29/02", "hai.nguyen@congty.example", "en", "employee;hr", "yes"),
    ("CTV017", "minh.tran@congty.example", "Trần Quang Minh", "Vận hành tour", "Đà Nẵng",
     "contractor", "2024-06-03", "", "hai.nguyen@congty.example", "vi", "employee", "yes"),
    ("DT004", "lan.pham@doitac.example", "Phạm Ngọc Lan", "", "Nha Trang", "partner", "",
     "07/11", "", "vi", "employee", "no"),
)  # fmt: skip

T = TypeVar("T")

#: who a row's manager is: ("user", id) for someone stored, ("line", n) for a new person
#: on line n of the same file
PersonKey = tuple[str, int]


class Action(enum.StrEnum):
    """What the import does to one row's person."""

    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class RowError:
    """Why one line of the file cannot be imported. ``line`` counts physical lines from 1
    (the header); a problem with the whole file is reported on line 1."""

    line: int
    message: str


@dataclass(frozen=True)
class FieldChange:
    """One field of one person, as shown in the dry run (``before`` is empty for new people)."""

    field: str
    before: str
    after: str

    @property
    def label(self) -> str:
        return str(FIELD_LABELS[self.field])


@dataclass(frozen=True)
class PlannedRow:
    """A valid row and what importing it will do."""

    line: int
    action: Action
    email: str
    name: str
    #: the stored person it updates; None for a new person
    user_id: int | None
    changes: tuple[FieldChange, ...]
    #: the parsed values, by field name (only the fields the row sets)
    values: dict[str, Any] = field(repr=False, compare=False)


@dataclass
class ImportPlan:
    """The dry run: every valid row with its action, and every bad row with its reason."""

    rows: list[PlannedRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    #: departments the file names that do not exist yet, spelled as in the file
    new_departments: list[str] = field(default_factory=list)
    #: header names the import does not know (their cells are not read)
    ignored_columns: list[str] = field(default_factory=list)
    #: data rows in the file (blank lines excluded), valid or not
    total_rows: int = 0

    @property
    def is_valid(self) -> bool:
        return not self.errors

    @property
    def bad_lines(self) -> list[int]:
        return sorted({error.line for error in self.errors})

    @property
    def to_create(self) -> int:
        return self._count(Action.CREATE)

    @property
    def to_update(self) -> int:
        return self._count(Action.UPDATE)

    @property
    def unchanged(self) -> int:
        return self._count(Action.UNCHANGED)

    @property
    def changed_rows(self) -> list[PlannedRow]:
        return [row for row in self.rows if row.action is not Action.UNCHANGED]

    def _count(self, action: Action) -> int:
        return sum(1 for row in self.rows if row.action is action)


@dataclass(frozen=True)
class ImportResult:
    """What an applied import did."""

    created: int
    updated: int
    unchanged: int
    deactivated: int
    departments_created: tuple[str, ...]


# Files and uploads ----------------------------------------------------------------------------


def example_csv() -> str:
    """The example file offered for download (Excel needs the BOM to read it as UTF-8)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(EXAMPLE_ROWS)
    return "\ufeff" + out.getvalue()


def decode_csv(data: bytes) -> str:
    """The text of an uploaded or read file: UTF-8 (a BOM is dropped) or BOM-marked UTF-16.

    Raises:
        ValidationFailed: binary content, or text in another encoding.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as error:
            raise ValidationFailed(_("The file could not be read as text.")) from error
    elif b"\x00" in data:
        raise ValidationFailed(_("This is not a CSV file. Export the list as CSV and try again."))
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise ValidationFailed(
                _(
                    "The file is not UTF-8 text. In Excel, save it as “CSV UTF-8 "
                    "(Comma delimited)” and upload it again."
                )
            ) from error
    if "\x00" in text:
        raise ValidationFailed(_("This is not a CSV file. Export the list as CSV and try again."))
    return text


def content_sha256(text: str) -> str:
    """The fingerprint of a file's text (UTF-8, without a BOM), as stored and audited."""
    return hashlib.sha256(text.removeprefix("\ufeff").encode("utf-8")).hexdigest()


def store_upload(data: bytes, *, filename: str, actor: User) -> PeopleImport:
    """Keep an uploaded file for its dry run and confirmation (nothing is imported yet).

    Raises:
        ValidationFailed: the file is not text (see ``decode_csv``) or is empty.
    """
    text = decode_csv(data)
    if not text.strip():
        raise ValidationFailed(_("The file is empty."))
    # Browsers may send a full Windows path; keep the last part, as shown to the user.
    name = re.split(r"[\\/]", filename or "")[-1].strip()[:255] or "people.csv"
    with transaction():
        upload = PeopleImport(
            uploaded_by_id=actor.id,
            filename=name,
            sha256=content_sha256(text),
            content=text,
            status="pending",
        )
        db.session.add(upload)
        db.session.flush()
        return upload


def get_upload(import_id: int, *, actor: User) -> PeopleImport:
    """An upload of ``actor``'s.

    Raises:
        NotFound: no such upload, or someone else uploaded it.
    """
    upload = db.session.get(PeopleImport, import_id)
    if upload is None or upload.uploaded_by_id != actor.id:
        raise NotFound()
    return upload


def confirm_upload(
    import_id: int,
    *,
    actor: User,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Import a stored upload of ``actor``'s, re-checked against the current directory.

    Raises:
        NotFound: as ``get_upload``.
        Conflict: the upload was already imported (also when two confirmations race).
        ValidationFailed: a row is bad now; ``details["errors"]`` lists every bad row.
    """
    upload = get_upload(import_id, actor=actor)
    with transaction():
        # A conditional update, so that of two confirmations only one goes through.
        claimed = db.session.execute(
            update(PeopleImport)
            .where(PeopleImport.id == upload.id, PeopleImport.status == "pending")
            .values(status="applied", updated_at=utcnow())
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed != 1:
            raise Conflict(_("This file has already been imported."))
        return _import(
            upload.content, actor=actor, filename=upload.filename, progress=progress, upload=upload
        )


# Planning -------------------------------------------------------------------------------------


def plan_import(text: str, *, actor: User | None) -> ImportPlan:
    """The dry run: parse and check every row against the file and the directory.

    ``actor`` is who would import the file: HR may not grant or remove the finance or
    administrator roles; ``None`` (the command line) may grant any role. Writes nothing.
    """
    table = _read_table(text)
    plan = ImportPlan(
        errors=list(table.errors),
        ignored_columns=table.ignored_columns,
        total_rows=len(table.rows),
    )
    if table.errors:
        return plan
    _Planner(table, actor=actor, plan=plan).run()
    plan.errors.sort(key=lambda error: error.line)  # stable: a row's reasons keep their order
    return plan


def apply_import(
    text: str,
    *,
    actor: User | None,
    filename: str,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Import ``text`` in one transaction, after checking it again as ``plan_import`` does.

    ``progress`` is called with the number of rows done so far, every ``WRITE_CHUNK`` rows
    and at the end. One ``people.import`` audit event records the counts, file name and hash.

    Raises:
        ValidationFailed: some row is bad (nothing is written); ``details["errors"]`` holds
            every ``RowError``.
        Conflict: someone changed the directory while the import ran.
    """
    with transaction():
        return _import(text, actor=actor, filename=filename, progress=progress)


@dataclass
class _Table:
    columns: list[str | None] = field(default_factory=list)
    rows: list[tuple[int, list[str]]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    #: cells a row must have: a trailing delimiter on the header adds no required cell
    needed_cells: int = 0


def _normalise_header(name: str) -> str:
    name = unicodedata.normalize("NFC", name).strip().lower()
    name = re.sub(r"[\s\-]+", "_", name)
    return _HEADER_ALIASES.get(name, name)


def _sniff_delimiter(text: str) -> str:
    first = next((line for line in text.splitlines() if line.strip()), "")
    counts = {delimiter: first.count(delimiter) for delimiter in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _read_table(text: str) -> _Table:
    table = _Table()
    text = text.removeprefix("\ufeff")
    if "\x00" in text:
        table.errors.append(RowError(1, _("This is not a CSV file.")))
        return table
    if not text.strip():
        table.errors.append(RowError(1, _("The file is empty.")))
        return table
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_sniff_delimiter(text))
    try:
        header: list[str] | None = None
        while True:
            start = reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                break
            if not any(cell.strip() for cell in cells):
                continue
            if header is None:
                header = cells
                continue
            if len(table.rows) >= MAX_IMPORT_ROWS:
                table.errors.append(
                    RowError(
                        1,
                        _(
                            "The file has more than %(max)d people. Split it into smaller files.",
                            max=MAX_IMPORT_ROWS,
                        ),
                    )
                )
                return table
            table.rows.append((start, cells))
    except csv.Error as error:
        table.errors.append(
            RowError(reader.line_num or 1, _("This line is not valid CSV: %(error)s", error=error))
        )
        return table
    if header is None:
        table.errors.append(RowError(1, _("The file is empty.")))
        return table
    seen: set[str] = set()
    for raw in header:
        name = _normalise_header(raw)
        if not name:
            table.columns.append(None)
        elif name in seen:
            table.columns.append(None)
            table.errors.append(
                RowError(1, _("The column “%(name)s” appears twice.", name=raw.strip()))
            )
        elif name in COLUMNS:
            seen.add(name)
            table.columns.append(name)
        else:
            table.columns.append(None)
            table.ignored_columns.append(raw.strip())
    table.needed_cells = len(header)
    while table.needed_cells and not header[table.needed_cells - 1].strip():
        table.needed_cells -= 1
    missing = [name for name in REQUIRED_COLUMNS if name not in seen]
    if missing:
        table.errors.append(
            RowError(
                1,
                _(
                    "The first line must name the columns, including %(columns)s. "
                    "Missing: %(missing)s.",
                    columns=", ".join(REQUIRED_COLUMNS),
                    missing=", ".join(missing),
                ),
            )
        )
    elif not table.rows:
        table.errors.append(RowError(1, _("The file has a header but no people.")))
    return table


@dataclass(frozen=True)
class _Stored:
    """A person as stored, read in bulk (no ORM objects for a dry run)."""

    id: int
    email: str
    employee_number: str | None
    name: str
    department_id: int | None
    location: str
    employment_type: EmploymentType
    hire_date: date | None
    birth_month: int | None
    birth_day: int | None
    manager_id: int | None
    locale: str
    active: bool
    roles: frozenset[Role]


def _load_people() -> dict[int, _Stored]:
    roles: dict[int, set[Role]] = defaultdict(set)
    for user_id, role in db.session.execute(select(UserRole.user_id, UserRole.role)):
        roles[user_id].add(role)
    rows = db.session.execute(
        select(
            User.id,
            User.email,
            User.employee_number,
            User.name,
            User.department_id,
            User.location,
            User.employment_type,
            User.hire_date,
            User.birth_month,
            User.birth_day,
            User.manager_id,
            User.locale,
            User.active,
        )
    )
    return {row.id: _Stored(*row, roles=frozenset(roles.get(row.id, ()))) for row in rows}


@dataclass
class _Row:
    line: int
    values: dict[str, Any]
    errors: list[str] = field(default_factory=list)
    target: _Stored | None = None
    manager: PersonKey | None = None

    @property
    def key(self) -> PersonKey:
        return ("user", self.target.id) if self.target else ("line", self.line)


class _Planner:
    """Checks the rows of one file against each other and against a snapshot of the directory.

    Reads the directory in three queries whatever its size; writes nothing.
    """

    def __init__(self, table: _Table, *, actor: User | None, plan: ImportPlan) -> None:
        self.table = table
        self.actor = actor
        self.plan = plan
        self.people = _load_people()
        self.by_email = {p.email: p for p in self.people.values()}
        self.by_number = {p.employee_number: p for p in self.people.values() if p.employee_number}
        self.departments = {
            name.lower(): (department_id, name)
            for department_id, name in db.session.execute(select(Department.id, Department.name))
        }
        self.department_names = dict(self.departments.values())
        self.email_by_line: dict[int, str] = {}
        self.allowed_roles = assignable_roles(actor) if actor is not None else frozenset(Role)

    def run(self) -> None:
        rows = [self._parse(line, cells) for line, cells in self.table.rows]
        self.email_by_line = {row.line: row.values.get("email", "") for row in rows}
        self._match(rows)
        self._resolve_managers(rows)
        self._find_reporting_loops(rows)
        for row in rows:
            self._check_permissions(row)
        for row in rows:
            planned = None if row.errors else self._planned(row)
            changes_privileged_person = (
                planned is not None
                and planned.action is Action.UPDATE
                and row.target is not None
                and not may_manage(self.actor, row.target.roles)
            )
            if changes_privileged_person:
                row.errors.append(str(PRIVILEGED_PERSON_MESSAGE))
            if row.errors:
                self.plan.errors.extend(RowError(row.line, message) for message in row.errors)
            else:
                self.plan.rows.append(planned)
        self.plan.new_departments = self._new_departments(rows)

    # One row on its own ---------------------------------------------------------------------

    def _parse(self, line: int, cells: list[str]) -> _Row:
        row = _Row(line=line, values={})
        columns = self.table.columns
        extra = cells[len(columns) :]
        if len(cells) < self.table.needed_cells or any(cell.strip() for cell in extra):
            row.errors.append(
                _(
                    "This row has %(found)d values but the header has %(expected)d columns.",
                    found=len(cells),
                    expected=len(columns),
                )
            )
            return row
        raw = {
            name: unicodedata.normalize("NFC", cell).strip()
            for name, cell in zip(columns, cells, strict=False)
            if name
        }
        for name, limit in _MAX_LENGTHS.items():
            if len(raw.get(name, "")) > limit:
                row.errors.append(
                    _(
                        "%(field)s is longer than %(max)d characters.",
                        field=FIELD_LABELS[name],
                        max=limit,
                    )
                )
                raw[name] = raw[name][:limit]
        values = row.values
        email = normalise_email(raw.get("email", ""))
        values["email"] = email
        if not email:
            row.errors.append(_("The e-mail is missing."))
        elif not _valid_email(email):
            row.errors.append(_("“%(email)s” is not a valid e-mail address.", email=email))
        values["name"] = " ".join(raw.get("name", "").split())
        if not values["name"]:
            row.errors.append(_("The name is missing."))
        if raw.get("employee_number"):
            values["employee_number"] = raw["employee_number"]
        if "department" in raw:
            values["department"] = " ".join(raw["department"].split()) or None
        if "location" in raw:
            values["location"] = raw["location"]
        if raw.get("employment_type"):
            kind = _EMPLOYMENT_TYPES.get(_casefold(raw["employment_type"]))
            if kind is None:
                row.errors.append(
                    _(
                        "Unknown employment type “%(value)s”: use staff, contractor, partner "
                        "or supplier.",
                        value=raw["employment_type"],
                    )
                )
            values["employment_type"] = kind
        if "hire_date" in raw:
            values["hire_date"] = None
            if raw["hire_date"]:
                values["hire_date"] = _parse_date(raw["hire_date"])
                if values["hire_date"] is None:
                    row.errors.append(
                        _(
                            "The hire date “%(value)s” is not a date: use YYYY-MM-DD or "
                            "DD/MM/YYYY.",
                            value=raw["hire_date"],
                        )
                    )
        if "birthday" in raw:
            values["birthday"] = None
            if raw["birthday"]:
                values["birthday"] = _parse_birthday(raw["birthday"])
                if values["birthday"] is None:
                    row.errors.append(
                        _(
                            "The birthday “%(value)s” is not a real day: use DD/MM or YYYY-MM-DD.",
                            value=raw["birthday"],
                        )
                    )
        if "manager_email" in raw:
            values["manager_email"] = normalise_email(raw["manager_email"]) or None
        if raw.get("language"):
            values["language"] = _LANGUAGES.get(_casefold(raw["language"]))
            if values["language"] is None:
                row.errors.append(
                    _("Unknown language “%(value)s”: use vi or en.", value=raw["language"])
                )
        names = [_casefold(n) for n in _ROLE_SEPARATORS.split(raw.get("roles", "")) if n.strip()]
        if names:
            unknown = [n for n in names if n not in _ROLE_VALUES]
            if unknown:
                row.errors.append(
                    _(
                        "Unknown role “%(role)s”: use %(roles)s.",
                        role=", ".join(unknown),
                        roles=", ".join(r.value for r in Role),
                    )
                )
            values["roles"] = frozenset(Role(n) for n in names if n not in unknown)
        if raw.get("active"):
            flag = _casefold(raw["active"])
            if flag not in _TRUE | _FALSE:
                row.errors.append(
                    _("Active must be yes or no, not “%(value)s”.", value=raw["active"])
                )
            values["active"] = flag in _TRUE
        return row

    # Rows against each other and the directory -----------------------------------------------

    def _match(self, rows: list[_Row]) -> None:
        first_email: dict[str, int] = {}
        first_number: dict[str, int] = {}
        first_target: dict[int, int] = {}
        for row in rows:
            email = row.values.get("email")
            number = row.values.get("employee_number")
            if email:
                if email in first_email:
                    row.errors.append(
                        _(
                            "The e-mail %(email)s is already on line %(line)d.",
                            email=email,
                            line=first_email[email],
                        )
                    )
                    continue
                first_email[email] = row.line
            if number:
                if number in first_number:
                    row.errors.append(
                        _(
                            "The employee number %(number)s is already on line %(line)d.",
                            number=number,
                            line=first_number[number],
                        )
                    )
                    continue
                first_number[number] = row.line
            if not email:
                continue
            owner = self.by_email.get(email)
            if number:
                row.target = self.by_number.get(number)
                if row.target is None:
                    if owner is not None and owner.employee_number:
                        row.errors.append(
                            _(
                                "%(email)s belongs to the person with employee number %(number)s.",
                                email=email,
                                number=owner.employee_number,
                            )
                        )
                        continue
                    row.target = owner
                elif owner is not None and owner.id != row.target.id:
                    row.errors.append(
                        _(
                            "Employee number %(number)s belongs to %(owner)s, not to %(email)s.",
                            number=number,
                            owner=row.target.email,
                            email=email,
                        )
                    )
                    row.target = None
                    continue
            else:
                row.target = owner
            if row.target is not None:
                if row.target.id in first_target:
                    row.errors.append(
                        _(
                            "This is the same person as on line %(line)d.",
                            line=first_target[row.target.id],
                        )
                    )
                    continue
                first_target[row.target.id] = row.line

    def _resolve_managers(self, rows: list[_Row]) -> None:
        in_file: dict[str, _Row] = {}
        for row in rows:
            if row.values.get("email"):
                in_file.setdefault(row.values["email"], row)
        for row in rows:
            if "manager_email" not in row.values:
                if row.target is not None and row.target.manager_id is not None:
                    row.manager = ("user", row.target.manager_id)
                continue
            email = row.values["manager_email"]
            if email is None:
                continue
            if email in in_file:
                row.manager = in_file[email].key
            elif email in self.by_email:
                row.manager = ("user", self.by_email[email].id)
            else:
                row.errors.append(
                    _(
                        "The manager %(email)s is neither in this file nor in the directory.",
                        email=email,
                    )
                )

    def _find_reporting_loops(self, rows: list[_Row]) -> None:
        manager_of: dict[PersonKey, PersonKey | None] = {
            ("user", p.id): ("user", p.manager_id) if p.manager_id else None
            for p in self.people.values()
        }
        email_of: dict[PersonKey, str] = {("user", p.id): p.email for p in self.people.values()}
        by_key: dict[PersonKey, _Row] = {}
        for row in rows:
            if row.values.get("email"):
                manager_of[row.key] = row.manager
                email_of[row.key] = row.values["email"]
                by_key[row.key] = row
        done: set[PersonKey] = set()
        for start in by_key:
            path: list[PersonKey] = []
            index: dict[PersonKey, int] = {}
            node: PersonKey | None = start
            while node is not None and node not in done and node not in index:
                index[node] = len(path)
                path.append(node)
                node = manager_of.get(node)
            done.update(path)
            if node is None or node not in index:
                continue
            loop = path[index[node] :]
            for key in loop:
                if key not in by_key:
                    continue
                if len(loop) == 1:
                    by_key[key].errors.append(_("A person cannot be their own manager."))
                else:
                    # Show the loop starting from this row's person.
                    at = loop.index(key)
                    chain = [*loop[at:], *loop[:at], key]
                    by_key[key].errors.append(
                        _(
                            "This would make a reporting loop: %(chain)s.",
                            chain=" → ".join(email_of.get(k, "?") for k in chain),
                        )
                    )

    def _check_permissions(self, row: _Row) -> None:
        if row.errors:
            return
        current = row.target.roles if row.target else frozenset()
        wanted = row.values.get("roles", current if row.target else _DEFAULTS["roles"])
        refused = (wanted ^ current) - self.allowed_roles
        if refused:
            row.errors.append(
                _(
                    "Only an administrator can grant or remove these roles: %(roles)s.",
                    roles=", ".join(sorted(r.value for r in refused)),
                )
            )
        if (
            self.actor is not None
            and row.target is not None
            and row.target.id == self.actor.id
            and row.values.get("active") is False
        ):
            row.errors.append(_("You cannot deactivate yourself."))

    # What a valid row will do ----------------------------------------------------------------

    def _planned(self, row: _Row) -> PlannedRow:
        values = dict(row.values)
        values.pop("manager_email", None)
        if "manager_email" in row.values:
            values["manager"] = row.manager
        stored = row.target
        changes = [
            FieldChange(name, self._show(name, before) if stored else "", self._show(name, after))
            for name, before, after in self._differences(stored, values)
        ]
        if stored is None:
            action = Action.CREATE
        elif changes:
            action = Action.UPDATE
        else:
            action = Action.UNCHANGED
        return PlannedRow(
            line=row.line,
            action=action,
            email=values["email"],
            name=values["name"],
            user_id=stored.id if stored else None,
            changes=tuple(changes),
            values=values,
        )

    def _differences(
        self, stored: _Stored | None, values: dict[str, Any]
    ) -> Iterator[tuple[str, Any, Any]]:
        """(field, stored value, new value) for each field the row changes."""
        if stored is None:
            for name in FIELD_LABELS:
                value = values.get(name, _DEFAULTS.get(name))
                # The e-mail and name are shown beside the changes, not among them.
                if name not in ("email", "name") and value not in (None, "", frozenset()):
                    yield name, None, value
            return
        department = self.department_names.get(stored.department_id)  # type: ignore[arg-type]
        before: dict[str, Any] = {
            "employee_number": stored.employee_number,
            "email": stored.email,
            "name": stored.name,
            "department": department,
            "location": stored.location,
            "employment_type": stored.employment_type,
            "hire_date": stored.hire_date,
            "birthday": (stored.birth_month, stored.birth_day) if stored.birth_month else None,
            "manager": ("user", stored.manager_id) if stored.manager_id else None,
            "language": stored.locale,
            "roles": stored.roles,
            "active": stored.active,
        }
        for name, old in before.items():
            if name not in values:
                continue
            new = values[name]
            same = (
                (old or "").lower() == (new or "").lower() if name == "department" else old == new
            )
            if not same:
                yield name, old, new

    def _show(self, name: str, value: Any) -> str:
        if value is None:
            return ""
        if name == "manager":
            kind, ident = value
            if kind == "user":
                return self.people[ident].email if ident in self.people else ""
            return self.email_by_line.get(ident, "")
        if name == "birthday":
            month, day = value
            return f"{day:02d}/{month:02d}"
        if name == "hire_date":
            return value.isoformat()
        if name == "employment_type":
            return value.label
        if name == "roles":
            return ", ".join(role.label for role in sorted(value))
        if name == "active":
            return _("yes") if value else _("no")
        if name == "language":
            return {"vi": "Tiếng Việt", "en": "English"}.get(value, value)
        return str(value)

    def _new_departments(self, rows: list[_Row]) -> list[str]:
        found: dict[str, str] = {}
        for row in rows:
            name = row.values.get("department")
            if name and name.lower() not in self.departments:
                found.setdefault(name.lower(), name)
        return list(found.values())


def _casefold(value: str) -> str:
    return " ".join(value.split()).casefold()


def _valid_email(email: str) -> bool:
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def _parse_date(value: str) -> date | None:
    if match := _ISO_DATE.fullmatch(value):
        year, month, day = (int(part) for part in match.groups())
    elif match := _DMY_DATE.fullmatch(value):
        day, month, year = (int(part) for part in match.groups())
    else:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _parse_birthday(value: str) -> tuple[int, int] | None:
    """(month, day) of a birthday; the year, if given, is checked and dropped."""
    full = _parse_date(value)
    if full is not None:
        return full.month, full.day
    if match := _DAY_MONTH.fullmatch(value):
        day, month = (int(part) for part in match.groups())
        try:
            date(2000, month, day)  # a leap year, so 29 February is a real birthday
        except ValueError:
            return None
        return month, day
    return None


# Writing --------------------------------------------------------------------------------------


def _chunks(items: Sequence[T], size: int) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _import(
    text: str,
    *,
    actor: User | None,
    filename: str,
    progress: Callable[[int], None] | None,
    upload: PeopleImport | None = None,
) -> ImportResult:
    """Plan, refuse if anything is bad, write, audit. Flushes only: the caller commits."""
    plan = plan_import(text, actor=actor)
    if plan.errors:
        raise ValidationFailed(
            ngettext(
                "%(num)d row cannot be imported; nothing was written.",
                "%(num)d rows cannot be imported; nothing was written.",
                len(plan.bad_lines),
            ),
            errors=plan.errors,
        )
    try:
        result = _write(plan, progress=progress or (lambda done: None))
    except IntegrityError as error:
        raise Conflict(
            _("Someone changed the directory while the file was imported. Check it again.")
        ) from error
    audit.record(
        "people.import",
        actor=actor,
        target=upload,
        filename=filename,
        sha256=content_sha256(text),
        rows=plan.total_rows,
        created=result.created,
        updated=result.updated,
        unchanged=result.unchanged,
        deactivated=result.deactivated,
        departments_created=list(result.departments_created),
    )
    return result


def _write(plan: ImportPlan, *, progress: Callable[[int], None]) -> ImportResult:
    department_ids = {
        name.lower(): department_id
        for department_id, name in db.session.execute(select(Department.id, Department.name))
    }
    new_departments = [Department(name=name) for name in plan.new_departments]
    db.session.add_all(new_departments)
    db.session.flush()
    department_ids.update({d.name.lower(): d.id for d in new_departments})

    update_ids = [row.user_id for row in plan.rows if row.action is Action.UPDATE]
    stored: dict[int, User] = {}
    for ids in _chunks(update_ids, 1000):
        stored.update(
            (user.id, user) for user in db.session.scalars(select(User).where(User.id.in_(ids)))
        )

    created: dict[int, User] = {}
    reactivated: list[User] = []
    waiting_for_manager: list[tuple[User, int]] = []
    deactivated = 0
    done = 0
    for chunk in _chunks(plan.rows, WRITE_CHUNK):
        for row in chunk:
            if row.action is Action.UNCHANGED:
                continue
            if row.action is Action.CREATE:
                user = User(email=row.email, name=row.name, session_token=new_session_token())
                fields = {name: row.values.get(name, _DEFAULTS.get(name)) for name in FIELD_LABELS}
                db.session.add(user)
                created[row.line] = user
            else:
                user = stored[row.user_id]  # type: ignore[index]
                fields = {change.field: row.values[change.field] for change in row.changes}
                user.updated_at = utcnow()  # also when only the roles change
                if fields.get("active") is False:
                    deactivated += 1
                    user.session_token = new_session_token()  # signs them out everywhere
                elif fields.get("active") is True:
                    reactivated.append(user)
            if "manager" in fields:
                manager = fields.pop("manager")
                if manager is None:
                    user.manager_id = None
                elif manager[0] == "line":
                    waiting_for_manager.append((user, manager[1]))
                else:
                    user.manager_id = manager[1]
            _assign(user, fields, department_ids)
        db.session.flush()
        done += len(chunk)
        progress(done)

    # New people's ids exist only now, so managers from the same file are linked last.
    for user, line in waiting_for_manager:
        user.manager_id = created[line].id
    db.session.flush()
    # their default referral links, in this transaction (the active ones only)
    announce_activated([*created.values(), *reactivated])
    return ImportResult(
        created=plan.to_create,
        updated=plan.to_update,
        unchanged=plan.unchanged,
        deactivated=deactivated,
        departments_created=tuple(plan.new_departments),
    )


def _assign(user: User, fields: dict[str, Any], department_ids: dict[str, int]) -> None:
    for name, value in fields.items():
        if name == "department":
            user.department_id = department_ids[value.lower()] if value else None
        elif name == "birthday":
            user.birth_month, user.birth_day = value if value else (None, None)
        elif name == "language":
            user.locale = value
        elif name == "roles":
            user.set_roles(set(value))
        elif name == "location":
            user.location = value or ""
        else:
            setattr(user, name, value)
