"""The payroll and bank transfer files of a payout batch through finance's named column
mappings: who goes in which file, totals equal to the batch and the ledger, every cell
formula-safe, CSV and XLSX, audited; and the yearly withholding summary."""

from __future__ import annotations

import csv
import io
from datetime import date

import openpyxl
import pytest
from sqlalchemy import delete, func, select

from perks.audit import AuditEvent
from perks.commissions import tax
from perks.commissions.models import EntryKind, LedgerEntry
from perks.commissions.tax import ProfileFields
from perks.extensions import db
from perks.finance import payfiles, payouts
from perks.finance.mapping_models import ExportMapping
from perks.finance.models import PayoutBatch, PayoutLine
from perks.i18n import company_today
from perks.money import Money
from perks.people.models import EmploymentType
from perks.tabular import FORMULA_TRIGGERS
from tests import factories
from tests.helpers import login
from tests.unit.finance.helpers import finance_person, payable_order

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def story(app):  # type: ignore[no-untyped-def]
    """A batch paying a staff member (payroll), a resident contractor withheld 10 % and a
    non-resident partner withheld 20 % (both by bank transfer), approved by a second finance
    person; the mappings are the seeded ones, written again (the tests empty the tables)."""
    db.session.execute(delete(tax.WithholdingRate))
    db.session.execute(delete(ExportMapping))
    db.session.commit()
    drafter, approver = finance_person(), finance_person()
    for kind in payfiles.KINDS:
        payfiles.save_mapping(
            None,
            f"Generic {kind}",
            kind,
            payfiles.columns_text(payfiles.DEFAULT_COLUMNS[kind]),
            actor=drafter,
        )
    for resident, bps, threshold in ((True, 1000, 2_000_000), (False, 2000, 0)):
        tax.add_withholding_rate(
            date(2013, 10, 1),
            resident=resident,
            rate_bps=bps,
            threshold=Money(threshold, "VND"),
            note="",
            actor=drafter,
        )
    factories.CommissionRuleFactory()  # 10 %
    department = factories.DepartmentFactory(name="+Kinh doanh")
    staff = factories.UserFactory(
        name="Lê Văn Lương", employee_number="NV-001", department=department
    )
    contractor = factories.UserFactory(
        name='=HYPERLINK("http://x")',
        employee_number="CTV-7",
        employment_type=EmploymentType.CONTRACTOR,
    )
    partner = factories.UserFactory(name="Acme Partner", employment_type=EmploymentType.PARTNER)
    tax.save_tax_profile(
        staff.id, ProfileFields(tax_code="0312345673", long_contract=True), actor=drafter
    )
    tax.save_tax_profile(
        contractor.id,
        ProfileFields(
            tax_code="0312345680-001",
            bank_account_number="19031234567890",
            bank_name="@Techcombank",
            account_holder="-NGUYEN VAN A",
        ),
        actor=drafter,
    )
    tax.save_tax_profile(
        partner.id,
        ProfileFields(resident=False, bank_account_number="123456789", bank_name="HSBC"),
        actor=drafter,
    )
    for person, commission in ((staff, 3_000_000), (contractor, 2_500_000), (partner, 700_001)):
        payable_order(person, factories.ProductFactory(price_amount=commission * 10))
    batch = payouts.draft_batch(company_today(), actor=drafter)
    payouts.approve_batch(batch.id, actor=approver)
    return {
        "batch": batch,
        "drafter": drafter,
        "staff": staff,
        "contractor": contractor,
        "partner": partner,
    }


def _download(client, url: str) -> bytes:  # type: ignore[no-untyped-def]
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.get_data()


def _xlsx_rows(body: bytes) -> list[tuple]:
    sheet = openpyxl.load_workbook(io.BytesIO(body)).active
    for row in sheet.iter_rows():
        for cell in row:
            assert cell.data_type != "f"
            if isinstance(cell.value, str) and cell.value[:1] in FORMULA_TRIGGERS:
                assert cell.quotePrefix, cell.value  # shown as typed, never evaluated
    return [tuple(c.value for c in row) for row in sheet.iter_rows()]


