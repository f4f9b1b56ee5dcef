"""Planning a people import: the file's rows parsed, checked and matched, nothing written.

``plan_import`` reads the header and parses each row once into a compact record (cells whose
values repeat, such as departments or dates, are parsed once per distinct text); it then
matches the rows to the people stored (employee number first, else e-mail), resolves their
managers, refuses reporting loops and roles the importer may not grant, and says what each
valid row would do (``ImportPlan``, ``PlannedRow``) or why a row cannot be imported
(``RowError``), and warns of what a valid row does that the importer should know first
(``RowWarning``: the only active administrator given a leaving date). The directory is read
only for the people the file names (a thousand at a time) plus who reports to whom; what a dry
run would show is formatted only for the rows shown.
"""

from __future__ import annotations

import csv
import enum
import itertools
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any, TypeVar

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Integer,
    Select,
    String,
    cast,
    func,
    select,
    union_all,
)

from perks.db import PROBE_LIMIT, among, joined_keys, keys_parameter, probing, take_turns
from perks.extensions import db
from perks.folding import fold, name_key
from perks.i18n import (
    EARLIEST_DAY,
    LATEST_DAY,
    company_today,
    format_day,
    format_number,
    language_name,
)
from perks.people.import_files import NotText, read_lines, sniff_delimiter
from perks.people.models import Department, EmploymentType, Role, User, UserRole, normalise_email
from perks.people.services import (
    PRIVILEGED_PERSON_MESSAGE,
    REPORTING_LINES,
    assignable_roles,
    may_manage,
)
from perks.text import trim

#: more rows than this is refused as a whole: split the file
MAX_IMPORT_ROWS = 100_000
#: rows checked between two calls of ``checked`` (the dry run's progress)
CHECK_CHUNK = 1000

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
    "leaving_date",
)
REQUIRED_COLUMNS = ("email", "name")
_HEADER_ALIASES = {
    "e_mail": "email",
    "manager_e_mail": "manager_email",
    "locale": "language",
    # the names HR systems and spreadsheets commonly give the same columns
    "email_address": "email",
    "work_email": "email",
    "full_name": "name",
    "employee_id": "employee_number",
    "employee_no": "employee_number",
    "start_date": "hire_date",
    "date_of_birth": "birthday",
    "manager_email_address": "manager_email",
}
#: the Vietnamese names a column may have in a file exported from an HR system or typed in
#: Excel (the first is the one the upload page shows); read with or without accents
VIETNAMESE_HEADERS: dict[str, tuple[str, ...]] = {
    "employee_number": ("Mã nhân viên", "Mã NV", "Mã số nhân viên"),
    "email": ("Email", "Thư điện tử", "Địa chỉ email"),
    "name": ("Họ và tên", "Họ tên", "Tên đầy đủ"),
    "department": ("Phòng ban", "Bộ phận"),
    "location": ("Nơi làm việc", "Địa điểm làm việc"),
    "employment_type": ("Loại hình làm việc", "Hình thức làm việc", "Loại nhân sự"),
    "hire_date": ("Ngày vào làm", "Ngày bắt đầu làm việc"),
    "birthday": ("Sinh nhật", "Ngày sinh"),
    "manager_email": ("Email người quản lý", "Email quản lý"),
    "language": ("Ngôn ngữ",),
    "roles": ("Vai trò",),
    "active": ("Đang hoạt động", "Hoạt động"),
    "leaving_date": ("Ngày nghỉ việc",),
}

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

#: a day, with the midnight an HR system or a spreadsheet may write after it
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]00:00(?::00)?)?")
#: day first, with slashes, dashes or dots (as Vietnamese spreadsheets write it)
_DMY_DATE = re.compile(r"(\d{1,2})([/.-])(\d{1,2})\2(\d{4})")
#: how Excel writes a long number it took for a quantity ("1.23457E+11"): its digits are lost
_SCIENTIFIC_NUMBER = re.compile(r"\d+(?:[.,]\d+)?E\+\d+", re.IGNORECASE)
#: what Excel writes for a date cell formatted as a number: days since 1899-12-30
#: (20000 is 1954, 110000 is 2201)
_SPREADSHEET_SERIAL = re.compile(r"[2-9]\d{4}|10\d{4}|110000")
_DAY_MONTH = re.compile(r"(\d{1,2})/(\d{1,2})")
#: an ASCII dot-atom local part: what email_validator accepts without a second look
_PLAIN_LOCAL_PART = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
)

#: what a new person gets for a field the file leaves out or empty
DEFAULTS: dict[str, Any] = {
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
    "leaving_date": _l("Leaving date"),
}

T = TypeVar("T")

#: who a row's manager is: ("user", id) for someone stored, ("line", n) for a new person
#: on line n of the same file
PersonKey = tuple[str, int]


class _Absent:
    """A column the row does not set (left out of the file, or a cell that keeps)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()


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
class RowWarning:
    """What one valid line of the file will do that the importer should know first: the
    import may go ahead, as the edit page saves and then warns. ``code`` names the kind for
    the API's callers (``LAST_ADMINISTRATOR_LEAVING``)."""

    line: int
    code: str
    message: str


#: a row gives the only active administrator a leaving date: the leavers' task keeps them
#: active past it (``perks.commissions.leavers``) until someone else is made an administrator
LAST_ADMINISTRATOR_LEAVING = "last_administrator_leaving"


@dataclass(frozen=True)
class FieldChange:
    """One field of one person, as shown in the dry run (``before`` is empty for new people)."""

    field: str
    before: str
    after: str

    @property
    def label(self) -> str:
        return str(FIELD_LABELS[self.field])


