"""The people CSV import: a dry run that names every bad row, then one transaction.

The file is the shape an HR system exports: one header row naming the columns (any order, any
case), UTF-8 with or without a byte-order mark, comma-, semicolon- or tab-separated, at most
``MAX_IMPORT_ROWS`` people. People are matched on their employee number first, else on their
e-mail. Nothing is written unless every row is valid, and importing the same file again
changes nothing.

What a cell means for someone already stored:

- a column left out of the file keeps what is stored;
- an empty cell clears the department, location, hire date, leaving date, birthday and
  manager (the file
  is the HR system's picture of the person), but keeps the employee number, employment type,
  language, roles and status (new people get the defaults: staff, ``vi``, employee, active).

``leaving_date`` (optional, YYYY-MM-DD or DD/MM/YYYY) is the first day the person no longer
works here; the daily task applies it as the person form does (``perks.commissions.leavers``).

The import never sends invitations: HR invites people from their page.

From the pages, both steps run as background jobs (``perks.background``), so a file of a
hundred thousand people never holds a web worker: the upload is kept in the database
(``PeopleImport``, every host sees it) and its dry run starts at once
(``people_import_check``); confirming starts the import itself (``people_import``), which
checks the file again against the directory as it is then, and writes it in one transaction.
The dry run's report (counts, the first problems, warnings and changes, and every problem in a
CSV file) is the check job's result. ``flask perks import-people`` runs the same code in its
own process.

The import is built for files of that size: the rows are parsed once into compact records;
the directory is read only for the people the file names (by e-mail and employee number, a
thousand at a time) plus who reports to whom; what a dry run would show is formatted only for
the rows shown; people and roles are written set-based (on PostgreSQL ``COPY`` for the new
people, a staging table and one ``UPDATE ... FROM`` for the changed ones), with the new
people's ids taken beforehand so that managers from the same file are linked in the same pass.

The work is shared out by job: ``import_files`` decodes the file and reads it back from the
database, ``import_plan`` parses and checks it (the dry run), ``import_writer`` writes a valid
plan. This module is what the pages and the command line call: the uploads, their background
jobs and reports, and the import as one transaction.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import defer

from perks import audit, background
from perks.background import BackgroundJob, JobRun, JobState
from perks.db import affected_rows, transaction, utcnow
from perks.errors import Conflict, NotFound, NotPermitted, ValidationFailed
from perks.extensions import db
from perks.i18n import format_number
from perks.people.events import people_changed
from perks.people.import_files import (
    content_sha256,
    decode_csv,
    estimated_rows,
    stored_rows,
    stored_text,
)
from perks.people.import_plan import (
    COLUMNS,
    FieldChange,
    ImportPlan,
    RowError,
    RowWarning,
    plan_import,
    plan_rows,
)
from perks.people.import_plan import (
    MAX_IMPORT_ROWS as MAX_IMPORT_ROWS,  # the upload page states it
)
from perks.people.import_plan import (
    VIETNAMESE_HEADERS as VIETNAMESE_HEADERS,  # the upload page lists them
)
from perks.people.import_writer import DepartmentAddedMeanwhile, ImportResult, write_plan
from perks.people.models import PeopleImport, Role, User, roles_changed
from perks.people.notices import tell_addresses_changed
from perks.tabular import neutralise

#: changed people listed by the dry run's report; the counts cover them all
PREVIEW_ROWS = 200
#: problems listed by the report; every one is in its CSV file
ERRORS_SHOWN = 1000

#: PostgreSQL's SQLSTATE for a transaction it stopped to break a deadlock
DEADLOCK_DETECTED = "40P01"

#: the background jobs of an import
CHECK_KIND = "people_import_check"
IMPORT_KIND = "people_import"

#: what each stage of an import job is called on its page
STAGES = {
    "checking": _l("Checking the file"),
    "writing": _l("Writing the directory"),
    # what follows from new and re-activated people (their default referral links)
    "finishing": _l("Setting up the new people"),
}

#: rows of the downloadable example: believable, and valid as they stand
EXAMPLE_ROWS = (
    COLUMNS,
    ("NV001", "hai.nguyen@congty.example", "Nguyễn Đức Hải", "Kinh doanh", "Hà Nội", "staff",
     "2019-04-01", "12/05", "", "vi", "employee;manager", "yes", ""),
    ("NV002", "an.nguyen@congty.example", "Nguyễn Văn An", "Kinh doanh", "Hà Nội", "staff",
     "15/03/2022", "1990-08-23", "hai.nguyen@congty.example", "vi", "employee", "yes", ""),
    ("NV003", "nhung.le@congty.example", "Lê Thị Hồng Nhung", "Nhân sự", "TP. Hồ Chí Minh",
     "staff", "2020-09-14", "29/02", "hai.nguyen@congty.example", "en", "employee;hr", "yes", ""),
    ("CTV017", "minh.tran@congty.example", "Trần Quang Minh", "Vận hành tour", "Đà Nẵng",
     "contractor", "2024-06-03", "", "hai.nguyen@congty.example", "vi", "employee", "yes",
     "2027-01-01"),
    ("DT004", "lan.pham@doitac.example", "Phạm Ngọc Lan", "", "Nha Trang", "partner", "",
     "07/11", "", "vi", "employee", "no", ""),
)  # fmt: skip


# Uploads --------------------------------------------------------------------------------------


def example_csv() -> str:
    """The example file offered for download (Excel needs the BOM to read it as UTF-8)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(EXAMPLE_ROWS)
    return "\ufeff" + out.getvalue()