def _files(client, batch: PayoutBatch) -> dict[str, list[tuple]]:  # type: ignore[no-untyped-def]
    mappings = {m.kind: m.id for m in payfiles.mappings()}
    return {
        kind: _xlsx_rows(
            _download(client, f"/finance/payouts/{batch.id}/files/{kind}/{mappings[kind]}.xlsx")
        )
        for kind in payfiles.KINDS
    }


def test_the_files_split_the_batch_and_add_up_to_it_and_to_the_ledger(app, client, story):
    batch = story["batch"]
    login(client, story["drafter"])
    before = _files(client, batch)  # approved: figures as if paid today
    payouts.mark_batch_paid(batch.id, "UNC-77", actor=story["drafter"])
    files = _files(client, batch)
    assert files == before  # what was exported before is what was paid

    payroll, bank = files["payroll"], files["bank"]
    assert payroll[0] == (
        "Mã NV",
        "Mã số thuế",
        "Họ và tên",
        "Phòng ban",
        "Tổng thu nhập",
        "Thu nhập chịu thuế",
        "Thuế TNCN đã khấu trừ",
        "Thực nhận",
        "Loại tiền",
        "Kỳ lương",
    )
    period = f"{batch.cutoff_date:%m/%Y}"
    assert payroll[1:] == [
        (
            "NV-001",
            "0312345673",
            "Lê Văn Lương",
            "+Kinh doanh",
            3_000_000,
            3_000_000,
            0,
            3_000_000,
            "VND",
            period,
        ),
    ]
    assert bank[0] == (
        "Số tài khoản",
        "Ngân hàng",
        "Tên người thụ hưởng",
        "Số tiền",
        "Loại tiền",
        "Nội dung chuyển khoản",
    )
    assert sorted(bank[1:]) == sorted(
        [
            (
                "19031234567890",
                "@Techcombank",
                "-NGUYEN VAN A",
                2_250_000,
                "VND",
                f"HOA HONG {batch.reference} CTV-7",
            ),
            (
                "123456789",
                "HSBC",
                "Acme Partner",
                560_001,
                "VND",
                f"HOA HONG {batch.reference} ID{story['partner'].id}",
            ),
        ]
    )

    db.session.expire_all()
    lines = list(db.session.scalars(select(PayoutLine).where(PayoutLine.batch_id == batch.id)))
    gross = sum(line.amount for line in lines)
    assert gross == 3_000_000 + 2_500_000 + 700_001
    paid_in_files = payroll[1][7] + sum(row[3] for row in bank[1:])
    withheld = sum(line.withheld_amount for line in lines)
    assert withheld == 250_000 + 140_000  # 20 % of 700,001 is 140,000.2: rounded down
    assert paid_in_files == gross - withheld

    def ledger_sum(kind: EntryKind) -> int:
        return -db.session.scalar(
            select(func.sum(LedgerEntry.amount)).where(
                LedgerEntry.kind == kind, LedgerEntry.payout_batch_id == batch.id
            )
        )

    assert ledger_sum(EntryKind.PAYOUT) == paid_in_files
    assert ledger_sum(EntryKind.WITHHOLDING) == withheld
    exported = list(
        db.session.scalars(select(AuditEvent).where(AuditEvent.action == "finance.payout_exported"))
    )
    assert {(e.details["file"], e.details["format"]) for e in exported} == {
        ("payroll", "xlsx"),
        ("bank", "xlsx"),
    }


def test_the_csv_files_are_formula_safe_and_follow_a_changed_mapping(app, client, story):
    batch = story["batch"]
    mapping = next(m for m in payfiles.mappings("bank"))
    payfiles.save_mapping(
        mapping.id,
        "My bank",
        "bank",
        "name = Payee\naccount_number = Account\nnet = Amount\ntax_code = MST",
        actor=story["drafter"],
    )
    login(client, story["drafter"])
    body = _download(client, f"/finance/payouts/{batch.id}/files/bank/{mapping.id}.csv")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    assert rows[0] == ["Payee", "Account", "Amount", "MST"]
    assert ['\'=HYPERLINK("http://x")', "19031234567890", "2250000", "0312345680-001"] in rows
    for row in rows:
        for cell in row:
            assert cell[:1] not in FORMULA_TRIGGERS or cell.startswith("'")