class PlannedRow:
    """A valid row and what importing it will do. ``values`` (the parsed values, by field
    name, only those the row sets) and ``changes`` (formatted for the dry run) are made when
    asked for: a plan of a hundred thousand rows keeps only compact records."""

    __slots__ = ("_display", "action", "diff", "line", "parsed", "user_id")

    def __init__(
        self,
        row: _Row,
        action: Action,
        user_id: int | None,
        diff: tuple[tuple[str, Any, Any], ...],
        display: _Display,
    ) -> None:
        self.line = row.line
        self.action = action
        #: the stored person it updates; None for a new person
        self.user_id = user_id
        #: the row as parsed from the file
        self.parsed = row
        #: (field, stored value, new value) of each field an update changes
        self.diff = diff
        self._display = display

    @property
    def email(self) -> str:
        return self.parsed.email

    @property
    def name(self) -> str:
        return self.parsed.name

    @property
    def values(self) -> dict[str, Any]:
        values = self.parsed.values()
        if "manager_email" in values:
            del values["manager_email"]
            values["manager"] = self.parsed.manager
        return values

    @property
    def changes(self) -> tuple[FieldChange, ...]:
        show = self._display.show
        if self.action is Action.CREATE:
            values = self.values
            return tuple(
                FieldChange(name, "", show(name, value))
                for name in FIELD_LABELS
                # The e-mail and name are shown beside the changes, not among them.
                if name not in ("email", "name")
                and (value := values.get(name, DEFAULTS.get(name))) not in (None, "", frozenset())
            )
        return tuple(
            FieldChange(name, show(name, before), show(name, after))
            for name, before, after in self.diff
        )

    def __repr__(self) -> str:
        return f"<PlannedRow {self.line} {self.action.value} {self.email}>"


@dataclass
class ImportPlan:
    """The dry run: every valid row with its action, and every bad row with its reason."""

    rows: list[PlannedRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    #: what valid rows will do that the importer should know (they do not stop the import)
    warnings: list[RowWarning] = field(default_factory=list)
    #: departments the file names that do not exist yet, spelled as in the file
    new_departments: list[str] = field(default_factory=list)
    #: the id of each department that exists, by the ``name_key`` of its name (any case,
    #: composed or not, as the departments page compares them), as read when planning (the
    #: writer, in the same transaction, does not read them again)
    department_ids: dict[str, int] = field(default_factory=dict)
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


def plan_import(
    text: str | Iterable[str],
    *,
    actor: User | None,
    checked: Callable[[int], None] | None = None,
) -> ImportPlan:
    """The dry run: parse and check every row against the file and the directory.

    ``text`` is the file's text, or its pieces in order. ``actor`` is who would import the
    file: HR may not grant or remove the finance or administrator roles; ``None`` (the
    command line) may grant any role. ``checked`` is called with the number of rows read so
    far, every ``CHECK_CHUNK`` rows. Writes nothing.
    """
    return _plan(_read_table(text, checked), actor)


def plan_rows(
    columns: Sequence[str], rows: Iterable[Sequence[str]], *, actor: User | None
) -> ImportPlan:
    """``plan_import`` of a table already split into cells (the API's records): ``columns``
    is the header, each of ``rows`` one row's cells, as the CSV reader would give them. The
    same checks and messages; each row is numbered as the line of the file it would make
    (the header is line 1, the first row line 2). Writes nothing."""
    return _plan(_cells_table(columns, rows), actor)


def _plan(table: _Table, actor: User | None) -> ImportPlan:
    plan = ImportPlan(
        errors=list(table.errors),
        ignored_columns=table.ignored_columns,
        total_rows=table.row_count,
    )
    if table.errors:
        return plan
    _Planner(table, actor=actor, plan=plan).run()
    plan.errors.sort(key=lambda error: error.line)  # stable: a row's reasons keep their order
    return plan


class _Row:
    """One row of the file, parsed: a field the row does not set is ``ABSENT``."""

    __slots__ = (
        "active",
        "birthday",
        "department",
        "email",
        "employee_number",
        "employment_type",
        "errors",
        "hire_date",
        "language",
        "leaving_date",
        "line",
        "location",
        "manager",
        "manager_email",
        "name",
        "roles",
        "target",
    )

    def __init__(self, line: int) -> None:
        self.line = line
        self.email = ""
        self.name = ""
        self.employee_number: Any = ABSENT
        self.department: Any = ABSENT
        self.location: Any = ABSENT
        self.employment_type: Any = ABSENT
        self.hire_date: Any = ABSENT
        self.birthday: Any = ABSENT
        self.manager_email: Any = ABSENT
        self.language: Any = ABSENT
        self.roles: Any = ABSENT
        self.active: Any = ABSENT
        self.leaving_date: Any = ABSENT
        self.errors: list[str] | None = None
        self.target: _Stored | None = None
        self.manager: PersonKey | None = None

    def error(self, message: str) -> None:
        if self.errors is None:
            self.errors = []
        self.errors.append(message)

    @property
    def key(self) -> PersonKey:
        return ("user", self.target.id) if self.target else ("line", self.line)

    def get(self, name: str, default: Any = None) -> Any:
        value = getattr(self, name)
        return default if value is ABSENT else value

    def values(self) -> dict[str, Any]:
        """The parsed values the row sets, by field name (``manager_email`` included)."""
        values: dict[str, Any] = {"email": self.email, "name": self.name}
        for name in _ROW_FIELDS:
            value = getattr(self, name)
            if value is not ABSENT:
                values[name] = value
        return values


_ROW_FIELDS = (
    "employee_number",
    "department",
    "location",
    "employment_type",
    "hire_date",
    "birthday",
    "manager_email",
    "language",
    "roles",
    "active",
    "leaving_date",
)


@dataclass
class _Table:
    columns: list[str | None] = field(default_factory=list)
    rows: list[_Row] = field(default_factory=list)
    row_count: int = 0
    errors: list[RowError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    #: cells a row must have: a trailing delimiter on the header adds no required cell
    needed_cells: int = 0
    #: the API's records, not a file: messages name a row by its record's index (its line
    #: minus 2), never a line or the file
    records: bool = False


def _header_key(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", fold(unicodedata.normalize("NFC", name).strip()))


_VIETNAMESE_ALIASES = {
    _header_key(vietnamese): column
    for column, names in VIETNAMESE_HEADERS.items()
    for vietnamese in names
}


def _normalise_header(name: str) -> str:
    name = unicodedata.normalize("NFC", name).strip().lower()
    name = re.sub(r"[\s\-]+", "_", name)
    if name in COLUMNS:
        return name
    return _HEADER_ALIASES.get(name) or _VIETNAMESE_ALIASES.get(_header_key(name), name)


def _with_vietnamese(column: str) -> str:
    """``name (Họ và tên)``: a column as a message names it, with its Vietnamese name."""
    vietnamese = VIETNAMESE_HEADERS[column][0]
    return column if vietnamese.lower() == column else f"{column} ({vietnamese})"


def _read_header(table: _Table, header: list[str]) -> None:
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
                    columns=", ".join(_with_vietnamese(c) for c in REQUIRED_COLUMNS),
                    missing=", ".join(_with_vietnamese(c) for c in missing),
                ),
            )
        )
        if not seen and sum(1 for raw in header if raw.strip()) == 1 and not table.records:
            # a report's title ("DANH SÁCH NHÂN VIÊN") above the column names
            table.errors.append(
                RowError(
                    1,
                    _(
                        "The first line looks like a title: delete the lines above the "
                        "column names and upload the file again."
                    ),
                )
            )