def _subject(import_id: int) -> str:
    return f"people_import:{import_id}"


def store_upload(data: bytes, *, filename: str, actor: User) -> PeopleImport:
    """Keep an uploaded file in the database and start its dry run in the background
    (``check_job`` finds it; nothing is imported yet).

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
        background.start_job(
            CHECK_KIND,
            actor=actor,
            payload={"import_id": upload.id, "filename": name},
            subject=_subject(upload.id),
            total=estimated_rows(text),
        )
        return upload


def get_upload(import_id: int, *, actor: User) -> PeopleImport:
    """An upload of ``actor``'s.

    Raises:
        NotFound: no such upload, or someone else uploaded it.
    """
    upload = db.session.get(PeopleImport, import_id, options=[defer(PeopleImport.content)])
    if upload is None or upload.uploaded_by_id != actor.id:
        raise NotFound()
    return upload


def check_job(upload: PeopleImport) -> BackgroundJob | None:
    """The upload's newest dry run."""
    return background.latest_job(CHECK_KIND, _subject(upload.id))


def import_job(upload: PeopleImport) -> BackgroundJob | None:
    """The upload's newest import job."""
    return background.latest_job(IMPORT_KIND, _subject(upload.id))


def recent_jobs(actor: User, *, limit: int = 10) -> list[BackgroundJob]:
    """``actor``'s newest dry runs and imports (the upload page lists them)."""
    return background.recent_jobs(actor.id, (CHECK_KIND, IMPORT_KIND), limit=limit)


def start_import(import_id: int, *, actor: User) -> BackgroundJob:
    """Start importing a stored upload of ``actor``'s in the background (the job checks it
    again against the directory as it is then). Confirming again while it waits or runs
    gives the same job.

    Raises:
        NotFound: as ``get_upload``.
        Conflict: the upload was already imported.
    """
    get_upload(import_id, actor=actor)
    with transaction():
        # The row lock makes two confirmations at once start one job.
        upload = db.session.scalar(
            select(PeopleImport)
            .where(PeopleImport.id == import_id)
            .options(defer(PeopleImport.content))
            .with_for_update()
        )
        assert upload is not None
        if upload.status != "pending":
            raise Conflict(_("This file has already been imported."))
        running = background.active_job(IMPORT_KIND, _subject(upload.id))
        if running is not None:
            return running
        return background.start_job(
            IMPORT_KIND,
            actor=actor,
            payload={"import_id": upload.id, "filename": upload.filename},
            subject=_subject(upload.id),
            total=stored_rows(upload.id),
        )


