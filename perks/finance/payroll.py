"""The payroll file of a payout batch: every line it pays, whoever pays it.

One row per person and currency (batch reference, employee id, name, e-mail, amount in the
currency's major unit, currency; then who pays it, ``payroll`` with the wages or ``bank`` by
transfer, the tax withheld and the net), as CSV or XLSX, for a batch that is approved or paid.
The amount is the gross; the tax withheld and the net are those recorded when the batch was
paid, or those of a payment today (``perks.finance.payfiles``, whose two files split the same
lines by who pays them). Columns are only ever added at the end. Text cells are neutralised
against formula injection (``perks.tabular``). Each file written is audited.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

from flask_babel import gettext as _

from perks import audit, glossary
from perks.db import transaction
from perks.errors import Conflict
from perks.finance.models import BatchStatus, PayoutBatch
from perks.finance.payfiles import KINDS, batch_rows
from perks.finance.queries import get_batch
from perks.folding import name_order
from perks.money import minor_unit_exponent
from perks.people.models import User
from perks.tabular import StreamingXlsx, amount_text, csv_chunks

PAYROLL_HEADER = (
    "batch_reference",
    "employee_id",
    "employee_name",
    "email",
    "amount",
    "currency",
    "paid_by",
    "tax_withheld",
    "net",
)
#: the cells of the payroll file that may hold free text
PAYROLL_TEXT_COLUMNS = (1, 2, 3)


def _payroll_rows(batch: PayoutBatch) -> Iterator[list[Any]]:
    split = batch_rows(batch)
    rows = sorted(
        ((kind, row) for kind in KINDS for row in split[kind]),
        key=lambda pair: (name_order(pair[1].person.name), pair[1].line.currency, pair[1].line.id),
    )
    for kind, row in rows:
        person, line, figures = row.person, row.line, row.figures
        exponent = minor_unit_exponent(line.currency)
        yield [
            batch.reference,
            person.employee_number or "",
            person.name,
            person.email,
            amount_text(line.amount, exponent),
            line.currency,
            kind,
            amount_text(figures.withheld.amount, exponent),
            amount_text(figures.net.amount, exponent),
        ]


def _exportable(batch_id: int) -> PayoutBatch:
    batch = get_batch(batch_id)
    if batch.status not in (BatchStatus.APPROVED, BatchStatus.PAID):
        raise Conflict(_("Only an approved or paid batch can be exported for payroll."))
    return batch


def payroll_file(batch_id: int, file_format: str, target: IO[bytes], *, actor: User) -> str:
    """Write the batch's payroll file (one row per person and currency: ``PAYROLL_HEADER``)
    into ``target``; audited.
    Returns the file's name.

    Raises:
        NotFound: no such batch.
        Conflict: the batch is not approved or paid.
        ValueError: an unknown format.
    """
    if file_format not in ("csv", "xlsx"):
        raise ValueError(f"unknown format {file_format!r}")
    batch = _exportable(batch_id)
    rows = list(_payroll_rows(batch))
    if file_format == "csv":
        for chunk in csv_chunks(PAYROLL_HEADER, [rows], text_columns=PAYROLL_TEXT_COLUMNS):
            target.write(chunk)
    else:
        workbook = StreamingXlsx(
            target,
            sheet_name=str(glossary.PAYROLL),
            header=PAYROLL_HEADER,
            widths=[20, 14, 28, 30, 16, 9, 10, 16, 16],
            title=_("Payout batch %(reference)s", reference=batch.reference),
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
        )
    return f"lines-{batch.reference}.{file_format}"