def _read_table(text: str | Iterable[str], checked: Callable[[int], None] | None = None) -> _Table:
    """Read the header, then parse each row as it is read (neither the cells nor, for a
    stored upload, the whole text are kept)."""
    table = _Table()
    lines = read_lines(text)
    try:
        leading: list[str] = []
        for line in lines:
            leading.append(line)
            if line.strip():
                break
        else:
            table.errors.append(RowError(1, _("The file is empty.")))
            return table
        return _read_rows(table, itertools.chain(leading, lines), leading[-1], checked)
    except NotText:
        table.rows.clear()
        table.errors[:] = [RowError(1, _("This is not a CSV file."))]
        return table


def _cells_table(columns: Sequence[str], rows: Iterable[Sequence[str]]) -> _Table:
    """The table of rows already split into cells, read as ``_read_rows`` reads a file's."""
    table = _Table(records=True)
    _read_header(table, list(columns))
    if table.errors:
        return table
    parse = _RowParser(table).parse
    for line, cells in enumerate(rows, start=2):
        joined = "".join(cells)
        if "\x00" in joined:
            table.rows.clear()
            message = _("Record %(index)d holds a NUL character.", index=line - 2)
            table.errors[:] = [RowError(line, message)]
            return table
        if not joined.strip():
            continue
        if table.row_count >= MAX_IMPORT_ROWS:
            return _too_many(table)
        table.rows.append(parse(line, list(cells)))
        table.row_count += 1
    if not table.rows:
        table.errors.append(RowError(1, _("The file has a header but no people.")))
    return table


def _too_many(table: _Table) -> _Table:
    """The table refused whole: more people than one import takes."""
    table.rows.clear()
    table.errors.append(
        RowError(
            1,
            _(
                "The file has more than %(max)s people. Split it into smaller files.",
                max=format_number(MAX_IMPORT_ROWS),
            ),
        )
    )
    return table


def _read_rows(
    table: _Table,
    lines: Iterator[str],
    first: str,
    checked: Callable[[int], None] | None,
) -> _Table:
    reader = csv.reader(lines, delimiter=sniff_delimiter(first))
    parse: Callable[[int, list[str]], _Row] | None = None
    start = 1
    try:
        while True:
            start = reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                break
            if not "".join(cells).strip():
                continue
            if parse is None:
                _read_header(table, cells)
                if table.errors:
                    return table
                parse = _RowParser(table).parse
                continue
            if table.row_count >= MAX_IMPORT_ROWS:
                return _too_many(table)
            table.rows.append(parse(start, cells))
            table.row_count += 1
            if checked is not None and table.row_count % CHECK_CHUNK == 0:
                checked(table.row_count)
    except csv.Error:
        # The reader (not strict, its lines split already) refuses only a cell longer than
        # its field limit: a quote mark opened and never closed, the rest of the file read
        # as that cell. Its own words are English; the line is where the row starts.
        table.rows.clear()
        table.errors.append(
            RowError(
                start,
                _(
                    'A cell on this line never ends: it opens with a quote mark (") that is '
                    "not closed, so the rest of the file reads as one cell. Close or remove the "
                    "quote mark, save the file and upload it again."
                ),
            )
        )
        return table
    if parse is None:
        table.errors.append(RowError(1, _("The file is empty.")))
    elif not table.rows:
        table.errors.append(RowError(1, _("The file has a header but no people.")))
    return table


@lru_cache(maxsize=4096)
def _valid_domain(domain: str) -> bool:
    return _valid_email_slowly("a@" + domain)


def _valid_email_slowly(email: str) -> bool:
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def _valid_email(email: str) -> bool:
    """email_validator's verdict. An address with a plain ASCII local part is judged by its
    domain, checked once per file (the slow part), instead of one full check per row."""
    local, at, domain = email.rpartition("@")
    if (
        at
        and len(local) <= 64
        and len(email) <= 254
        and "@" not in local
        and _PLAIN_LOCAL_PART.fullmatch(local)
    ):
        return _valid_domain(domain)
    return _valid_email_slowly(email)


