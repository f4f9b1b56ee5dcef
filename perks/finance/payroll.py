"""The payroll file of a payout batch: what payroll pays with the wages.

One row per person and currency (batch reference, employee id, name, e-mail, amount in the
currency's major unit, currency), as CSV or XLSX, for a batch that is approved or paid; text
cells are neutralised against formula injection (``perks.finance.tabular``). Each file written
is audited.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

from flask_babel import gettext as _
from sqlalchemy import select

from perks import audit
from perks.db import transaction
from perks.errors import Conflict
from perks.extensions import db
from perks.finance.models import BatchStatus, LineStatus, PayoutBatch, PayoutLine
from perks.finance.queries import get_batch
from perks.finance.tabular import StreamingXlsx, amount_text, csv_chunks
from perks.money import minor_unit_exponent
from perks.people.models import User

PAYROLL_HEADER = ("batch_reference", "employee_id", "employee_name", "email", "amount", "currency")
#: the cells of the payroll file that may hold free text
PAYROLL_TEXT_COLUMNS = (1, 2, 3)


def _payroll_rows(batch: PayoutBatch) -> Iterator[list[Any]]:
    for line in _included_lines_with_people(batch.id):
        person = line.user
        yield [
            batch.reference,
            person.employee_number or "",
            person.name,
            person.email,
            amount_text(line.amount, minor_unit_exponent(line.currency)),
            line.currency,
        ]


def _included_lines_with_people(batch_id: int) -> list[PayoutLine]:
    return list(
        db.session.scalars(
            select(PayoutLine)
            .join(User, User.id == PayoutLine.user_id)
            .where(PayoutLine.batch_id == batch_id, PayoutLine.status == LineStatus.INCLUDED)
            .order_by(User.name, PayoutLine.currency, PayoutLine.id)
        ).unique()
    )


def _exportable(batch_id: int) -> PayoutBatch:
    batch = get_batch(batch_id)
    if batch.status not in (BatchStatus.APPROVED, BatchStatus.PAID):
        raise Conflict(_("Only an approved or paid batch can be exported for payroll."))
    return batch


def payroll_file(batch_id: int, file_format: str, target: IO[bytes], *, actor: User) -> str:
    """Write the batch's payroll file (one row per person and currency: batch reference,
    employee id, name, e-mail, amount in the major unit, currency) into ``target``; audited.
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
            sheet_name="Payroll",
            header=PAYROLL_HEADER,
            widths=[20, 14, 28, 30, 16, 9],
            title=f"Payout {batch.reference}",
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
    return f"payroll-{batch.reference}.{file_format}"
