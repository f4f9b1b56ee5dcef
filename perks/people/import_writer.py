"""Writing a people import: a valid ``ImportPlan`` put into the directory, flushed only.

Departments the file names first, then the new people (their ids taken beforehand in one
query, so that managers from the same file are linked in the same pass, and written managers
first) and their roles, then the changed people, grouped by the columns they change, and
their roles. Rows go in without the ORM (``perks.db.insert_rows``, ``update_rows``): on
PostgreSQL the new people and their roles are one ``COPY`` each, and each group of changed
people is copied into a staging table and written by one ``UPDATE ... FROM``; elsewhere an
executemany per ``WRITE_CHUNK`` rows. The new and re-activated people are then announced
(``people_activated``: their default referral links) in the same transaction. Checking the
file is ``import_plan``'s job; the caller commits.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select, text

from perks.db import among, insert_rows, take_turns, update_rows, utcnow
from perks.extensions import db
from perks.folding import name_key
from perks.people.events import announce_activated_ids
from perks.people.import_plan import (
    ABSENT,
    DEFAULTS,
    Action,
    ImportPlan,
    PersonKey,
    PlannedRow,
    RowWarning,
    in_chunks,
)
from perks.people.models import (
    DEPARTMENT_NAMES_LOCK,
    Department,
    Role,
    User,
    UserRole,
    new_session_token,
    new_session_tokens,
)


class DepartmentAddedMeanwhile(Exception):
    """A department the file adds was added, under its name in some case, since the plan
    read the departments (as an ``IntegrityError``, the caller refuses the file to be sent
    again)."""


#: rows written per batch, and how often ``progress`` is called
WRITE_CHUNK = 500
#: the columns of a new person's row (``_Writer.new_person``), in order
NEW_PERSON_COLUMNS = (
    "id",
    "email",
    "name",
    "session_token",
    "created_at",
    "updated_at",
    "manager_id",
    "employee_number",
    "department_id",
    "location",
    "employment_type",
    "hire_date",
    "birth_month",
    "birth_day",
    "locale",
    "active",
    "leaving_date",
)
#: what an update writes besides the columns the file changes
_NOT_CHANGES = frozenset({"id", "updated_at", "session_token"})


@dataclass(frozen=True)
class ImportResult:
    """What an applied import did."""

    created: int
    updated: int
    unchanged: int
    deactivated: int
    departments_created: tuple[str, ...]
    #: (person, roles before, roles after) of each person whose roles the import set: changed
    #: on a stored person, other than the default on a new one (each is audited)
    #: (ids, not what was done: two imports of one file compare equal)
    role_changes: tuple[tuple[int, frozenset[Role], frozenset[Role]], ...] = field(
        default=(), compare=False
    )
    #: the plan's warnings (``ImportPlan.warnings``): what the caller should be told
    warnings: tuple[RowWarning, ...] = field(default=(), compare=False)
    #: (person, the ``User`` columns the import changed) of each stored person it changed
    #: (the roles aside): what ``perks.people.events.people_changed`` is told
    changed_columns: tuple[tuple[int, tuple[str, ...]], ...] = field(default=(), compare=False)
    #: (person, their address before) of each stored person whose e-mail address it changed:
    #: the old address is told (``perks.people.notices``)
    address_changes: tuple[tuple[int, str], ...] = field(default=(), compare=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "deactivated": self.deactivated,
            "departments_created": list(self.departments_created),
        }


class _Writer:
    """Writes a valid plan: departments, new people, changed people, roles; flush only."""

    def __init__(self, plan: ImportPlan) -> None:
        self.plan = plan
        self.now = utcnow()
        self.postgres = db.session.get_bind().dialect.name == "postgresql"
        self.department_ids: dict[str, int] = {}
        #: ids taken for the new people, by the line of their row
        self.new_ids: dict[int, int] = {}

    def departments(self) -> None:
        # As the plan read them, in this transaction: a department someone adds meanwhile
        # under a name of the file makes the insert below fail (``IntegrityError``). In the
        # order of their names, whatever the file's: two imports at once (two batches of the
        # API) adding the same departments then wait for each other instead of deadlocking.
        self.department_ids = dict(self.plan.department_ids)
        if self.plan.new_departments:
            # An HR person adding one of them meanwhile, in another case, passes the unique
            # index: both take turns, and what was added since the plan read the names
            # refuses the file as a duplicate name would.
            take_turns(DEPARTMENT_NAMES_LOCK)
            taken = {name_key(name) for name in db.session.scalars(select(Department.name))}
            if any(name_key(name) in taken for name in self.plan.new_departments):
                raise DepartmentAddedMeanwhile()
        created = [
            Department(name=name) for name in sorted(self.plan.new_departments, key=str.lower)
        ]
        db.session.add_all(created)
        db.session.flush()
        self.department_ids.update({name_key(d.name): d.id for d in created})

    def take_ids(self, count: int) -> list[int]:
        """Ids for ``count`` new people, before they are written."""
        if not count:
            return []
        if self.postgres:
            # One array back rather than a row per id.
            ids: list[int] = db.session.scalar(
                text(
                    # the sequence looked up once (an init plan), not once per id
                    "SELECT array_agg(nextval("
                    "(SELECT pg_get_serial_sequence('\"user\"', 'id'))::regclass)) "
                    "FROM generate_series(1, :count)"
                ),
                {"count": count},
            )
            return ids
        # SQLite writes one transaction at a time; a clash still ends in IntegrityError.
        highest = db.session.scalar(select(func.max(User.id))) or 0
        return list(range(highest + 1, highest + 1 + count))

    def manager_id(self, key: PersonKey | None) -> int | None:
        if key is None:
            return None
        kind, ident = key
        return ident if kind == "user" else self.new_ids[ident]

    def column_values(self, name: str, value: Any) -> dict[str, Any]:
        if name == "department":
            return {"department_id": self.department_ids[name_key(value)] if value else None}
        if name == "birthday":
            month, day = value if value else (None, None)
            return {"birth_month": month, "birth_day": day}
        if name == "language":
            return {"locale": value}
        if name == "manager":
            return {"manager_id": self.manager_id(value)}
        if name == "location":
            return {"location": value or ""}
        return {name: value}

    def new_person(self, row: PlannedRow, session_token: str) -> tuple[Any, ...]:
        """A new person's row, its values in the order of ``NEW_PERSON_COLUMNS``."""
        parsed = row.parsed
        department = parsed.department
        department_id = (
            self.department_ids[name_key(department)]
            if department and department is not ABSENT
            else None
        )
        birthday = parsed.birthday
        month, day = birthday if birthday and birthday is not ABSENT else (None, None)
        employment_type = parsed.employment_type
        language = parsed.language
        active = parsed.active
        return (
            self.new_ids[row.line],
            parsed.email,
            parsed.name,
            session_token,
            self.now,
            self.now,
            self.manager_id(parsed.manager),
            parsed.get("employee_number"),
            department_id,
            parsed.get("location") or "",
            (DEFAULTS["employment_type"] if employment_type is ABSENT else employment_type).value,
            parsed.get("hire_date"),
            month,
            day,
            DEFAULTS["language"] if language is ABSENT else language,
            DEFAULTS["active"] if active is ABSENT else active,
            parsed.get("leaving_date"),
        )

    def roles(self, user_roles: Iterable[tuple[int, Iterable[Role]]]) -> None:
        def chunks() -> Iterator[list[tuple[int, str]]]:
            rows: list[tuple[int, str]] = []
            for user_id, roles in user_roles:
                rows += [(user_id, role.value) for role in sorted(roles)]
                if len(rows) >= WRITE_CHUNK:
                    yield rows
                    rows = []
            yield rows

        insert_rows(UserRole.__table__, ("user_id", "role"), chunks())