class _RowParser:
    """Turns one row's cells into a ``_Row`` with its own problems.

    The cells of the columns whose values repeat from row to row (department, location,
    employment type, dates, manager, language, roles, active) are parsed once per distinct
    text: a file of a hundred thousand people has a few hundred of each.
    """

    def __init__(self, table: _Table) -> None:
        self.needed = table.needed_cells
        self.width = len(table.columns)
        index = {name: i for i, name in enumerate(table.columns) if name}
        self.at_email = index["email"]
        self.at_name = index["name"]
        self.at_number = index.get("employee_number")
        #: (column position, row attribute, parse function, cache) of the repeating columns
        self.repeating: list[tuple[int, str, Callable[[str], Parsed], dict[str, Parsed]]] = [
            (index[name], name, parse, {})
            for name, parse in (
                ("department", _parse_department),
                ("location", _parse_location),
                ("employment_type", _parse_employment_type),
                ("hire_date", _parse_hire_date),
                ("birthday", _parse_birthday_cell),
                ("manager_email", _parse_manager_email),
                ("language", _parse_language),
                ("roles", _parse_roles),
                ("active", _parse_active),
                ("leaving_date", _parse_leaving_date),
            )
            if name in index
        ]

    def parse(self, line: int, cells: list[str]) -> _Row:
        row = _Row(line)
        count = len(cells)
        if count < self.needed or (
            count > self.width and any(cell.strip() for cell in cells[self.width :])
        ):
            row.error(
                _(
                    "This row has %(found)s values but the header has %(expected)s columns.",
                    found=format_number(count),
                    expected=format_number(self.width),
                )
            )
            return row
        email_cell = _clean(cells[self.at_email]) if self.at_email < count else ""
        name_cell = _clean(cells[self.at_name]) if self.at_name < count else ""
        number = ""
        if self.at_number is not None and self.at_number < count:
            number = _clean(cells[self.at_number])
        too_long: list[str] = []
        if len(email_cell) > 254:
            too_long.append(_too_long("email"))
            email_cell = email_cell[:254]
        if len(name_cell) > 120:
            too_long.append(_too_long("name"))
            name_cell = name_cell[:120]
        if len(number) > 32:
            too_long.append(_too_long("employee_number"))
            number = number[:32]
        problems: list[str] = []
        for at, name, parse_cell, cache in self.repeating:
            cell = cells[at] if at < count else None
            if cell is None:
                continue
            parsed = cache.get(cell)
            if parsed is None:
                parsed = cache[cell] = parse_cell(cell)
            value, length_problem, problem = parsed
            setattr(row, name, value)
            if length_problem:
                too_long.append(length_problem)
            if problem:
                problems.append(problem)
        email = normalise_email(email_cell)
        row.email = email
        first: list[str] = []
        if not email:
            first.append(_("The e-mail is missing."))
        elif not _valid_email(email):
            first.append(_("“%(email)s” is not a valid e-mail address.", email=email))
        row.name = " ".join(name_cell.split())
        if not row.name:
            first.append(_("The name is missing."))
        if number:
            row.employee_number = number
            if _SCIENTIFIC_NUMBER.fullmatch(number):
                problems.append(
                    _(
                        "The employee number “%(value)s” is how Excel shows a long number, not "
                        "the number itself: format the column as text in Excel, type the "
                        "numbers again, save the file and upload it.",
                        value=number,
                    )
                )
        leaving, hired = row.leaving_date, row.hire_date
        if isinstance(leaving, date) and isinstance(hired, date) and leaving <= hired:
            problems.append(_("The leaving date must come after the hire date."))
        if too_long or first or problems:
            row.errors = too_long + first + problems
        return row


def _clean(cell: str) -> str:
    """A cell's text in NFC, without the spaces and invisible format characters around it
    (``perks.text.trim``, as the person form reads what is typed): a name made only of
    zero-width spaces is missing, a department pasted with one is the department."""
    return cell.strip() if cell.isascii() else trim(unicodedata.normalize("NFC", cell))


def _too_long(name: str) -> str:
    return _(
        "%(field)s is longer than %(max)s characters.",
        field=FIELD_LABELS[name],
        max=format_number(_MAX_LENGTHS[name]),
    )


#: what a repeating cell means: (value, problem with its length, other problem)
Parsed = tuple[Any, str | None, str | None]


def _parse_department(cell: str) -> Parsed:
    raw, long = _clean(cell), None
    if len(raw) > _MAX_LENGTHS["department"]:
        raw, long = raw[: _MAX_LENGTHS["department"]], _too_long("department")
    return " ".join(raw.split()) or None, long, None


def _parse_location(cell: str) -> Parsed:
    raw, long = _clean(cell), None
    if len(raw) > _MAX_LENGTHS["location"]:
        raw, long = raw[: _MAX_LENGTHS["location"]], _too_long("location")
    return raw, long, None


def _parse_employment_type(cell: str) -> Parsed:
    raw = _clean(cell)
    if not raw:
        return ABSENT, None, None
    kind = _EMPLOYMENT_TYPES.get(_casefold(raw))
    if kind is None:
        return (
            None,
            None,
            _(
                "Unknown employment type “%(value)s”: use staff, contractor, partner or supplier.",
                value=raw,
            ),
        )
    return kind, None, None


def _day_cell(cell: str, read: Callable[[str], Any], refusal: Callable[[str], str]) -> Parsed:
    """A cell that holds a day, or nothing: ``read`` gives its value (None when it cannot),
    ``refusal`` says why not."""
    raw = _clean(cell)
    if not raw:
        return None, None, None
    value = read(raw)
    if value is None:
        if _SPREADSHEET_SERIAL.fullmatch(raw):
            return None, None, _spreadsheet_serial_refusal(refusal(raw))
        return None, None, refusal(raw)
    return value, None, None


def _spreadsheet_serial_refusal(refusal: str) -> str:
    return _(
        "%(refusal)s It looks like a date Excel kept as a number: in Excel, format the "
        "column as a date (DD/MM/YYYY), save the file again and upload it.",
        refusal=refusal,
    )


def _parse_hire_date(cell: str) -> Parsed:
    return _day_cell(
        cell,
        _parse_date,
        lambda raw: _(
            "The hire date “%(value)s” is not a date: use YYYY-MM-DD or DD/MM/YYYY.", value=raw
        ),
    )


def _parse_leaving_date(cell: str) -> Parsed:
    return _day_cell(
        cell,
        _parse_date,
        lambda raw: _(
            "The leaving date “%(value)s” is not a date: use YYYY-MM-DD or DD/MM/YYYY.",
            value=raw,
        ),
    )


