"""The payroll file and the bank transfer file of a payout batch, through finance's named
column mappings (``perks.finance.mapping_models.ExportMapping``).

Who is in which file: a person with a labour contract of three months or more is paid with
the wages, so their line goes to the **payroll file** (its gross is a taxable line: payroll
taxes it with the wages); everyone else (partners, suppliers, contractors and anyone without
such a contract, ``perks.commissions.tax.is_on_payroll``) is paid by **bank transfer**, net of
the tax withheld. The two files together cover every included line of the batch once: their
gross add up to the batch's total, their withheld to its ``withholding`` ledger entries.

Figures, and which file a line is in, are those recorded when the batch was paid (a payee
who signs a labour contract later stays in the paid batch's bank file), or, for an approved
batch, those of a payment today (``perks.finance.withholding.figures_of``). Both formats
are formula-safe (``perks.tabular``): every text cell is neutralised, amounts are numbers.
Each file written is audited.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO, Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from perks import audit
from perks.commissions import tax
from perks.commissions.tax_models import TaxProfile
from perks.db import locked, transaction
from perks.errors import Conflict, NotFound, ValidationFailed
from perks.extensions import db
from perks.finance.mapping_models import ExportMapping
from perks.finance.models import BatchStatus, LineStatus, PayoutBatch, PayoutLine
from perks.finance.queries import get_batch
from perks.finance.withholding import LineFigures, figures_of
from perks.fingerprints import fingerprint
from perks.folding import alphabetical, name_key
from perks.money import Money, minor_unit_exponent
from perks.people.models import User
from perks.tabular import FORMULA_TRIGGERS, StreamingXlsx, amount_text, csv_chunks

KINDS = ("payroll", "bank")
MAX_COLUMNS = 30
MAX_HEADER_LENGTH = 60


@dataclass(frozen=True)
class Row:
    """What a cell can be made of: one line, its person, their profile and its figures."""

    batch: PayoutBatch
    line: PayoutLine
    person: User
    profile: TaxProfile | None
    figures: LineFigures


def _amount(money: Money) -> Any:
    return amount_text(money.amount, minor_unit_exponent(money.currency))


def without_diacritics(text: str) -> str:
    """``text`` as a bank takes a beneficiary's name: Vietnamese letters without their marks,
    "đ" as "d" ("Đỗ Thị Hường" → "Do Thi Huong"), the case kept. Raises nothing."""
    text = text.replace("Đ", "D").replace("đ", "d")
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if not unicodedata.combining(c))
    )


def transfer_note(batch: PayoutBatch, person: User) -> str:
    """What the bank shows the payee: plain ASCII (banks refuse diacritics), the batch's
    reference and the employee number (or the person's id)."""
    who = person.employee_number or f"ID{person.id}"
    return re.sub(r"[^A-Za-z0-9 ._/-]", "", f"HOA HONG {batch.reference} {who}")[:140]


@dataclass(frozen=True)
class Field:
    label: object
    value: Callable[[Row], Any]
    #: a cell that may hold free text (neutralised)
    text: bool = True


#: every field a mapping may place, with its label on the mapping page
FIELDS: dict[str, Field] = {
    "batch_reference": Field(_l("Batch reference"), lambda r: r.batch.reference),
    "employee_number": Field(_l("Employee number"), lambda r: r.person.employee_number or ""),
    "tax_code": Field(_l("Tax code"), lambda r: r.profile.tax_code if r.profile else ""),
    "name": Field(_l("Name"), lambda r: r.person.name),
    "email": Field(_l("E-mail"), lambda r: r.person.email),
    "department": Field(
        _l("Department"), lambda r: r.person.department.name if r.person.department else ""
    ),
    "gross": Field(_l("Gross"), lambda r: _amount(r.figures.gross), text=False),
    "taxable": Field(_l("Taxable income"), lambda r: _amount(r.figures.taxable), text=False),
    "withheld": Field(_l("Tax withheld"), lambda r: _amount(r.figures.withheld), text=False),
    "net": Field(_l("Net"), lambda r: _amount(r.figures.net), text=False),
    "currency": Field(_l("Currency"), lambda r: r.line.currency, text=False),
    "period": Field(_l("Period"), lambda r: f"{r.batch.cutoff_date:%m/%Y}", text=False),
    "account_number": Field(
        _l("Bank account number"), lambda r: r.profile.bank_account_number if r.profile else ""
    ),
    "bank_name": Field(_l("Bank"), lambda r: r.profile.bank_name if r.profile else ""),
    "account_holder": Field(
        _l("Account holder"),
        # banks refuse diacritics in the beneficiary's name as in the note
        lambda r: without_diacritics(
            (r.profile.account_holder if r.profile else "") or r.person.name
        ),
    ),
    "transfer_note": Field(_l("Transfer note"), lambda r: transfer_note(r.batch, r.person)),
}

#: the layouts used when finance has no mapping of a kind (the migration seeds the same)
DEFAULT_COLUMNS: dict[str, list[dict[str, str]]] = {
    "payroll": [
        {"field": "employee_number", "header": "Mã NV"},
        {"field": "tax_code", "header": "Mã số thuế"},
        {"field": "name", "header": "Họ và tên"},
        {"field": "department", "header": "Phòng ban"},
        {"field": "gross", "header": "Tổng thu nhập"},
        {"field": "taxable", "header": "Thu nhập chịu thuế"},
        {"field": "withheld", "header": "Thuế TNCN đã khấu trừ"},
        {"field": "net", "header": "Thực nhận"},
        {"field": "currency", "header": "Loại tiền"},
        {"field": "period", "header": "Kỳ lương"},
    ],
    "bank": [
        {"field": "account_number", "header": "Số tài khoản"},
        {"field": "bank_name", "header": "Ngân hàng"},
        {"field": "account_holder", "header": "Tên người thụ hưởng"},
        {"field": "net", "header": "Số tiền"},
        {"field": "currency", "header": "Loại tiền"},
        {"field": "transfer_note", "header": "Nội dung chuyển khoản"},
    ],
}


# --- mappings --------------------------------------------------------------------------------


def mappings(kind: str | None = None) -> list[ExportMapping]:
    query = select(ExportMapping).order_by(
        ExportMapping.kind, *alphabetical(ExportMapping.name), ExportMapping.id
    )
    if kind is not None:
        query = query.where(ExportMapping.kind == kind)
    return list(db.session.scalars(query))


def get_mapping(mapping_id: int) -> ExportMapping:
    """Raises NotFound."""
    mapping = db.session.get(ExportMapping, mapping_id)
    if mapping is None:
        raise NotFound(_("There is no such column mapping."))
    return mapping


def columns_text(columns: Sequence[dict[str, str]]) -> str:
    """A mapping's columns as finance edits them: one "field = header" a line."""
    return "\n".join(f"{c['field']} = {c['header']}" for c in columns)


def parse_columns(text: str) -> list[dict[str, str]]:
    """Finance's "field = header" lines as columns, in order.

    Raises:
        ValidationFailed: an unknown field, an empty header, one that could start a formula
            or is too long, one repeated (in any case), or no column, or too many.
    """
    columns: list[dict[str, str]] = []
    for number, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        field, sep, header = line.partition("=")
        field, header = field.strip(), header.strip()
        if not sep or field not in FIELDS:
            raise ValidationFailed(
                _(
                    "Line %(number)d: write a field, “=”, then its header; the fields are "
                    "%(fields)s.",
                    number=number,
                    fields=", ".join(FIELDS),
                )
            )
        if not header or len(header) > MAX_HEADER_LENGTH or header[0] in FORMULA_TRIGGERS:
            raise ValidationFailed(
                _(
                    "Line %(number)d: a header is 1 to %(count)d characters and does not start "
                    "with =, +, - or @.",
                    number=number,
                    count=MAX_HEADER_LENGTH,
                )
            )
        if name_key(header) in {name_key(c["header"]) for c in columns}:
            raise ValidationFailed(
                _(
                    "Line %(number)d: another column is headed “%(header)s” already; give each "
                    "column its own header.",
                    number=number,
                    header=header,
                )
            )
        columns.append({"field": field, "header": header})
    if not columns:
        raise ValidationFailed(_("Give the file at least one column."))
    if len(columns) > MAX_COLUMNS:
        raise ValidationFailed(_("At most %(count)d columns.", count=MAX_COLUMNS))
    return columns


def shown_fingerprint(mapping: ExportMapping) -> str:
    """The fingerprint (``perks.fingerprints``) of what a mapping's edit page shows of it: its
    name, file and columns. The form sends it back, and ``save_mapping`` refuses a change
    when it no longer matches. Raises nothing."""
    return fingerprint(
        {"name": mapping.name, "kind": mapping.kind, "columns": columns_text(mapping.columns)}
    )


def save_mapping(
    mapping_id: int | None,
    name: str,
    kind: str,
    columns: str,
    *,
    actor: User,
    shown: str | None = None,
) -> ExportMapping:
    """Create (``mapping_id`` None) or change a named column mapping; audited.

    ``shown`` is the ``shown_fingerprint`` of the mapping as the page showed it: a page opened
    before someone else saved the mapping must not overwrite their change unseen (a payroll
    or bank file would go out with columns nobody chose). ``None`` checks nothing. Changes
    take turns (the row is locked).

    Raises:
        NotFound: no such mapping.
        ValidationFailed: no name, an unknown kind, columns that do not parse.
        Conflict: another mapping has that name.
        ChangedMeanwhile: the mapping is no longer what the page showed; nothing is saved.
    """
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise ValidationFailed(_("Name the mapping (up to 80 characters)."))
    if kind not in KINDS:
        raise ValidationFailed(_("Choose the payroll file or the bank transfer file."))
    parsed = parse_columns(columns)
    with transaction():
        if mapping_id is None:
            mapping = ExportMapping()
        else:
            found = locked(ExportMapping, mapping_id)
            if found is None:
                raise NotFound(_("There is no such column mapping."))
            mapping = found
            if shown is not None and shown != shown_fingerprint(mapping):
                raise audit.changed_meanwhile(mapping, "finance.export_mapping_saved")
        # the few mappings' names, compared in Python (``name_key``)
        others = select(ExportMapping.name)
        if mapping.id is not None:
            others = others.where(ExportMapping.id != mapping.id)
        if name_key(name) in {name_key(other) for other in db.session.scalars(others)}:
            raise Conflict(_("Another mapping is called that."))
        mapping.name, mapping.kind, mapping.columns = name, kind, parsed
        mapping.updated_by_id = actor.id
        db.session.add(mapping)
        db.session.flush()
        audit.record(
            "finance.export_mapping_saved",
            actor=actor,
            target=mapping,
            name=name,
            kind=kind,
            fields=[c["field"] for c in parsed],
        )
        return mapping


# --- the files -------------------------------------------------------------------------------


def _exportable(batch_id: int) -> PayoutBatch:
    batch = get_batch(batch_id)
    if batch.status not in (BatchStatus.APPROVED, BatchStatus.PAID):
        raise Conflict(_("Only an approved or paid batch can be exported for payroll."))
    return batch


def batch_rows(batch: PayoutBatch) -> dict[str, list[Row]]:
    """The batch's included lines split between the payroll file and the bank file, each in
    name order."""
    lines = list(
        db.session.scalars(
            select(PayoutLine)
            .join(User, User.id == PayoutLine.user_id)
            .where(PayoutLine.batch_id == batch.id, PayoutLine.status == LineStatus.INCLUDED)
            .order_by(*alphabetical(User.name), PayoutLine.currency, PayoutLine.id)
        ).unique()
    )
    split: dict[str, list[Row]] = {"payroll": [], "bank": []}
    for kind, row in _rows(batch, lines):
        split[kind].append(row)
    return split


def _rows(batch: PayoutBatch, lines: Sequence[PayoutLine]) -> list[tuple[str, Row]]:
    """Each of ``lines`` (included ones) with who pays it, in their order: for a paid batch,
    who paid it (``PayoutLine.paid_by``), else the payee's profile as it is now; a few
    statements whatever their count (the profiles, and :func:`figures_of`'s)."""
    profiles = tax.profiles_of(sorted({line.user_id for line in lines}))
    figures = figures_of(batch, lines)
    rows = []
    for line in lines:
        profile = profiles.get(line.user_id)
        if batch.status is BatchStatus.PAID and line.paid_by in KINDS:
            kind = line.paid_by  # where it was paid, whatever the payee's profile says now
        else:
            kind = "payroll" if tax.is_on_payroll(line.user, profile) else "bank"
        rows.append((kind, Row(batch, line, line.user, profile, figures[line.id])))
    return rows


def bank_details_missing(profile: TaxProfile | None) -> bool:
    """The bank file would have no account to pay into: no account number or no bank (the
    account holder defaults to the person's name)."""
    return profile is None or not profile.bank_account_number or not profile.bank_name


@dataclass(frozen=True)
class LineEstimate:
    """What paying one line today would be: its figures, who pays it (``KINDS``) and, for a
    bank transfer, whether the payee's bank details are missing."""

    figures: LineFigures
    paid_by: str
    bank_details_missing: bool


@dataclass(frozen=True)
class EstimateTotal:
    """The included lines of one currency added up."""

    gross: Money
    withheld: Money
    net: Money


@dataclass(frozen=True)
class Estimate:
    """A batch not yet paid, as if it were paid today (the payment works it out again on its
    day, by the same code: ``figures_of``, as the payroll and bank files)."""

    lines: dict[int, LineEstimate]
    #: per currency, in code order
    totals: dict[str, EstimateTotal]

    @property
    def missing_bank_details(self) -> int:
        """How many lines would be paid by bank transfer to no account."""
        return sum(1 for line in self.lines.values() if line.bank_details_missing)


def estimate(batch: PayoutBatch, lines: Sequence[PayoutLine]) -> Estimate:
    """What paying ``batch`` today would withhold from and pay each of its included
    ``lines`` (the batch page's, already loaded), and their totals: a few statements
    whatever the count of lines. Raises nothing; for a paid batch, the figures are those
    recorded (``figures_of``)."""
    included = [line for line in lines if line.status is LineStatus.INCLUDED]
    by_line: dict[int, LineEstimate] = {}
    sums: dict[str, tuple[Money, Money]] = {}
    for kind, row in _rows(batch, included):
        figures = row.figures
        by_line[row.line.id] = LineEstimate(
            figures, kind, kind == "bank" and bank_details_missing(row.profile)
        )
        gross, withheld = sums.get(
            figures.gross.currency,
            (Money.zero(figures.gross.currency), Money.zero(figures.gross.currency)),
        )
        sums[figures.gross.currency] = (gross + figures.gross, withheld + figures.withheld)
    totals = {
        currency: EstimateTotal(gross, withheld, gross - withheld)
        for currency, (gross, withheld) in sorted(sums.items())
    }
    return Estimate(by_line, totals)


def pay_file(
    batch_id: int,
    mapping_id: int | None,
    kind: str,
    file_format: str,
    target: IO[bytes],
    *,
    actor: User,
) -> str:
    """Write the batch's payroll (``kind`` "payroll") or bank transfer ("bank") file through
    the mapping (None: the built-in layout of that kind) into ``target``; audited. Returns
    the file's name.

    Raises:
        NotFound: no such batch or mapping.
        Conflict: the batch is not approved or paid, or the mapping is of the other kind.
        ValueError: an unknown format or kind.
    """
    if file_format not in ("csv", "xlsx") or kind not in KINDS:
        raise ValueError(f"unknown format {file_format!r} or kind {kind!r}")
    batch = _exportable(batch_id)
    if mapping_id is not None:
        mapping = get_mapping(mapping_id)
        if mapping.kind != kind:
            raise Conflict(_("This mapping is for the other file."))
        columns, mapping_name = mapping.columns, mapping.name
    else:
        columns, mapping_name = DEFAULT_COLUMNS[kind], ""
    fields = [FIELDS[c["field"]] for c in columns if c["field"] in FIELDS]
    header = [c["header"] for c in columns if c["field"] in FIELDS]
    rows = [[f.value(row) for f in fields] for row in batch_rows(batch)[kind]]
    if file_format == "csv":
        text_columns = [i for i, f in enumerate(fields) if f.text]
        for chunk in csv_chunks(header, [rows], text_columns=text_columns):
            target.write(chunk)
    else:
        workbook = StreamingXlsx(
            target,
            sheet_name=_("Payroll") if kind == "payroll" else _("Bank transfer"),
            header=header,
            widths=[max(12, min(40, len(h) + 4)) for h in header],
            title=f"{batch.reference}",
        )
        workbook.write_rows(rows)
        workbook.close()
    with transaction():
        audit.record(
            "finance.payout_exported",
            actor=actor,
            target=batch,
            reference=batch.reference,
            format=file_format,
            rows=len(rows),
            file=kind,
            mapping=mapping_name,
        )
    return f"{'payroll' if kind == 'payroll' else 'bank'}-{batch.reference}.{file_format}"