def _in_manager_order(rows: list[PlannedRow]) -> list[PlannedRow]:
    """New people with their managers from the same file first, so that each row's manager
    is written no later than the row (no loops: the plan refused them)."""
    by_line = {row.line: row for row in rows}
    depth: dict[int, int] = {}
    for row in rows:
        chain: list[int] = []
        line: int | None = row.line
        while line is not None and line not in depth and line not in chain:
            chain.append(line)
            manager = by_line[line].parsed.manager
            line = (
                manager[1] if manager and manager[0] == "line" and manager[1] in by_line else None
            )
        level = depth[line] + 1 if line is not None else 0
        for item in reversed(chain):
            depth[item] = level
            level += 1
    return sorted(rows, key=lambda row: depth[row.line])


def write_plan(
    plan: ImportPlan,
    *,
    progress: Callable[[int], None],
    finishing: Callable[[int, int], None] | None = None,
) -> ImportResult:
    """Write a valid ``plan`` and say what it did; flushes only. ``progress`` is called with
    the rows done so far, every ``WRITE_CHUNK`` rows and at the end; ``finishing`` with the
    new and re-activated people set up so far, and their count.

    Raises:
        IntegrityError: someone changed the directory meanwhile (a duplicate e-mail, say).
        DepartmentAddedMeanwhile: a department of the file was added meanwhile.
    """
    writer = _Writer(plan)
    writer.departments()
    creates = _in_manager_order([row for row in plan.rows if row.action is Action.CREATE])
    updates = [row for row in plan.rows if row.action is Action.UPDATE]
    writer.new_ids = dict(
        zip((row.line for row in creates), writer.take_ids(len(creates)), strict=True)
    )
    user_table = User.__table__
    done = 0

    def written(count: int) -> None:
        nonlocal done
        done += count
        progress(done)

    tokens = iter(new_session_tokens(len(creates)))
    insert_rows(
        user_table,
        NEW_PERSON_COLUMNS,
        (
            [writer.new_person(row, next(tokens)) for row in chunk]
            for chunk in in_chunks(creates, WRITE_CHUNK)
        ),
        written,
    )
    new_people_roles = [
        (writer.new_ids[row.line], row.parsed.get("roles", DEFAULTS["roles"])) for row in creates
    ]
    writer.roles(new_people_roles)
    role_changes = [
        (user_id, frozenset[Role](), roles)
        for user_id, roles in new_people_roles
        if roles != DEFAULTS["roles"]
    ]

    deactivated = 0
    reactivated: list[int] = []
    # Grouped by the columns each row sets: one update per shape.
    shapes: dict[tuple[str, ...], list[tuple[Any, ...]]] = defaultdict(list)
    new_roles: list[tuple[int, frozenset[Role]]] = []
    changed_columns: list[tuple[int, tuple[str, ...]]] = []
    address_changes: list[tuple[int, str]] = []
    for row in updates:
        user_id = row.user_id
        assert user_id is not None  # an update has its stored person
        values: dict[str, Any] = {"id": user_id, "updated_at": writer.now}
        for name, before, after in row.diff:
            if name == "roles":
                new_roles.append((user_id, after))
                role_changes.append((user_id, before, after))
                continue
            values.update(writer.column_values(name, after))
            if name == "email":
                address_changes.append((user_id, before))
            if name == "active":
                if after:
                    reactivated.append(user_id)
                else:
                    deactivated += 1
                    values["session_token"] = new_session_token()  # signs them out everywhere
        shapes[tuple(values)].append(tuple(values.values()))
        columns = tuple(name for name in values if name not in _NOT_CHANGES)
        if columns:
            changed_columns.append((user_id, columns))
    for shape, rows in shapes.items():
        update_rows(user_table, shape, in_chunks(rows, WRITE_CHUNK), written)
    if new_roles:
        for condition in among(UserRole.user_id, [user_id for user_id, _ in new_roles]):
            db.session.execute(
                delete(UserRole).where(condition).execution_options(synchronize_session=False)
            )
        writer.roles(new_roles)
    if done < len(plan.rows):
        progress(len(plan.rows))
    # People some caller holds may be among those just changed: read them again if used
    # (only them: the importer, say, is not read again after every batch of the API).
    changed = {row.user_id for row in updates}
    identities = db.session.identity_map
    for identity in list(identities.keys()):
        if identity[0] is User and identity[1][0] in changed:
            held = identities.get(identity)
            if held is not None:
                db.session.expire(held)

    # Their default referral links, in this transaction (the active ones only): told by id,
    # so that none of them is loaded.
    added = [
        writer.new_ids[row.line] for row in creates if row.parsed.get("active", DEFAULTS["active"])
    ]
    activated = added + reactivated
    if finishing is not None:
        finishing(0, len(activated))
    announce_activated_ids(activated, new=added)
    if finishing is not None:
        finishing(len(activated), len(activated))
    return ImportResult(
        created=len(creates),
        updated=len(updates),
        unchanged=plan.unchanged,
        deactivated=deactivated,
        departments_created=tuple(plan.new_departments),
        role_changes=tuple(role_changes),
        warnings=tuple(plan.warnings),
        changed_columns=tuple(changed_columns),
        address_changes=tuple(address_changes),
    )