def _parse_birthday_cell(cell: str) -> Parsed:
    return _day_cell(
        cell,
        _parse_birthday,
        lambda raw: _(
            "The birthday “%(value)s” is not a real day: use DD/MM or YYYY-MM-DD.", value=raw
        ),
    )


def _parse_manager_email(cell: str) -> Parsed:
    return normalise_email(_clean(cell)) or None, None, None


def _parse_language(cell: str) -> Parsed:
    raw = _clean(cell)
    if not raw:
        return ABSENT, None, None
    language = _LANGUAGES.get(_casefold(raw))
    if language is None:
        return None, None, _("Unknown language “%(value)s”: use vi or en.", value=raw)
    return language, None, None


def _parse_roles(cell: str) -> Parsed:
    raw = _clean(cell)
    names = [_casefold(n) for n in _ROLE_SEPARATORS.split(raw) if n.strip()] if raw else []
    if not names:
        return ABSENT, None, None
    unknown = [n for n in names if n not in _ROLE_VALUES]
    roles = frozenset(Role(n) for n in names if n not in unknown)
    if unknown:
        return (
            roles,
            None,
            _(
                "Unknown role “%(role)s”: use %(roles)s.",
                role=", ".join(unknown),
                roles=", ".join(r.value for r in Role),
            ),
        )
    return roles, None, None


def _parse_active(cell: str) -> Parsed:
    raw = _clean(cell)
    if not raw:
        return ABSENT, None, None
    flag = _casefold(raw)
    if flag not in _TRUE | _FALSE:
        return flag in _TRUE, None, _("Active must be yes or no, not “%(value)s”.", value=raw)
    return flag in _TRUE, None, None


@dataclass(frozen=True, slots=True)
class _Stored:
    """A person as stored, read in bulk (no ORM objects for a dry run)."""

    roles: frozenset[Role]
    # then ``_STORED_COLUMNS``, in their order
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
    leaving_date: date | None


_STORED_COLUMNS = (
    User.id,
    User.email,
    User.employee_number,
    User.name,
    User.department_id,
    User.location,
    # as stored: turned into an ``EmploymentType`` by a look-up, cheaper than the column type
    cast(User.employment_type, String),
    User.hire_date,
    User.birth_month,
    User.birth_day,
    User.manager_id,
    User.locale,
    User.active,
    User.leaving_date,
)


#: the stored people having one of the e-mails ``:emails`` or employee numbers ``:numbers``
#: (``joined_keys``), one index look-up each (PostgreSQL): built once, as each batch of the
#: API asks it
_PEOPLE_PROBE = union_all(
    probing(_STORED_COLUMNS, User.email, keys_parameter("emails", String())),
    probing(_STORED_COLUMNS, User.employee_number, keys_parameter("numbers", String())),
)
_ROLE_COLUMNS = (UserRole.user_id, cast(UserRole.role, String))
#: the roles of the people ``:keys``
_ROLES_PROBE = probing(_ROLE_COLUMNS, UserRole.user_id, keys_parameter("keys", Integer()))
_MANAGER_COLUMNS = (User.id, User.manager_id)
#: who the people ``:keys`` report to
_MANAGERS_PROBE = probing(_MANAGER_COLUMNS, User.id, keys_parameter("keys", Integer()))


