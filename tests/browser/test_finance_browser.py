"""A payout, four eyes, each person in their own browser against the live server: finance
person A drafts a batch and is told another finance person must approve it; B approves it;
A downloads the payroll file (read back with the csv module) and marks the batch paid with
the payroll run's reference; the employee then sees the commission paid on their earnings
page, in Vietnamese. The commission report ties to the ledger."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from perks import glossary
from perks.commissions import tax
from perks.commissions.tax import ProfileFields
from perks.finance import payouts
from perks.finance.payroll import PAYROLL_HEADER
from perks.i18n import company_today
from perks.people.models import EmploymentType
from tests import factories
from tests.browser.helpers import (
    AXE,
    AXE_RUN,
    BLOCKING_IMPACTS,
    assert_fits_its_parent,
    assert_fits_the_screen,
    new_context,
    sign_in,
)
from tests.unit.finance.helpers import finance_person, payable_order, refund_to

pytestmark = pytest.mark.browser

PAYROLL_RUN = "LUONG-2026-11"


@pytest.fixture
def other_browsers(browser: Browser, live_server: str) -> Iterator:  # type: ignore[type-arg]
    """``open_as(email, locale)``: a signed-in page in a fresh browser profile of its own."""
    contexts = []

    def open_as(email: str, locale: str = "en-US") -> Page:
        context = new_context(browser, live_server, locale=locale)
        contexts.append(context)
        page = context.new_page()
        sign_in(page, email)
        return page

    yield open_as
    for context in contexts:
        context.close()


def test_a_payout_is_drafted_approved_by_someone_else_exported_and_paid(
    page: Page, other_browsers, screenshots
):
    factories.CommissionRuleFactory(rate_bps=1000)  # 10 % of every line
    sales = factories.DepartmentFactory(name="Kinh doanh")
    trang = factories.UserFactory(
        name="Phạm Thu Trang", employee_number="NV-0042", department_id=sales.id, locale="vi"
    )
    khoa = factories.UserFactory(name="Trần Minh Khoa", employee_number="NV-0107")
    tour = factories.ProductFactory(name_vi="Tour Hạ Long", price_amount=2_400_000)
    stay = factories.ProductFactory(name_vi="Resort Phú Quốc", price_amount=1_500_000)
    trangs_order = payable_order(trang, tour)  # 240.000 ₫
    payable_order(trang, stay, quantity=2)  # 300.000 ₫
    refund_to(payable_order(khoa, stay), 750_000)  # 150.000 ₫ less 75.000 ₫ taken back
    drafter = finance_person(name="Phạm Minh Tuấn")
    approver = finance_person(name="Vũ Thu Hà")
    trang_email, khoa_email, number = trang.email, khoa.email, trangs_order.number
    drafter_email, approver_email = drafter.email, approver.email

    # A drafts the batch of everything payable up to today.
    sign_in(page, drafter_email)
    # Through the navigation: the Finance menu opens and leads to the payouts.
    navigation = page.get_by_role("navigation", name="Main navigation")
    navigation.get_by_role("button", name="Finance").click()
    navigation.get_by_role("link", name="Payouts").click()
    expect(page).to_have_url(re.compile(r"/finance/payouts$"))
    page.get_by_test_id("draft-batch").click()
    expect(page).to_have_url(re.compile(r"/finance/payouts/\d+$"))
    batch_url = page.url
    reference = page.get_by_test_id("batch-reference").inner_text()
    expect(page.get_by_test_id("batch-status")).to_have_text("Draft")
    expect(page.get_by_test_id("batch-total")).to_contain_text("₫615,000")
    trangs_line = page.get_by_test_id("batch-line").filter(has_text="Phạm Thu Trang")
    expect(trangs_line).to_contain_text("₫540,000")
    # Four eyes: A is told someone else approves, and has no way to approve.
    expect(page.get_by_test_id("four-eyes-note")).to_have_text(
        "You drafted this batch: another finance person must approve it."
    )
    expect(page.get_by_test_id("approve-batch")).to_have_count(0)
    # On a phone each line is a card: its amount and "Leave out" are in sight, not scrolled
    # away inside the table.
    page.set_viewport_size({"width": 390, "height": 844})
    lines = page.get_by_test_id("batch-lines")
    assert_fits_its_parent(lines)
    box = trangs_line.get_by_role("button", name="Leave out").bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= 390
    assert_fits_the_screen(page)
    for url, table in (
        ("/finance/commissions", "finance-commissions"),
        ("/finance/reports", "report-rows"),
        ("/finance/reports/lines", "report-lines"),
    ):
        page.goto(url)
        shown = page.get_by_test_id(table)
        expect(shown).to_be_visible()
        fits = "t => t.parentElement.scrollWidth <= t.parentElement.clientWidth"
        assert shown.evaluate(fits), url  # a card a row, not a table scrolled sideways
    page.goto(batch_url)
    page.set_viewport_size({"width": 1280, "height": 800})

    # B approves it in their own browser.
    second = other_browsers(approver_email)
    second.goto(batch_url)
    expect(second.get_by_test_id("four-eyes-note")).to_have_count(0)
    second.once("dialog", lambda dialog: dialog.accept())
    second.get_by_test_id("approve-batch").click()
    expect(second.get_by_test_id("batch-status")).to_have_text("Approved")

    # A downloads every line: one row per person, amounts in đồng, who pays it, tax and net.
    page.reload()
    expect(page.get_by_test_id("batch-status")).to_have_text("Approved")
    with page.expect_download() as download_info:
        page.get_by_test_id("payroll-csv").click()
    download = download_info.value
    assert download.suggested_filename == f"lines-{reference}.csv"  # not the pay files' name
    with open(download.path(), encoding="utf-8-sig", newline="") as payroll:
        rows = list(csv.reader(payroll))
    assert rows[0] == list(PAYROLL_HEADER)
    assert rows[1:] == [
        [
            reference,
            "NV-0042",
            "Phạm Thu Trang",
            trang_email,
            "540000",
            "VND",
            "payroll",
            "0",
            "540000",
        ],
        [
            reference,
            "NV-0107",
            "Trần Minh Khoa",
            khoa_email,
            "75000",
            "VND",
            "payroll",
            "0",
            "75000",
        ],
    ]

    # Payroll has run: A marks the batch paid with the run's reference.
    form = page.get_by_test_id("paid-form")
    form.get_by_role("textbox").fill(PAYROLL_RUN)
    form.get_by_test_id("mark-paid").click()
    # It runs in the background: its page shows the outcome, then leads back to the batch.
    expect(page.get_by_test_id("job-state")).to_have_text("Done")
    expect(page.get_by_test_id("payout-result")).to_contain_text("The batch is paid")
    page.get_by_test_id("batch-link").click()
    expect(page.get_by_test_id("batch-status")).to_have_text("Paid")
    expect(page.get_by_test_id("paid-info")).to_contain_text(PAYROLL_RUN)
    expect(page.get_by_test_id("paid-form")).to_have_count(0)
    screenshots(page, "finance-payouts")

    # The report of the month: earned, taken back and paid out, tied to the ledger.
    page.goto("/finance/reports")
    totals = page.get_by_test_id("total-VND")
    expect(totals.get_by_test_id("balance-change")).to_have_text("₫0")
    expect(totals.get_by_test_id("ledger-sum")).to_contain_text("ties to the ledger")
    expect(page.get_by_test_id("report-row")).to_have_count(2)
    screenshots(page, "finance-reports")

    # The employee sees the commission paid, in their own language.
    mine = other_browsers(trang_email, locale="vi-VN")
    mine.goto("/earnings")
    row = mine.get_by_test_id("commission").filter(has_text=number)
    expect(row).to_have_attribute("data-state", "paid")
    expect(row.get_by_test_id("state")).to_have_text(glossary.PAID.vietnamese)  # đã chi trả


def test_the_approver_reads_a_drafts_tax_and_net_on_a_phone_in_vietnamese(
    browser: Browser, live_server: str, screenshots
):
    """Before approving, on a 390 px phone: each line's estimated tax, net and who pays it,
    a missing bank account flagged, the totals; nothing sideways, no axe-core violation."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `make node-packages`", pytrace=False)
    drafter = finance_person(name="Phạm Minh Tuấn")
    approver = finance_person(name="Vũ Thu Hà", locale="vi")
    tax.add_circular_111_rates(drafter)
    factories.CommissionRuleFactory(rate_bps=1000)  # 10 % of every line
    staff = factories.UserFactory(name="Phạm Thu Trang", employee_number="NV-0042")
    helper = factories.UserFactory(
        name="Nguyễn Hoàng Bảo Ngọc Trâm",
        employee_number="CTV-0007",
        employment_type=EmploymentType.CONTRACTOR,
    )
    tax.save_tax_profile(helper.id, ProfileFields(tax_code="0312345673"), actor=drafter)
    payable_order(staff, factories.ProductFactory(price_amount=5_400_000))  # 540.000 ₫
    payable_order(helper, factories.ProductFactory(price_amount=23_456_790))  # 2.345.679 ₫
    batch_id = payouts.draft_batch(company_today(), actor=drafter).id
    approver_email = approver.email

    context = new_context(browser, live_server, locale="vi")
    context.add_init_script(path=str(AXE))
    try:
        page = context.new_page()
        sign_in(page, approver_email)
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(f"/finance/payouts/{batch_id}")
        line = page.get_by_test_id("batch-line").filter(has_text="Nguyễn Hoàng Bảo Ngọc Trâm")
        expect(line.get_by_test_id("estimate-withheld")).to_have_text("234.567\xa0₫")
        expect(line.get_by_test_id("estimate-net")).to_have_text("2.111.112\xa0₫")
        expect(line.get_by_test_id("estimate-paid-by")).to_contain_text("Chuyển khoản ngân hàng")
        expect(line.get_by_test_id("bank-details-missing")).to_have_text(
            "Thiếu thông tin ngân hàng"
        )
        staff_line = page.get_by_test_id("batch-line").filter(has_text="Phạm Thu Trang")
        expect(staff_line.get_by_test_id("estimate-paid-by")).to_have_text("Bảng lương")
        expect(page.get_by_test_id("total-net")).to_have_text("2.651.112\xa0₫")
        expect(page.get_by_test_id("bank-details-missing-note")).to_be_visible()
        for shown in (
            line.get_by_test_id("estimate-net"),
            line.get_by_test_id("bank-details-missing"),
            page.get_by_test_id("total-withheld"),
            line.get_by_role("button", name="Loại ra"),
        ):
            box = shown.bounding_box()
            assert box is not None
            assert box["x"] >= 0, box
            assert box["x"] + box["width"] <= 390, box
        lines = page.get_by_test_id("batch-lines")
        assert_fits_its_parent(lines)
        assert_fits_the_screen(page)
        assert page.evaluate(AXE_RUN, BLOCKING_IMPACTS) == []
        line.scroll_into_view_if_needed()
        screenshots(page, "phone-payout-batch")
    finally:
        context.close()
