"""Personal income tax on payout batches: what each line withholds when its batch is paid,
and the yearly summary for the withholding certificate (chứng từ khấu trừ thuế TNCN).

The rule itself is ``perks.commissions.tax``. When a batch is marked paid
(``perks.finance.payouts``), each included line is assessed on the payment day (company time
zone): the line keeps its treatment, taxable part and tax withheld, and the withholding is a
``withholding`` ledger entry next to the ``payout`` entry of the rest. Before a batch is paid
(the payroll and bank files of an approved batch), :func:`figures_of` assesses it as if it
were paid today, the same way.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import IO, Any

from flask_babel import gettext as _
from sqlalchemy import case, func, null, select, true

from perks import audit
from perks.commissions import tax
from perks.commissions.tax import Assessment, Treatment
from perks.commissions.tax_models import WithholdingRate
from perks.db import transaction
from perks.errors import ValidationFailed
from perks.extensions import db
from perks.finance.models import BatchStatus, LineStatus, PayoutBatch, PayoutLine
from perks.folding import name_order
from perks.i18n import company_today, day_start
from perks.money import Money, minor_unit_exponent
from perks.people.models import User
from perks.tabular import StreamingXlsx, amount_text, csv_chunks


def assess_lines(lines: Sequence[PayoutLine], day: date) -> dict[int, Assessment]:
    """Each line's assessment for a payment on ``day``: a few statements whatever the count
    (the people, their profiles, one rate look-up per residence and currency)."""
    user_ids = sorted({line.user_id for line in lines})
    people = (
        {p.id: p for p in db.session.scalars(select(User).where(User.id.in_(user_ids)))}
        if user_ids
        else {}
    )
    profiles = tax.profiles_of(user_ids)
    found: dict[tuple[date, bool, str], WithholdingRate | None] = {}

    def rate_of(on: date, resident: bool, currency: str) -> WithholdingRate | None:
        key = (on, resident, currency)
        if key not in found:
            found[key] = tax.rate_in_force(on, resident=resident, currency=currency)
        return found[key]

    return {
        line.id: tax.assess(
            people[line.user_id], profiles.get(line.user_id), line.gross, day, rate_of=rate_of
        )
        for line in lines
    }


def record_assessment(line: PayoutLine, assessment: Assessment) -> None:
    """Keep on ``line`` how it was taxed and who paid it (flushes nothing: the caller's
    transaction)."""
    line.tax_treatment = assessment.treatment.value
    line.paid_by = "payroll" if assessment.on_payroll else "bank"
    line.taxable_amount = assessment.taxable.amount
    line.withheld_amount = assessment.withheld.amount
    line.withholding_rate_id = assessment.rate.id if assessment.rate is not None else None


@dataclass(frozen=True)
class LineFigures:
    """A line's gross, taxable, withheld and net, as recorded (paid) or as it would be paid
    today (approved)."""

    treatment: Treatment
    gross: Money
    taxable: Money
    withheld: Money

    @property
    def net(self) -> Money:
        return self.gross - self.withheld


def figures_of(batch: PayoutBatch, lines: Sequence[PayoutLine]) -> dict[int, LineFigures]:
    """Each line's figures: those recorded when the batch was paid, or, before, those of a
    payment today."""
    if batch.status is BatchStatus.PAID:
        return {
            line.id: (
                LineFigures(Treatment(line.tax_treatment), line.gross, line.taxable, line.withheld)
                if line.tax_treatment
                # paid before withholding existed: all of it went through payroll
                else LineFigures(Treatment.SALARY, line.gross, line.gross, line.withheld)
            )
            for line in lines
        }
    assessed = assess_lines(lines, company_today())
    return {
        line_id: LineFigures(a.treatment, a.gross, a.taxable, a.withheld)
        for line_id, a in assessed.items()
    }


def withheld_totals(lines: Sequence[PayoutLine]) -> dict[str, int]:
    """The tax withheld from the lines, per currency (minor units)."""
    totals: dict[str, int] = {}
    for line in lines:
        if line.withheld_amount:
            totals[line.currency] = totals.get(line.currency, 0) + line.withheld_amount
    return totals


# --- the yearly summary ----------------------------------------------------------------------

SUMMARY_FORMATS = ("csv", "xlsx")


def summary_header() -> list[str]:
    return [
        _("Year"),
        _("Employee number"),
        _("Tax code"),
        _("Name"),
        _("Resident"),
        _("Currency"),
        _("Gross paid"),
        _("Taxable income"),
        _("Tax withheld"),
        _("Payments"),
    ]


#: the cells of the summary that may hold free text (employee number, tax code, name)
SUMMARY_TEXT_COLUMNS = (1, 2, 3)


def summary_rows(year: int) -> list[list[Any]]:
    """Per person, currency and residence, what the batches paid in ``year`` (company time
    zone) paid them: gross, taxable and withheld; one statement plus one for the profiles.

    The residence is the one each payment was taxed as: a resident's or a non-resident's
    rate, or salary income or a commitment form (residents only); a payment that does not
    tell (no rate for its currency, or paid before withholding was kept) takes the person's
    profile as it is now. A person whose residence changed within the year has a row for
    each.
    """
    start, end = day_start(date(year, 1, 1)), day_start(date(year + 1, 1, 1))
    resident_as_paid = case(
        (WithholdingRate.resident.is_not(None), WithholdingRate.resident),
        (
            PayoutLine.tax_treatment.in_([Treatment.SALARY.value, Treatment.COMMITMENT.value]),
            true(),
        ),
        else_=null(),
    )
    rows = db.session.execute(
        select(
            PayoutLine.user_id,
            PayoutLine.currency,
            resident_as_paid,
            func.sum(PayoutLine.amount),
            func.sum(PayoutLine.taxable_amount),
            func.sum(PayoutLine.withheld_amount),
            func.count(),
        )
        .join(PayoutBatch, PayoutBatch.id == PayoutLine.batch_id)
        .outerjoin(WithholdingRate, WithholdingRate.id == PayoutLine.withholding_rate_id)
        .where(
            PayoutBatch.status == BatchStatus.PAID,
            PayoutBatch.paid_at >= start,
            PayoutBatch.paid_at < end,
            PayoutLine.status == LineStatus.INCLUDED,
        )
        .group_by(PayoutLine.user_id, PayoutLine.currency, resident_as_paid)
    ).all()
    user_ids = sorted({r[0] for r in rows})
    people = (
        {p.id: p for p in db.session.scalars(select(User).where(User.id.in_(user_ids)))}
        if user_ids
        else {}
    )
    profiles = tax.profiles_of(user_ids)
    merged: dict[tuple[int, str, bool], list[int]] = {}
    for user_id, currency, paid_as, gross, taxable, withheld, count in rows:
        profile = profiles.get(user_id)
        resident = bool(paid_as) if paid_as is not None else profile is None or profile.resident
        sums = merged.setdefault((user_id, currency, resident), [0, 0, 0, 0])
        for index, value in enumerate((gross, taxable, withheld, count)):
            sums[index] += int(value or 0)
    result = []
    for (user_id, currency, resident), (gross, taxable, withheld, count) in sorted(
        merged.items(), key=lambda item: (name_order(people[item[0][0]].name), item[0][1:])
    ):
        person, profile = people[user_id], profiles.get(user_id)
        exponent = minor_unit_exponent(currency)
        result.append(
            [
                year,
                person.employee_number or "",
                profile.tax_code if profile is not None else "",
                person.name,
                _("Yes") if resident else _("No"),
                currency,
                amount_text(gross, exponent),
                amount_text(taxable, exponent),
                amount_text(withheld, exponent),
                count,
            ]
        )
    return result


def write_summary(year: int, file_format: str, target: IO[bytes], *, actor: User) -> str:
    """Write the yearly withholding summary into ``target``; audited. Returns the file name.

    Raises:
        ValidationFailed: a year out of range.
        ValueError: an unknown format.
    """
    if file_format not in SUMMARY_FORMATS:
        raise ValueError(f"unknown format {file_format!r}")
    if not 2000 <= year <= 2200:
        raise ValidationFailed(_("Choose a year from 2000 on."))
    rows = summary_rows(year)
    header = summary_header()
    if file_format == "csv":
        for chunk in _csv(header, rows):
            target.write(chunk)
    else:
        workbook = StreamingXlsx(
            target,
            sheet_name=_("Withholding %(year)s", year=year),
            header=header,
            widths=[8, 14, 16, 28, 9, 9, 16, 16, 16, 10],
            title=_("Personal income tax withheld, %(year)s", year=year),
        )
        workbook.write_rows(rows)
        workbook.close()
    with transaction():
        audit.record(
            "finance.withholding_summary_exported",
            actor=actor,
            year=year,
            format=file_format,
            rows=len(rows),
        )
    return f"withholding-{year}.{file_format}"


def _csv(header: list[str], rows: list[list[Any]]) -> Iterator[bytes]:
    return csv_chunks(header, [rows], text_columns=SUMMARY_TEXT_COLUMNS)