def confirm_upload(
    import_id: int,
    *,
    actor: User,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Import a stored upload of ``actor``'s now, re-checked against the current directory
    (what the import job runs).

    Raises:
        NotFound: as ``get_upload``.
        Conflict: the upload was already imported (also when two confirmations race).
        ValidationFailed: a row is bad now; ``details["errors"]`` lists every bad row.
    """
    upload = get_upload(import_id, actor=actor)
    with transaction():
        return _apply_upload(upload, actor=actor, progress=progress)


def _apply_upload(
    upload: PeopleImport,
    *,
    actor: User | None,
    progress: Callable[[int], None] | None = None,
    checked: Callable[[int], None] | None = None,
    finishing: Callable[[int, int], None] | None = None,
) -> ImportResult:
    # A conditional update, so that of two confirmations only one goes through.
    result = db.session.execute(
        update(PeopleImport)
        .where(PeopleImport.id == upload.id, PeopleImport.status == "pending")
        .values(status="applied", updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    claimed = affected_rows(result)
    if claimed != 1:
        raise Conflict(_("This file has already been imported."))
    return _import(
        stored_text(upload.id),
        actor=actor,
        filename=upload.filename,
        progress=progress,
        checked=checked,
        finishing=finishing,
        upload=upload,
    )


# The dry run's report -------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportRow:
    """A changed person as the stored report shows it."""

    line: int
    action: str
    name: str
    email: str
    changes: tuple[FieldChange, ...]


@dataclass(frozen=True)
class DryRun:
    """A dry run's report, as its job stored it (``report`` makes it, ``from_result`` reads
    it back): the counts, the first problems and changes, and the file with every problem."""

    total_rows: int
    to_create: int
    to_update: int
    unchanged: int
    bad_line_count: int
    error_count: int
    errors: tuple[RowError, ...]
    #: what valid rows will do that the importer should know first (the import may go on)
    warnings: tuple[RowWarning, ...]
    new_departments: tuple[str, ...]
    ignored_columns: tuple[str, ...]
    changed_count: int
    preview: tuple[ReportRow, ...]
    has_error_file: bool

    @property
    def is_valid(self) -> bool:
        return self.error_count == 0

    @classmethod
    def from_result(cls, result: dict[str, Any]) -> DryRun:
        return cls(
            total_rows=int(result.get("total_rows", 0)),
            to_create=int(result.get("to_create", 0)),
            to_update=int(result.get("to_update", 0)),
            unchanged=int(result.get("unchanged", 0)),
            bad_line_count=int(result.get("bad_lines", 0)),
            error_count=int(result.get("error_count", 0)),
            errors=tuple(RowError(int(line), str(message)) for line, message in result["errors"]),
            # a report stored before warnings were kept has none
            warnings=tuple(
                RowWarning(int(line), str(code), str(message))
                for line, code, message in result.get("warnings", ())
            ),
            new_departments=tuple(result.get("new_departments", ())),
            ignored_columns=tuple(result.get("ignored_columns", ())),
            changed_count=int(result.get("changed_count", 0)),
            preview=tuple(
                ReportRow(
                    line=int(row["line"]),
                    action=str(row["action"]),
                    name=str(row["name"]),
                    email=str(row["email"]),
                    changes=tuple(FieldChange(*change) for change in row["changes"]),
                )
                for row in result.get("preview", ())
            ),
            has_error_file=bool(result.get("file")),
        )


def report(plan: ImportPlan) -> dict[str, Any]:
    """The dry run's report as a job's result: small whatever the file's size."""
    changed = plan.changed_rows
    return {
        "total_rows": plan.total_rows,
        "to_create": plan.to_create,
        "to_update": plan.to_update,
        "unchanged": plan.unchanged,
        "bad_lines": len(plan.bad_lines),
        "error_count": len(plan.errors),
        "errors": [[error.line, error.message] for error in plan.errors[:ERRORS_SHOWN]],
        "warnings": [[w.line, w.code, w.message] for w in plan.warnings[:ERRORS_SHOWN]],
        "new_departments": plan.new_departments[:ERRORS_SHOWN],
        "ignored_columns": plan.ignored_columns,
        "changed_count": len(changed),
        "preview": [
            {
                "line": row.line,
                "action": row.action.value,
                "name": row.name,
                "email": row.email,
                "changes": [[c.field, c.before, c.after] for c in row.changes],
            }
            for row in changed[:PREVIEW_ROWS]
        ],
    }