def test_a_mapping_is_validated_and_the_wrong_kind_or_a_draft_is_refused(app, client, story):
    login(client, story["drafter"])
    for columns in ("salary = Lương", "name = =SUM(A1)", "", "name"):
        response = client.post(
            "/finance/tax/mappings/new",
            data={"name": "Bad", "kind": "payroll", "columns": columns},
        )
        assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(ExportMapping)) == 2
    response = client.post(
        "/finance/tax/mappings/new",
        data={
            "name": "MISA",
            "kind": "payroll",
            "columns": "employee_number = Mã nhân viên\ngross = Hoa hồng",
        },
    )
    assert response.status_code == 302
    bank = next(m for m in payfiles.mappings("bank"))
    response = client.get(f"/finance/payouts/{story['batch'].id}/files/payroll/{bank.id}.csv")
    assert response.status_code == 302  # the bank mapping cannot shape the payroll file
    assert (
        client.get(f"/finance/payouts/{story['batch'].id}/files/payroll/999.csv").status_code == 404
    )


def test_a_mapping_has_its_own_name_and_each_column_its_own_header_in_any_case(app, client, story):
    """ "generic vietnamese bank transfer" was saved beside "Generic Vietnamese bank transfer"
    (two look-alike links on every batch), and "net = A" with "gross = A" made a file whose two
    columns the bank's import cannot tell apart."""
    login(client, story["drafter"])
    bank = next(m for m in payfiles.mappings("bank"))
    payroll = next(m for m in payfiles.mappings("payroll"))
    for name in (bank.name.lower(), bank.name.upper(), payroll.name.swapcase()):
        again = client.post(
            "/finance/tax/mappings/new",
            data={"name": name, "kind": "bank", "columns": "net = Số tiền"},
        )
        assert again.status_code == 400
        assert "Another mapping is called that." in again.get_data(as_text=True)
    twice = client.post(
        "/finance/tax/mappings/new",
        data={"name": "Đôi", "kind": "bank", "columns": "net = Số tiền\ngross = SỐ TIỀN"},
    )
    assert twice.status_code == 400
    assert "Line 2: another column is headed “SỐ TIỀN” already" in twice.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ExportMapping)) == 2
    # a mapping keeps its own name, in another case too
    renamed = client.post(
        f"/finance/tax/mappings/{bank.id}",
        data={
            "name": bank.name.upper(),
            "kind": "bank",
            "columns": "net = Số tiền",
            "shown": payfiles.shown_fingerprint(bank),
        },
    )
    assert renamed.status_code == 302
    db.session.expire_all()
    assert payfiles.get_mapping(bank.id).name == bank.name.upper()


def test_the_yearly_summary_is_one_click(app, client, story):
    payouts.mark_batch_paid(story["batch"].id, "UNC-1", actor=story["drafter"])
    login(client, story["drafter"])
    year = company_today().year
    response = client.get(f"/finance/tax/summary?year={year}&format=xlsx")
    assert response.status_code == 302
    rows = _xlsx_rows(_download(client, response.headers["Location"]))
    assert rows[0][:4] == ("Year", "Employee number", "Tax code", "Name")
    by_name = {row[3]: row for row in rows[1:]}
    assert by_name["Acme Partner"][4:9] == ("No", "VND", 700_001, 700_001, 140_000)
    assert by_name['=HYPERLINK("http://x")'][6:9] == (2_500_000, 2_500_000, 250_000)
    assert by_name["Lê Văn Lương"][6:9] == (3_000_000, 3_000_000, 0)
    csv_body = _download(client, f"/finance/tax/withholding-{year}.csv").decode("utf-8-sig")
    assert "'=HYPERLINK" in csv_body
    assert _download(client, f"/finance/tax/withholding-{year - 1}.csv").count(b"\n") == 1
    assert client.get("/finance/tax/summary?year=abc").status_code == 302


def test_the_pages_offering_the_files_say_to_open_the_xlsx_in_excel(app, client, story):
    """Excel reads a CSV's tax codes and account numbers as numbers: 079000063352 loses its 0."""
    login(client, story["drafter"])
    for page in (f"/finance/payouts/{story['batch'].id}", "/finance/tax"):
        html = client.get(page).get_data(as_text=True)
        assert 'data-testid="csv-in-excel"' in html, page
        assert "drops their leading zeros" in html, page