def in_chunks(items: Sequence[T], size: int) -> Iterable[Sequence[T]]:
    """``items`` in slices of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _rows_among(
    probe: Select[Any], columns: Sequence[Any], column: Any, values: Sequence[Any]
) -> Iterator[Any]:
    """The rows of ``columns`` whose indexed ``column`` is one of ``values``: on PostgreSQL,
    up to ``PROBE_LIMIT`` values, by ``probe`` (``probing`` built once, its keys the parameter
    ``keys``: one index look-up each, so that a batch of the API costs the same whatever the
    size of the directory); more (a whole file), one ``= ANY(array)``; elsewhere ``IN``
    lists."""
    if values and len(values) <= PROBE_LIMIT and db.session.get_bind().dialect.name == "postgresql":
        yield from db.session.execute(probe, {"keys": joined_keys(values)})
        return
    for condition in among(column, values):
        yield from db.session.execute(select(*columns).where(condition))


def _load_people(emails: Iterable[str], numbers: Iterable[str]) -> dict[int, _Stored]:
    """The stored people having one of ``emails`` or ``numbers``, with their roles.

    Read as plain rows (no ORM objects); the numbers of the people found by e-mail are not
    asked for again (a file read back from the HR system names everyone both ways).
    """
    connection = db.session.connection()
    found: dict[int, list[Any]] = {}
    wanted_emails, wanted_numbers = sorted(set(emails)), sorted(set(numbers))
    if (
        len(wanted_emails) + len(wanted_numbers) <= PROBE_LIMIT
        and db.session.get_bind().dialect.name == "postgresql"
    ):
        # A batch: both look-ups in one statement (one round trip), one probe per key.
        keys = {"emails": joined_keys(wanted_emails), "numbers": joined_keys(wanted_numbers)}
        for row in connection.execute(_PEOPLE_PROBE, keys).all():
            found[row[0]] = list(row)
    else:
        for condition in among(User.email, wanted_emails):
            for row in connection.execute(select(*_STORED_COLUMNS).where(condition)).all():
                found[row[0]] = list(row)
        known_numbers = {values[2] for values in found.values()}
        numbers_left = sorted(set(wanted_numbers) - known_numbers)
        for condition in among(User.employee_number, numbers_left):
            for row in connection.execute(select(*_STORED_COLUMNS).where(condition)).all():
                found[row[0]] = list(row)
    roles: dict[int, list[str]] = defaultdict(list)
    for user_id, role in _rows_among(_ROLES_PROBE, _ROLE_COLUMNS, UserRole.user_id, sorted(found)):
        roles[user_id].append(role)
    # A few sets of roles for everyone: one frozenset each.
    role_sets: dict[tuple[str, ...], frozenset[Role]] = {}
    employment_types = {kind.value: kind for kind in EmploymentType}
    people: dict[int, _Stored] = {}
    for user_id, values in found.items():
        key = tuple(sorted(roles.get(user_id, ())))
        role_set = role_sets.get(key)
        if role_set is None:
            role_set = role_sets[key] = frozenset(Role(value) for value in key)
        values[6] = employment_types[values[6]]
        people[user_id] = _Stored(role_set, *values)
    return people


class _Display:
    """Formats values for the dry run (only the rows shown are ever formatted)."""

    def __init__(
        self,
        people: dict[int, _Stored],
        department_names: dict[int, str],
        rows_by_line: dict[int, _Row],
    ) -> None:
        self.people = people
        self.department_names = department_names
        self.rows_by_line = rows_by_line
        self._emails: dict[int, str] = {}

    def email_of_user(self, user_id: int) -> str:
        if user_id in self.people:
            return self.people[user_id].email
        if user_id not in self._emails:
            self._emails[user_id] = (
                db.session.scalar(select(User.email).where(User.id == user_id)) or ""
            )
        return self._emails[user_id]

    def email_of(self, key: PersonKey) -> str:
        kind, ident = key
        if kind == "user":
            return self.email_of_user(ident)
        row = self.rows_by_line.get(ident)
        return row.email if row is not None else ""

    def show(self, name: str, value: Any) -> str:
        if value is None:
            return ""
        if name == "manager":
            return self.email_of(value)
        if name == "birthday":
            month, day = value
            return f"{day:02d}/{month:02d}"
        if name in ("hire_date", "leaving_date"):
            return format_day(value, "short")  # day first, as the birthday and the pages
        if name == "employment_type":
            return value.label
        if name == "roles":
            return ", ".join(role.label for role in sorted(value))
        if name == "active":
            return _("yes") if value else _("no")
        if name == "language":
            return language_name(value)
        return str(value)


#: the roles that open the people pages (and this import): nobody takes them from themselves
PEOPLE_ROLES = frozenset({Role.HR, Role.ADMIN})


class _Planner:
    """Checks the rows of one file against each other and against the directory.

    Reads the people the file names (by e-mail and employee number) and who reports to whom,
    a few queries whatever the size of the directory; writes nothing.
    """

    def __init__(self, table: _Table, *, actor: User | None, plan: ImportPlan) -> None:
        self.table = table
        self.actor = actor
        self.plan = plan
        rows = table.rows
        emails = [row.email for row in rows if row.email]
        emails += [row.manager_email for row in rows if row.manager_email not in (ABSENT, None)]
        numbers = [row.employee_number for row in rows if row.employee_number is not ABSENT]
        self.people = _load_people(emails, numbers)
        self.by_email = {p.email: p for p in self.people.values()}
        self.by_number = {p.employee_number: p for p in self.people.values() if p.employee_number}
        self.departments = {
            name_key(name): (department_id, name)
            for department_id, name in db.session.execute(select(Department.id, Department.name))
        }
        self.department_names = dict(self.departments.values())
        self.allowed_roles = assignable_roles(actor) if actor is not None else frozenset(Role)
        self.display = _Display(self.people, self.department_names, {r.line: r for r in rows})

    def run(self) -> None:
        rows = self.table.rows
        self._match(rows)
        self._resolve_managers(rows)
        self._find_reporting_loops(rows)
        today = company_today()
        for row in rows:
            self._check_permissions(row)
            self._check_dates_against_stored(row)
            self._refuse_reactivating_a_leaver(row, today)
        self._keep_an_administrator(rows)
        self._keep_the_importers_people_pages(rows)
        errors = self.plan.errors
        planned_rows = self.plan.rows
        for row in rows:
            planned = None if row.errors else self._planned(row)
            changes_privileged_person = (
                planned is not None
                and planned.action is Action.UPDATE
                and row.target is not None
                and not may_manage(self.actor, row.target.roles)
            )
            if changes_privileged_person:
                row.error(str(PRIVILEGED_PERSON_MESSAGE))
            if row.errors:
                errors.extend(RowError(row.line, message) for message in row.errors)
            else:
                assert planned is not None  # every row without errors is planned
                planned_rows.append(planned)
        self._warn_of_a_leaving_last_administrator(rows)
        self.plan.new_departments = self._new_departments(rows)
        self.plan.department_ids = {
            key: department_id for key, (department_id, _name) in self.departments.items()
        }

    # Rows against each other and the directory -----------------------------------------------

    def _match(self, rows: list[_Row]) -> None:
        first_email: dict[str, int] = {}
        first_number: dict[str, int] = {}
        first_target: dict[int, int] = {}
        for row in rows:
            email = row.email
            number = row.employee_number if row.employee_number is not ABSENT else None
            if email:
                if email in first_email:
                    row.error(
                        _(
                            "The e-mail %(email)s is already in record %(index)d.",
                            email=email,
                            index=first_email[email] - 2,
                        )
                        if self.table.records
                        else _(
                            "The e-mail %(email)s is already on line %(line)d.",
                            email=email,
                            line=first_email[email],
                        )
                    )
                    continue
                first_email[email] = row.line
            if number:
                if number in first_number:
                    row.error(
                        _(
                            "The employee number %(number)s is already in record %(index)d.",
                            number=number,
                            index=first_number[number] - 2,
                        )
                        if self.table.records
                        else _(
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
                        row.error(
                            _(
                                "%(email)s belongs to the person with employee number %(number)s.",
                                email=email,
                                number=owner.employee_number,
                            )
                        )
                        continue
                    row.target = owner
                elif owner is not None and owner.id != row.target.id:
                    row.error(
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
                    row.error(
                        _(
                            "This is the same person as in record %(index)d.",
                            index=first_target[row.target.id] - 2,
                        )
                        if self.table.records
                        else _(
                            "This is the same person as on line %(line)d.",
                            line=first_target[row.target.id],
                        )
                    )
                    continue
                first_target[row.target.id] = row.line

    def _resolve_managers(self, rows: list[_Row]) -> None:
        in_file: dict[str, _Row] = {}
        for row in rows:
            if row.email:
                in_file.setdefault(row.email, row)
        for row in rows:
            if row.manager_email is ABSENT:
                if row.target is not None and row.target.manager_id is not None:
                    row.manager = ("user", row.target.manager_id)
                continue
            email = row.manager_email
            if email is None:
                continue
            if email in in_file:
                row.manager = in_file[email].key
            elif email in self.by_email:
                row.manager = ("user", self.by_email[email].id)
            else:
                row.error(
                    _(
                        "The manager %(email)s is neither in this batch nor in the directory.",
                        email=email,
                    )
                    if self.table.records
                    else _(
                        "The manager %(email)s is neither in this file nor in the directory.",
                        email=email,
                    )
                )

    def _find_reporting_loops(self, rows: list[_Row]) -> None:
        by_key: dict[PersonKey, _Row] = {row.key: row for row in rows if row.email}
        manager_of: dict[PersonKey, PersonKey | None] = {
            key: row.manager for key, row in by_key.items()
        }
        if any(manager_of.values()):
            # as a save on the people pages (``check_manager``): until this import ends, no
            # other change of reporting lines can make a loop with its own
            take_turns(REPORTING_LINES)
        manager_of.update(self._chains_above(manager_of))
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
                    by_key[key].error(_("A person cannot be their own manager."))
                else:
                    # Show the loop starting from this row's person.
                    at = loop.index(key)
                    chain = [*loop[at:], *loop[:at], key]
                    by_key[key].error(
                        _(
                            "This would make a reporting loop: %(chain)s.",
                            chain=" → ".join(
                                (by_key[k].email if k in by_key else self.display.email_of(k))
                                or "?"
                                for k in chain
                            ),
                        )
                    )

    @staticmethod
    def _chains_above(manager_of: dict[PersonKey, PersonKey | None]) -> dict[PersonKey, PersonKey]:
        """Who the directory says each manager named in ``manager_of`` reports to, and so on up
        to the top: one query per level of the hierarchy, reading only the people above the
        file's rows (a batch of the API reads a few hundred, not the whole directory). A loop
        needs a row of the file (the directory has none), so nothing else can be in one."""
        found: dict[PersonKey, PersonKey] = {}
        frontier = {m[1] for m in manager_of.values() if m is not None and m[0] == "user"}
        seen: set[int] = set()
        while frontier := {
            user_id for user_id in frontier - seen if ("user", user_id) not in manager_of
        }:
            seen |= frontier
            ids = sorted(frontier)
            frontier = set()
            for user_id, manager_id in _rows_among(_MANAGERS_PROBE, _MANAGER_COLUMNS, User.id, ids):
                if manager_id is not None:
                    found[("user", user_id)] = ("user", manager_id)
                    frontier.add(manager_id)
        return found

    def _check_permissions(self, row: _Row) -> None:
        if row.errors:
            return
        current = row.target.roles if row.target else frozenset()
        wanted = row.get("roles", current if row.target else DEFAULTS["roles"])
        refused = (wanted ^ current) - self.allowed_roles
        if refused:
            row.error(
                _(
                    "Only an administrator can grant or remove these roles: %(roles)s.",
                    roles=", ".join(sorted(r.value for r in refused)),
                )
            )
        if (
            self.actor is not None
            and row.target is not None
            and row.target.id == self.actor.id
            and row.active is False
        ):
            row.error(_("You cannot deactivate yourself."))

    def _keep_the_importers_people_pages(self, rows: list[_Row]) -> None:
        """Refuses the row that takes from the importer the last role that opens the people
        pages (HR or admin), as the edit page does (``services._apply_roles``). After
        ``_keep_an_administrator``: the last administrator hears that reason first."""
        if self.actor is None:
            return
        for row in rows:
            stored = row.target
            if row.errors or stored is None or stored.id != self.actor.id:
                continue
            if stored.roles & PEOPLE_ROLES and not row.get("roles", stored.roles) & PEOPLE_ROLES:
                row.error(
                    _(
                        "You would lose the people pages: ask another HR person or an "
                        "administrator to change your roles."
                    )
                )

    def _keep_an_administrator(self, rows: list[_Row]) -> None:
        """Refuses the rows that would leave the company without an active administrator
        (nobody could then reach the admin pages or grant the role again), as the edit page
        does: each row that takes the role, or the person, away from the last ones."""
        losing: list[_Row] = []
        gaining = 0
        for row in rows:
            if row.errors:
                continue
            stored = row.target
            was_admin = stored is not None and stored.active and Role.ADMIN in stored.roles
            roles = row.get("roles", stored.roles if stored else DEFAULTS["roles"])
            active = row.get("active", stored.active if stored else DEFAULTS["active"])
            will_be_admin = bool(active) and Role.ADMIN in roles
            if was_admin and not will_be_admin:
                losing.append(row)
            elif will_be_admin and not was_admin:
                gaining += 1
        if not losing or gaining:
            return
        if _active_administrators() <= len(losing):
            for row in losing:
                row.error(
                    _(
                        "At least one active administrator must remain: make someone else an "
                        "administrator first."
                    )
                )

    def _warn_of_a_leaving_last_administrator(self, rows: list[_Row]) -> None:
        """Warns of the valid row that gives the person who will be the only active
        administrator once the file is imported a leaving date (a new one, or the role while
        they have one), as the edit page warns when it is saved there: the leavers' task keeps
        them active past that day until someone else is made an administrator. Counts the
        administrators only when some row does that."""
        leaving: list[_Row] = []
        change = 0  # active administrators the file adds, less those it takes away
        for row in rows:
            if row.errors:
                continue
            stored = row.target
            was_admin = stored is not None and stored.active and Role.ADMIN in stored.roles
            roles = row.get("roles", stored.roles if stored else DEFAULTS["roles"])
            active = row.get("active", stored.active if stored else DEFAULTS["active"])
            will_be_admin = bool(active) and Role.ADMIN in roles
            change += int(will_be_admin) - int(was_admin)
            if not will_be_admin:
                continue
            stored_leaving = stored.leaving_date if stored is not None else None
            leaving_date = row.get("leaving_date", stored_leaving)
            if leaving_date is not None and not (was_admin and leaving_date == stored_leaving):
                leaving.append(row)
        if not leaving or _active_administrators() + change != 1:
            return
        for row in leaving:  # one row: the only administrator left is theirs
            self.plan.warnings.append(
                RowWarning(
                    row.line,
                    LAST_ADMINISTRATOR_LEAVING,
                    _(
                        "%(name)s is the only active administrator: they stay active after "
                        "their leaving date until someone else is made an administrator.",
                        name=row.name,
                    ),
                )
            )

    def _check_dates_against_stored(self, row: _Row) -> None:
        """A row that sets a stored person's hire or leaving date, but not both, is checked
        against the other one as stored (a row that sets both was checked when it was read)."""
        stored = row.target
        if stored is None or (row.hire_date is ABSENT) == (row.leaving_date is ABSENT):
            return
        hired = stored.hire_date if row.hire_date is ABSENT else row.hire_date
        leaving = stored.leaving_date if row.leaving_date is ABSENT else row.leaving_date
        if isinstance(leaving, date) and isinstance(hired, date) and leaving <= hired:
            row.error(_("The leaving date must come after the hire date."))

    def _refuse_reactivating_a_leaver(self, row: _Row, today: date) -> None:
        """Refuses the row that makes a deactivated person active again while their leaving
        date (the row's, or the stored one) has come, as the people page does
        (``services.reactivate_person``): they would claim nothing and earn nothing, and the
        leavers' task, done with that date, would never deactivate them again."""
        stored = row.target
        if row.errors or stored is None or stored.active or row.active is not True:
            return
        leaving = stored.leaving_date if row.leaving_date is ABSENT else row.leaving_date
        if isinstance(leaving, date) and leaving <= today:
            row.error(
                _(
                    "%(name)s's leaving date, %(date)s, has come: clear it or move it to the "
                    "day they leave again before reactivating them.",
                    name=stored.name,
                    date=format_day(leaving),
                )
            )

    # What a valid row will do ----------------------------------------------------------------

    def _planned(self, row: _Row) -> PlannedRow:
        stored = row.target
        if stored is None:
            return PlannedRow(row, Action.CREATE, None, (), self.display)
        diff = tuple(self._differences(stored, row))
        return PlannedRow(
            row, Action.UPDATE if diff else Action.UNCHANGED, stored.id, diff, self.display
        )

    def _differences(self, stored: _Stored, row: _Row) -> Iterator[tuple[str, Any, Any]]:
        """(field, stored value, new value) for each field the row changes."""
        if row.employee_number is not ABSENT and row.employee_number != stored.employee_number:
            yield "employee_number", stored.employee_number, row.employee_number
        if row.email != stored.email:
            yield "email", stored.email, row.email
        if row.name != stored.name:
            yield "name", stored.name, row.name
        if row.department is not ABSENT:
            department = (
                self.department_names.get(stored.department_id)
                if stored.department_id is not None
                else None
            )
            if name_key(department or "") != name_key(row.department or ""):
                yield "department", department, row.department
        if row.location is not ABSENT and row.location != stored.location:
            yield "location", stored.location, row.location
        if row.employment_type is not ABSENT and row.employment_type != stored.employment_type:
            yield "employment_type", stored.employment_type, row.employment_type
        if row.hire_date is not ABSENT and row.hire_date != stored.hire_date:
            yield "hire_date", stored.hire_date, row.hire_date
        if row.birthday is not ABSENT:
            birthday = (stored.birth_month, stored.birth_day) if stored.birth_month else None
            if birthday != row.birthday:
                yield "birthday", birthday, row.birthday
        if row.manager_email is not ABSENT:
            manager = ("user", stored.manager_id) if stored.manager_id else None
            if manager != row.manager:
                yield "manager", manager, row.manager
        if row.language is not ABSENT and row.language != stored.locale:
            yield "language", stored.locale, row.language
        if row.roles is not ABSENT and row.roles != stored.roles:
            yield "roles", stored.roles, row.roles
        if row.active is not ABSENT and row.active != stored.active:
            yield "active", stored.active, row.active
        if row.leaving_date is not ABSENT and row.leaving_date != stored.leaving_date:
            yield "leaving_date", stored.leaving_date, row.leaving_date

    def _new_departments(self, rows: list[_Row]) -> list[str]:
        found: dict[str, str] = {}
        for row in rows:
            name = row.department
            if name and name is not ABSENT and name_key(name) not in self.departments:
                found.setdefault(name_key(name), name)
        return list(found.values())


def _active_administrators() -> int:
    """The active administrators stored now."""
    return (
        db.session.scalar(
            select(func.count())
            .select_from(UserRole)
            .join(User, User.id == UserRole.user_id)
            .where(UserRole.role == Role.ADMIN, User.active.is_(True))
        )
        or 0
    )


def _casefold(value: str) -> str:
    return " ".join(value.split()).casefold()


def _parse_date(value: str) -> date | None:
    if match := _ISO_DATE.fullmatch(value):
        year, month, day = (int(part) for part in match.groups())
    elif match := _DMY_DATE.fullmatch(value):
        day, month, year = (int(match.group(n)) for n in (1, 3, 4))
    else:
        return None
    try:
        day_read = date(year, month, day)
    except ValueError:
        return None
    # a day no form takes either (perks.i18n): its anniversary would overflow
    return day_read if EARLIEST_DAY <= day_read <= LATEST_DAY else None


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