def error_report_csv(errors: Iterable[RowError]) -> Iterator[bytes]:
    """Every problem as a CSV file (line, problem), a few thousand rows per piece. A problem
    may quote the file or the directory from its first character ("=1+2@congty.vn belongs
    to..."): it is neutralised as every export's text is (``perks.tabular.neutralise``)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    out.write("\ufeff")
    writer.writerow([_("Line"), _("Problem")])
    for count, error in enumerate(errors, start=1):
        writer.writerow([error.line, neutralise(error.message)])
        if count % 5000 == 0:
            yield out.getvalue().encode("utf-8")
            out.seek(0)
            out.truncate()
    yield out.getvalue().encode("utf-8")


def error_file_name(upload_filename: str) -> str:
    """``"Danh sách nhân viên.csv"`` → ``"Danh-sach-nhan-vien-problems.csv"``: the upload's
    name without its accents (a download's name is safest in ASCII), never ``"Danh-s-ch-..."``."""
    stem = upload_filename.rsplit(".", 1)[0].replace("đ", "d").replace("Đ", "D")
    stem = "".join(c for c in unicodedata.normalize("NFD", stem) if not unicodedata.combining(c))
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-")
    return f"{stem or 'people'}-problems.csv"


def _upload_without_text(import_id: int) -> PeopleImport:
    """An upload, its text left in the database (it is read a piece at a time).

    Raises:
        NotFound: no such upload.
    """
    upload = db.session.get(PeopleImport, import_id, options=[defer(PeopleImport.content)])
    if upload is None:
        raise NotFound()
    return upload


def _rows_of(run: JobRun, upload: PeopleImport) -> int:
    """The rows the job's progress counts to: the estimate it was started with (counting
    them again in the stored text costs the database a pass over the whole file)."""
    total = db.session.scalar(select(BackgroundJob.total).where(BackgroundJob.id == run.id))
    return total or stored_rows(upload.id)


def _job_actor(run: JobRun) -> User:
    """Who started the job, with their rights as they are now (the upload page's: HR, or an
    administrator), checked when the job runs, which may be long after they asked.

    Raises:
        NotPermitted: they are deactivated (or gone) since, or no longer hold the HR or
            administrator role: the job does nothing, and says why on its page.
    """
    actor = run.actor
    if actor is None or not actor.active:
        raise NotPermitted(
            _("Whoever started this is no longer active, so nothing was checked or imported.")
        )
    if not actor.has_role(Role.HR):
        raise NotPermitted(
            _(
                "Whoever started this no longer holds the HR or administrator role, so nothing "
                "was checked or imported. Someone in HR can upload the file again."
            )
        )
    return actor


def _run_check(run: JobRun) -> None:
    """The dry run job: check the stored file, keep the report (and every problem in a CSV
    file)."""
    upload = _upload_without_text(int(run.payload["import_id"]))
    actor = _job_actor(run)
    total = _rows_of(run, upload)
    run.progress(0, total, stage="checking", force=True)
    plan = plan_import(
        stored_text(upload.id),
        actor=actor,
        checked=lambda done: run.progress(done, total, stage="checking"),
    )
    result = report(plan)
    with transaction():
        if plan.errors:
            result["file"] = run.write_file(
                error_report_csv(plan.errors),
                name=error_file_name(upload.filename),
                mimetype="text/csv",
            )
        run.succeed(result)


def _run_import(run: JobRun) -> dict[str, Any]:
    """The import job: check the stored file again and write it, all or nothing."""
    upload = _upload_without_text(int(run.payload["import_id"]))
    actor = _job_actor(run)
    total = _rows_of(run, upload)
    run.progress(0, total, stage="checking", force=True)
    try:
        with transaction():
            result = _apply_upload(
                upload,
                actor=actor,
                checked=lambda done: run.progress(done, total, stage="checking"),
                progress=lambda done: run.progress(done, total, stage="writing"),
                finishing=lambda done, people: run.progress(done, people, stage="finishing"),
            )
            run.succeed(result.as_dict())
    except ValidationFailed as error:
        errors = error.detail_items("errors", RowError)
        failed: dict[str, Any] = {
            "bad_lines": len({e.line for e in errors}),
            "error_count": len(errors),
            "errors": [[e.line, e.message] for e in errors[:ERRORS_SHOWN]],
        }
        if errors:
            with transaction():
                failed["file"] = run.write_file(
                    error_report_csv(errors),
                    name=error_file_name(upload.filename),
                    mimetype="text/csv",
                )
        run.fail(error.message, result=failed)
    return {}


def dry_run_of(job: BackgroundJob | None) -> DryRun | None:
    """The report of a finished dry run, or None while it waits, runs or if it failed."""
    if job is None or job.state is not JobState.SUCCEEDED:
        return None
    return DryRun.from_result(job.result or {})


background.register_kind(
    CHECK_KIND,
    _run_check,
    title=_l("Checking a people file"),
    result_template="people/_import_check_job.html",
    stages=STAGES,
    # the upload pages' role: someone out of HR since no longer reads the file's report
    seen_by=lambda user: user.has_role(Role.HR),
)
background.register_kind(
    IMPORT_KIND,
    _run_import,
    title=_l("People import"),
    result_template="people/_import_job.html",
    stages=STAGES,
    seen_by=lambda user: user.has_role(Role.HR),
)


# The import in one transaction ----------------------------------------------------------------


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
        Conflict: someone changed the directory while the import ran, or another import
            changed the same people at the same moment (a deadlock).
    """
    with transaction():
        return _import(text, actor=actor, filename=filename, progress=progress)


def import_rows(
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    actor: User | None,
    filename: str,
) -> ImportResult:
    """Import a table already split into cells (the API's records, ``plan_rows``) as
    ``apply_import`` imports a file, with its rules, but flushed only: the caller commits
    (with what else belongs to the same request). The ``people.import`` audit event's hash is
    that of the rows' cells (``rows_sha256``).

    Raises:
        ValidationFailed: some row is bad (nothing is written); ``details["errors"]`` holds
            every ``RowError``, numbered as ``plan_rows`` numbers them.
        Conflict: someone changed the directory while the rows were written, or another
            import changed the same people at the same moment (a deadlock).
    """
    return _write(
        plan_rows(columns, rows, actor=actor),
        actor=actor,
        filename=filename,
        sha256=lambda: rows_sha256(columns, rows),
        progress=None,
    )


def rows_sha256(columns: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """The fingerprint of a table of cells: the header and each row, their cells separated
    by the unit separator and the rows by the record separator (control characters no cell
    of a people file holds)."""
    digest = hashlib.sha256("\x1f".join(columns).encode("utf-8"))
    for row in rows:
        digest.update(("\x1e" + "\x1f".join(row)).encode("utf-8"))
    return digest.hexdigest()


def _import(
    text: str | Iterable[str],
    *,
    actor: User | None,
    filename: str,
    progress: Callable[[int], None] | None,
    checked: Callable[[int], None] | None = None,
    finishing: Callable[[int, int], None] | None = None,
    upload: PeopleImport | None = None,
) -> ImportResult:
    """Plan, refuse if anything is bad, write, audit. Flushes only: the caller commits."""

    def sha256() -> str:
        if upload is not None:
            return upload.sha256
        assert isinstance(text, str)  # only a stored upload is read in pieces
        return content_sha256(text)

    return _write(
        plan_import(text, actor=actor, checked=checked),
        actor=actor,
        filename=filename,
        sha256=sha256,
        progress=progress,
        finishing=finishing,
        upload=upload,
    )


def _write(
    plan: ImportPlan,
    *,
    actor: User | None,
    filename: str,
    sha256: Callable[[], str],
    progress: Callable[[int], None] | None,
    finishing: Callable[[int, int], None] | None = None,
    upload: PeopleImport | None = None,
) -> ImportResult:
    """Refuse ``plan`` if anything is bad, else write it and audit. Flushes only."""
    if plan.errors:
        raise ValidationFailed(
            ngettext(
                "%(count)s row cannot be imported; nothing was written.",
                "%(count)s rows cannot be imported; nothing was written.",
                len(plan.bad_lines),
                count=format_number(len(plan.bad_lines)),
            ),
            errors=plan.errors,
        )
    try:
        result = write_plan(plan, progress=progress or (lambda done: None), finishing=finishing)
    except (IntegrityError, DepartmentAddedMeanwhile) as error:
        raise Conflict(
            _("Someone changed the directory while the file was imported. Check it again.")
        ) from error
    except OperationalError as error:
        if getattr(error.orig, "sqlstate", None) != DEADLOCK_DETECTED:
            raise
        # Two imports at once (two batches of the API) changing the same people in another
        # order: PostgreSQL stopped this one. Nothing is written; it can be sent again.
        raise Conflict(
            _("Another import changed the same people at the same moment. Try it again.")
        ) from error
    # a draft payout batch that pays someone changed moves on (``events.guard_changes``);
    # never refused: a nightly sync does not fail because finance approved a batch
    people_changed(dict(result.changed_columns), actor=actor)
    tell_addresses_changed(list(result.address_changes), actor=actor)
    audit.record(
        "people.import",
        actor=actor,
        target=upload,
        filename=filename,
        sha256=sha256(),
        rows=plan.total_rows,
        created=result.created,
        updated=result.updated,
        unchanged=result.unchanged,
        deactivated=result.deactivated,
        departments_created=list(result.departments_created),
    )
    # each person's roles, as the edit page audits them: who was made an administrator, say
    audit.record_each(
        "auth.roles_changed",
        actor=actor,
        target_type="User",
        details_by_id=(
            (
                user_id,
                {
                    **roles_changed(before, after),
                    "filename": filename,
                },
            )
            for user_id, before, after in result.role_changes
        ),
    )
    return result