def test_a_paid_batchs_files_stay_as_paid_when_a_payee_moves_onto_payroll(app, client, story):
    """The contractor was paid by bank transfer, net of 10 %; a month later they sign a
    labour contract (their profile says so, and they become staff). The paid batch's bank
    file, downloaded again for the bank's statement, lost their transfer, and its payroll
    file gained a line payroll never ran. A paid batch's files say who paid each line as it
    was paid."""
    batch = story["batch"]
    login(client, story["drafter"])
    payouts.mark_batch_paid(batch.id, "UNC-78", actor=story["drafter"])
    paid = _files(client, batch)
    contractor = story["contractor"]
    tax.save_tax_profile(
        contractor.id,
        ProfileFields(
            tax_code="0312345680-001",
            long_contract=True,
            bank_account_number="19031234567890",
            bank_name="@Techcombank",
            account_holder="-NGUYEN VAN A",
        ),
        actor=finance_person(),
    )
    db.session.get(type(contractor), contractor.id).employment_type = EmploymentType.STAFF
    staff = story["staff"]
    tax.save_tax_profile(
        staff.id,
        ProfileFields(tax_code="0312345673", long_contract=False),
        actor=finance_person(),
    )
    db.session.commit()
    assert _files(client, batch) == paid


def test_the_yearly_summary_says_the_residence_the_tax_was_withheld_for(app, client, story):
    """The partner was withheld 20 % as a non-resident; the next year finance marks them
    resident. The summary of the year they were paid in, downloaded again for their
    withholding certificate, called them a resident beside a 20 % withholding."""
    payouts.mark_batch_paid(story["batch"].id, "UNC-2", actor=story["drafter"])
    tax.save_tax_profile(
        story["partner"].id,
        ProfileFields(resident=True, bank_account_number="123456789", bank_name="HSBC"),
        actor=finance_person(),
    )
    login(client, story["drafter"])
    year = company_today().year
    rows = _xlsx_rows(_download(client, f"/finance/tax/withholding-{year}.xlsx"))
    by_name = {row[3]: row for row in rows[1:]}
    assert by_name["Acme Partner"][4:9] == ("No", "VND", 700_001, 700_001, 140_000)
    assert by_name["Lê Văn Lương"][4] == "Yes"


def test_the_bank_file_names_the_payee_without_diacritics_as_banks_take_it(app, client, story):
    """A Vietnamese bank's bulk transfer refuses a beneficiary's name with diacritics, as it
    refuses them in the note: a payee whose profile names no account holder is paid under
    their name, so "Đỗ Thị Hường" goes to the bank as "Do Thi Huong"; an account holder
    typed with diacritics likewise."""
    drafter = story["drafter"]
    payee = factories.UserFactory(name="Đỗ Thị Hường", employment_type=EmploymentType.CONTRACTOR)
    other = factories.UserFactory(name="Ngô Bảo", employment_type=EmploymentType.CONTRACTOR)
    other_fields = {"bank_account_number": "0011223344", "bank_name": "Vietcombank"}
    tax.save_tax_profile(payee.id, ProfileFields(**other_fields), actor=drafter)
    tax.save_tax_profile(
        other.id, ProfileFields(account_holder="Ngô Gia Bảo", **other_fields), actor=drafter
    )
    payable_order(payee, factories.ProductFactory(price_amount=15_000_000))
    payable_order(other, factories.ProductFactory(price_amount=15_000_000))
    batch = payouts.draft_batch(company_today(), actor=drafter)
    payouts.approve_batch(batch.id, actor=finance_person())
    login(client, drafter)
    bank = next(m for m in payfiles.mappings("bank"))
    body = _download(client, f"/finance/payouts/{batch.id}/files/bank/{bank.id}.csv")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    holders = {row[2] for row in rows[1:]}
    assert {"Do Thi Huong", "Ngo Gia Bao"} <= holders
    for holder in holders:
        assert holder.isascii(), holder
