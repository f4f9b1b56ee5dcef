"""Exports read back by real readers: the csv module and openpyxl. Formula injection is
neutralised in text cells while numbers stay numbers; amounts are in the major unit; every
export is audited with its filters and row count."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from decimal import Decimal

import openpyxl
import pytest
from sqlalchemy import func, select

from perks import background
from perks.audit import AuditEvent
from perks.background import BackgroundJob, JobState
from perks.commissions import ledger
from perks.commissions.models import SYSTEM_REASONS, BalanceOutcome, EntryKind
from perks.db import utcnow
from perks.extensions import db
from perks.finance import exports
from perks.finance.periods import Period
from perks.finance.reports import ReportFilter
from perks.i18n import company_today
from perks.money import Money
from perks.people.models import Role
from perks.tabular import (
    BOM,
    DATETIME_FORMAT,
    StreamingXlsx,
    amount_text,
    excel_serial,
    neutralise,
)
from tests import factories
from tests.unit.finance.helpers import finance_person, payable_order, refund_to

pytestmark = pytest.mark.usefixtures("app")

DANGEROUS = ['=HYPERLINK("http://evil.example","x")', "+1", "-1+2", "@SUM(1)", "\tE-7"]


def _today_filter(**fields: object) -> ReportFilter:
    today = company_today()
    return ReportFilter(period=Period(today, today), **fields)


def _csv_rows(export, chosen) -> tuple[bytes, list[dict[str, str]]]:
    body = b"".join(exports.stream_csv(export, chosen, actor=None))
    text = body.decode("utf-8")
    assert text.startswith(BOM)
    return body, list(csv.DictReader(io.StringIO(text[1:], newline="")))


@pytest.fixture
def tricky() -> dict[str, object]:
    """A person, department, product and adjustment whose texts look like formulas."""
    factories.CommissionRuleFactory()
    department = factories.DepartmentFactory(name="+1")
    person = factories.UserFactory(
        name=DANGEROUS[0], employee_number=DANGEROUS[4], department_id=department.id
    )
    product = factories.ProductFactory(name_vi="-1+2", name_en="-1+2")
    order = payable_order(person, product)
    refund_to(order, 1_200_000)  # half: a reversal of −120.000 ₫
    ledger.record_adjustment(person.id, Money(-1050, "USD"), "@SUM(1)", actor=finance_person())
    return {"person": person, "order": order}


def test_amount_text_uses_the_currency_decimals_without_floats():
    assert amount_text(1250, 2) == "12.50"
    assert amount_text(-5, 2) == "-0.05"
    assert amount_text(-1_250_000, 0) == "-1250000"
    assert neutralise("=1") == "'=1"
    assert neutralise("1=1") == "1=1"
    assert neutralise("") == ""


def test_commission_lines_csv_reads_back_with_text_neutralised_and_numbers_as_numbers(tricky):
    _body, rows = _csv_rows(exports.COMMISSIONS, _today_filter())
    assert [row["entry_kind"] for row in rows] == ["earn", "reversal", "adjustment"]
    earn, reversal, adjustment = rows
    assert earn["employee_name"] == "'" + DANGEROUS[0]
    assert earn["employee_id"] == "'\tE-7"
    assert earn["department"] == "'+1"
    assert earn["product"] == "'-1+2"
    assert adjustment["reason"] == "'@SUM(1)"
    assert earn["order_number"] == tricky["order"].number
    assert Decimal(earn["amount"]) == 240_000
    assert earn["currency"] == "VND"
    assert Decimal(reversal["amount"]) == -120_000  # a negative number, not neutralised
    assert Decimal(earn["base_amount"]) == 2_400_000
    assert earn["rate_percent"] == "10.00"
    assert (earn["returning_customer"], adjustment["returning_customer"]) == ("no", "")
    assert earn["commission_state"] == "payable"
    assert adjustment["amount"] == "-10.50"
    assert adjustment["currency"] == "USD"
    assert date.fromisoformat(earn["entry_date"][:10]) == company_today()
    assert earn["entry_date"].endswith("+07:00")  # ISO 8601, company time (Asia/Ho_Chi_Minh)


def _naive(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_a_serial_date_reads_back_to_the_second():  # naive local date-times, as in the sheet
    from openpyxl.utils.datetime import from_excel

    assert excel_serial(_naive("1899-12-31 00:00:00")) == "1.0000000000"
    assert excel_serial(_naive("2026-01-01 07:00:00.999999")) == "46023.2916666667"
    for moment in [_naive("2026-12-04 23:59:59"), _naive("2027-03-01 00:00:01")]:
        assert from_excel(float(excel_serial(moment))) == moment


def _csv_cell_as_xlsx_reads_it(name: str, text: str) -> object:
    """What openpyxl gives for a CSV cell: numbers as numbers, dates as local date-times."""
    if text == "":
        return None
    column = next(c for c in exports.COMMISSIONS.columns if c.name == name)
    if column.cell is exports.Cell.DATETIME:
        return datetime.fromisoformat(text).replace(tzinfo=None)
    if column.cell in (exports.Cell.MONEY, exports.Cell.RATE):
        return Decimal(text)
    if column.cell is exports.Cell.INT:
        return int(text)
    if column.cell is exports.Cell.TEXT and text.startswith("'"):
        return text[1:]  # the CSV's guard; XLSX marks the cell instead
    return text


def test_the_streamed_xlsx_reads_cell_for_cell_like_the_csv_with_real_dates(tricky):
    chosen = _today_filter()
    _body, csv_rows = _csv_rows(exports.COMMISSIONS, chosen)
    body = b"".join(exports.stream_xlsx(exports.COMMISSIONS, chosen, actor=None))
    sheet = openpyxl.load_workbook(io.BytesIO(body)).active
    rows = list(sheet.iter_rows())
    assert [c.value for c in rows[0]] == exports.COMMISSIONS.header
    assert len(rows) - 1 == len(csv_rows) == 3
    for csv_row, xlsx_row in zip(csv_rows, rows[1:], strict=True):
        for name, cell in zip(exports.COMMISSIONS.header, xlsx_row, strict=True):
            expected = _csv_cell_as_xlsx_reads_it(name, csv_row[name])
            value = Decimal(str(cell.value)) if isinstance(expected, Decimal) else cell.value
            assert value == expected, name
    earn = rows[1]
    # What XML must escape comes back as typed; what it cannot hold is dropped.
    ledger.record_adjustment(
        tricky["person"].id, Money(5000, "VND"), "R&D <bonus>\x07 ok", actor=finance_person()
    )
    body = b"".join(exports.stream_xlsx(exports.COMMISSIONS, chosen, actor=None))
    last = list(openpyxl.load_workbook(io.BytesIO(body)).active.iter_rows(values_only=True))[-1]
    assert last[exports.COMMISSIONS.header.index("reason")] == "R&D <bonus> ok"
    entry_date = earn[exports.COMMISSIONS.header.index("entry_date")]
    assert entry_date.is_date
    assert entry_date.number_format == DATETIME_FORMAT
    assert entry_date.value.date() == company_today()  # company time, not UTC
    paid_at = earn[exports.COMMISSIONS.header.index("order_paid_at")]
    assert isinstance(paid_at.value, datetime)
    assert paid_at.is_date


def test_the_xlsx_download_starts_before_the_first_row_is_read(tricky, monkeypatch):
    read: list[int] = []
    batches = exports.export_batches

    def watched(*args, **kwargs):
        for batch in batches(*args, **kwargs):
            read.append(len(batch))
            yield batch

    monkeypatch.setattr(exports, "export_batches", watched)
    monkeypatch.setattr(exports, "FETCH_ROWS", 1)
    monkeypatch.setattr(exports, "SEND_CHUNK", 1)  # a chunk as soon as anything is written
    stream = exports.stream_xlsx(exports.LEDGER, _today_filter(), actor=None)
    first = next(stream)
    assert first.startswith(b"PK\x03\x04")
    assert read == []  # sent before any row is read
    rest = list(stream)
    assert read == [1, 1, 1]
    assert rest  # then the sheet, deflated as it is written
    sheet = openpyxl.load_workbook(io.BytesIO(first + b"".join(rest))).active
    assert sheet.max_row == 4


def test_an_xlsx_stream_left_unfinished_is_audited_as_incomplete(tricky, monkeypatch):
    monkeypatch.setattr(exports, "FETCH_ROWS", 1)
    monkeypatch.setattr(exports, "SEND_CHUNK", 1)
    stream = exports.stream_xlsx(exports.LEDGER, _today_filter(), actor=None)
    next(stream)
    next(stream)
    stream.close()
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "finance.export")
    ).one()
    assert (event.details["format"], event.details["complete"]) == ("xlsx", False)


def test_the_csv_is_rfc_4180_with_a_bom_and_crlf(tricky):
    body, _rows = _csv_rows(exports.LEDGER, _today_filter())
    assert body.startswith(BOM.encode("utf-8") + b"entry_id,entry_date,entry_kind,")
    lines = body.decode("utf-8").split("\r\n")
    assert lines[-1] == ""
    assert len(lines) == 5
    assert '"\'=HYPERLINK(""http://evil.example"",""x"")"' in body.decode("utf-8")


def test_ledger_xlsx_reads_back_with_text_cells_and_number_cells(tricky, tmp_path):
    path = tmp_path / "ledger.xlsx"
    count = exports.write_xlsx(exports.LEDGER, _today_filter(), str(path), actor=None)
    assert count == 3
    book = openpyxl.load_workbook(path)
    sheet = book.active
    header = [c.value for c in sheet[1]]
    assert header == exports.LEDGER.header
    column = {name: i for i, name in enumerate(header)}
    earn, reversal, adjustment = list(sheet.iter_rows(min_row=2))
    for row, name, text in [
        (earn, "employee_name", DANGEROUS[0]),
        (earn, "employee_id", DANGEROUS[4]),
        (earn, "department", "+1"),
        (adjustment, "reason", "@SUM(1)"),
    ]:
        cell = row[column[name]]
        assert cell.data_type == "s"
        assert cell.value == text
        assert cell.quotePrefix  # shown as typed, never evaluated
    assert earn[column["amount"]].value == 240_000
    assert reversal[column["amount"]].value == -120_000
    assert isinstance(reversal[column["amount"]].value, int)
    assert earn[column["amount"]].data_type == "n"
    assert adjustment[column["amount"]].value == pytest.approx(-10.5)
    assert adjustment[column["currency"]].value == "USD"
    assert not earn[column["currency"]].quotePrefix


def test_commission_lines_xlsx_neutralises_the_product(tricky, tmp_path):
    path = tmp_path / "lines.xlsx"
    exports.write_xlsx(exports.COMMISSIONS, _today_filter(), str(path), actor=None)
    sheet = openpyxl.load_workbook(path, read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    header = list(rows[0])
    earn = rows[1]
    assert earn[header.index("product")] == "-1+2"
    assert earn[header.index("base_amount")] == 2_400_000
    assert earn[header.index("rate_percent")] == pytest.approx(10)


def test_xlsx_keeps_text_that_xml_cannot_hold_readable(tmp_path):
    path = tmp_path / "odd.xlsx"
    workbook = StreamingXlsx(str(path), sheet_name="Odd", header=["a", "b", "c"])
    workbook.write_rows([["a<b>&c", "bell\x07ring", None], ["\x00nul", "", 7]])
    workbook.close()
    rows = list(openpyxl.load_workbook(path).active.iter_rows(values_only=True))
    assert rows[1] == ("a<b>&c", "bellring", None)
    assert rows[2] == ("nul", None, 7)


def test_each_export_is_audited_with_its_filters_and_row_count(tricky, tmp_path):
    person = tricky["person"]
    actor = finance_person()
    chosen = _today_filter(user_id=person.id, currency="VND")
    b"".join(exports.stream_csv(exports.COMMISSIONS, chosen, actor=actor))
    exports.write_xlsx(exports.LEDGER, chosen, str(tmp_path / "l.xlsx"), actor=actor)
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "finance.export").order_by(AuditEvent.id)
    ).all()
    assert [(e.details["export"], e.details["format"], e.details["rows"]) for e in events] == [
        ("commissions", "csv", 2),
        ("ledger", "xlsx", 2),
    ]
    assert all(e.actor_id == actor.id and e.details["complete"] for e in events)
    assert events[0].details["user_id"] == person.id
    assert events[0].details["currency"] == "VND"


def test_a_stream_left_unfinished_is_audited_as_incomplete(tricky, monkeypatch):
    monkeypatch.setattr("perks.finance.exports.FETCH_ROWS", 1)
    stream = exports.stream_csv(exports.LEDGER, _today_filter(), actor=None)
    next(stream)
    stream.close()
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "finance.export")
    ).one()
    assert event.details["complete"] is False


def test_filters_narrow_the_export(tricky):
    _body, rows = _csv_rows(exports.LEDGER, _today_filter(currency="USD"))
    assert [row["entry_kind"] for row in rows] == ["adjustment"]
    _body, rows = _csv_rows(exports.LEDGER, _today_filter(state="adjustment"))
    assert [row["reason"] for row in rows] == ["'@SUM(1)"]


def test_the_export_names_the_batch_holding_an_entry(tricky):
    from perks.finance import payouts

    batch = payouts.draft_batch(company_today(), actor=finance_person())
    _body, rows = _csv_rows(exports.COMMISSIONS, _today_filter(currency="VND"))
    assert {row["payout_batch"] for row in rows} == {batch.reference}


# In the background ------------------------------------------------------------------------------


def test_a_filter_comes_back_whole_from_a_jobs_payload():
    today = company_today()
    chosen = ReportFilter(
        period=Period(date(today.year, 1, 1), today),
        currency="USD",
        user_id=3,
        no_department=True,
        product_id=5,
        state="paid",
        kind=EntryKind.PAYOUT,
    )
    assert exports.filter_from(json.loads(json.dumps(chosen.audit_details()))) == chosen


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_a_background_export_stores_the_file_in_pieces_as_the_rows_stream(
    tricky, monkeypatch, file_format
):
    monkeypatch.setattr(background, "FILE_PIECE", 512)  # many small pieces
    chosen = _today_filter()

    job = exports.start_export(
        exports.COMMISSIONS, chosen, file_format, actor=finance_person(), locale="vi"
    )

    db.session.expire_all()
    job = db.session.get(BackgroundJob, job.id)
    assert job.state is JobState.SUCCEEDED
    assert job.result["rows"] == 3
    stored = b"".join(background.read_file(job.id))
    assert job.file["size"] == len(stored)
    assert job.file["pieces"] == -(-len(stored) // 512) > 1
    if file_format == "csv":
        direct = b"".join(exports.stream_csv(exports.COMMISSIONS, chosen, actor=None))
        assert stored == direct
    else:
        sheet = openpyxl.load_workbook(io.BytesIO(stored)).active
        target = io.BytesIO()
        exports.write_xlsx(exports.COMMISSIONS, chosen, target, actor=None)
        direct = openpyxl.load_workbook(io.BytesIO(target.getvalue())).active
        assert [[c.value for c in row] for row in sheet.iter_rows()] == [
            [c.value for c in row] for row in direct.iter_rows()
        ]


def test_asking_twice_for_an_export_while_it_waits_gives_the_same_job(tricky, monkeypatch):
    """A double click (or a second tab) on "Export in the background" started two jobs that
    each wrote the whole large file."""
    monkeypatch.setattr(background, "enqueue", lambda *args: None)  # no worker takes it yet
    asker = finance_person()
    chosen = _today_filter()

    first = exports.start_export(exports.COMMISSIONS, chosen, "csv", actor=asker, locale="vi")
    again = exports.start_export(exports.COMMISSIONS, chosen, "csv", actor=asker, locale="vi")
    other_format = exports.start_export(
        exports.COMMISSIONS, chosen, "xlsx", actor=asker, locale="vi"
    )
    colleague = exports.start_export(
        exports.COMMISSIONS, chosen, "csv", actor=finance_person(), locale="vi"
    )

    assert again.id == first.id
    assert len({first.id, other_format.id, colleague.id}) == 3
    assert db.session.scalar(select(func.count()).select_from(BackgroundJob)) == 3


@pytest.mark.parametrize("since", ["deactivated", "out of finance"])
def test_an_export_job_whose_starter_left_finance_since_exports_nothing(tricky, since):
    """The job checked nothing about its starter when it ran: someone deactivated or taken
    out of finance after asking still had the commissions written out in their name."""
    asker = finance_person()
    chosen = _today_filter()
    waiting = BackgroundJob(
        kind=exports.JOB_KIND,
        subject="export",
        payload={
            "export": exports.COMMISSIONS.name,
            "format": "csv",
            "filter": chosen.audit_details(),
            "filename": exports.file_name(exports.COMMISSIONS, chosen, "csv"),
        },
        created_by_id=asker.id,
        locale="en",
        heartbeat_at=utcnow(),
    )
    db.session.add(waiting)
    if since == "deactivated":
        asker.active = False
    else:
        asker.set_roles({Role.EMPLOYEE})
    db.session.commit()

    assert background.execute(waiting.id) is JobState.FAILED

    db.session.expire_all()
    job = db.session.get(BackgroundJob, waiting.id)
    assert "no longer active in finance" in job.error
    assert job.file is None


@pytest.mark.parametrize("export", exports.EXPORTS.values(), ids=lambda export: export.name)
def test_the_columns_describe_every_entry_kind_and_reason_the_app_writes(export):
    """The exports page said the reason was redeemed, refund, dispute_lost, payout or
    finance's words, and the kind earn, reversal, adjustment or payout: a payout's
    ``withholding`` entry (and a leaver's ``left_company`` reversal) were in the file
    without a word about them."""
    described = {column.name: str(column.description) for column in export.columns}

    assert [kind.value for kind in EntryKind if kind.value not in described["entry_kind"]] == []
    codes = [*SYSTEM_REASONS, *(outcome.value for outcome in BalanceOutcome)]
    assert [code for code in codes if code not in described["reason"]] == []


@pytest.mark.parametrize(("locale", "named"), [("en", "Tour Hạ Long"), ("vi", "Ha Long tour")])
def test_a_product_named_in_one_language_keeps_its_name_in_the_other_languages_export(
    locale, named
):
    """As the report by product shows it (``Product.name``): the other language's name, not
    an empty cell."""
    factories.CommissionRuleFactory()
    person = factories.UserFactory()
    names = {"name_vi": named, "name_en": ""}
    if locale == "vi":
        names = {"name_vi": "", "name_en": named}
    payable_order(person, factories.ProductFactory(**names))
    body = exports.stream_csv(exports.COMMISSIONS, _today_filter(), actor=None, locale=locale)
    text = b"".join(body).decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text[1:], newline="")))
    assert [row["product"] for row in rows] == [named]
