"""Personal income tax withheld when a payout batch is paid: both sides of the threshold,
with and without the commitment form, a non-resident, salary income on payroll, and a
dated change of rate; every withholding a ledger entry, the person told, verify-ledger
content, and only finance sees tax profiles."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from babel.dates import format_date
from sqlalchemy import delete, func, select

from perks.audit import AuditEvent
from perks.commissions import tax
from perks.commissions.models import EntryKind, LedgerEntry
from perks.commissions.tax import ProfileFields, Treatment
from perks.commissions.verify import verify_ledger
from perks.errors import Conflict, NotPermitted, ValidationFailed
from perks.extensions import db
from perks.finance import payouts
from perks.finance.models import PayoutBatch, PayoutLine
from perks.i18n import company_today
from perks.mail import OutboxMessage
from perks.money import Money
from perks.notifications.models import Notification
from perks.people.models import EmploymentType, Role
from tests import factories
from tests.helpers import counting_statements, login
from tests.unit.finance.helpers import (
    finance_person,
    make_payable,
    pay,
    payable_order,
    redeem,
    referred_order,
)

RESIDENT_FROM = date(2013, 10, 1)


@pytest.fixture
def finance(app):  # type: ignore[no-untyped-def]
    return finance_person(), finance_person()


@pytest.fixture
def rates(finance):  # type: ignore[no-untyped-def]
    """Circular 111/2013's rates, as the migration seeds them (the first test of a session
    still has the seeded rows: they go first); 10 % of every line earns."""
    db.session.execute(delete(tax.WithholdingRate))
    db.session.commit()
    factories.CommissionRuleFactory()  # 10 %
    actor = finance[0]
    tax.add_withholding_rate(
        RESIDENT_FROM,
        resident=True,
        rate_bps=1000,
        threshold=Money(2_000_000, "VND"),
        note="TT 111",
        actor=actor,
    )
    tax.add_withholding_rate(
        RESIDENT_FROM,
        resident=False,
        rate_bps=2000,
        threshold=Money(0, "VND"),
        note="TT 111",
        actor=actor,
    )


def contractor(**profile: object):  # type: ignore[no-untyped-def]
    person = factories.UserFactory(employment_type=EmploymentType.CONTRACTOR)
    if profile:
        tax.save_tax_profile(
            person.id,
            ProfileFields(**profile),
            actor=finance_person(),  # type: ignore[arg-type]
        )
    return person


def earn(person, commission: int) -> None:  # type: ignore[no-untyped-def]
    """``person`` earns ``commission`` ₫, payable now (10 % of a line of ten times it)."""
    payable_order(person, factories.ProductFactory(price_amount=commission * 10))


def pay_batch(finance) -> PayoutBatch:  # type: ignore[no-untyped-def]
    drafter, approver = finance
    batch = payouts.draft_batch(company_today(), actor=drafter)
    payouts.approve_batch(batch.id, actor=approver)
    return payouts.mark_batch_paid(batch.id, "UNC-1", actor=drafter)


def line_of(person) -> PayoutLine:  # type: ignore[no-untyped-def]
    db.session.expire_all()
    return db.session.scalars(select(PayoutLine).where(PayoutLine.user_id == person.id)).one()


def entries_of(person, kind: EntryKind) -> list[int]:  # type: ignore[no-untyped-def]
    return list(
        db.session.scalars(
            select(LedgerEntry.amount).where(
                LedgerEntry.user_id == person.id, LedgerEntry.kind == kind
            )
        )
    )


def paid_mail(person) -> str:  # type: ignore[no-untyped-def]
    """The text and HTML of the "your commissions were paid" e-mail to ``person`` (one)."""
    [mail] = [
        m
        for m in db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.recipient == person.email)
        )
        if "withheld" not in m.subject and "were paid" in m.subject
    ]
    return mail.body_text + mail.body_html


@pytest.mark.usefixtures("rates")
def test_a_resident_is_withheld_ten_percent_from_the_threshold_and_not_below(finance):
    at_threshold = contractor(tax_code="0312345673")
    just_below = contractor(tax_code="0312345680")
    earn(at_threshold, 2_000_000)
    earn(just_below, 1_999_999)
    batch = pay_batch(finance)

    line = line_of(at_threshold)
    assert (line.amount, line.taxable_amount, line.withheld_amount) == (
        2_000_000,
        2_000_000,
        200_000,
    )
    assert line.tax_treatment == Treatment.WITHHELD.value
    assert entries_of(at_threshold, EntryKind.WITHHOLDING) == [-200_000]
    assert entries_of(at_threshold, EntryKind.PAYOUT) == [-1_800_000]

    below = line_of(just_below)
    assert (below.withheld_amount, below.tax_treatment) == (0, Treatment.BELOW_THRESHOLD.value)
    assert entries_of(just_below, EntryKind.WITHHOLDING) == []
    assert entries_of(just_below, EntryKind.PAYOUT) == [-1_999_999]

    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "finance.payout_paid")
    ).one()
    assert event.details["withheld"] == {"VND": 200_000}
    assert verify_ledger().ok, verify_ledger().problems
    assert batch.reference


@pytest.mark.usefixtures("rates")
def test_the_tax_is_rounded_down_to_the_dong_and_withheld_plus_paid_is_the_gross(finance):
    person = contractor()  # no profile: a contractor counts as a resident without a contract
    earn(person, 2_345_679)
    pay_batch(finance)
    line = line_of(person)
    assert line.withheld_amount == 234_567  # 234,567.9 rounded down
    assert sum(
        entries_of(person, EntryKind.WITHHOLDING) + entries_of(person, EntryKind.PAYOUT)
    ) == (-2_345_679)


@pytest.mark.usefixtures("rates")
def test_the_commitment_form_of_the_payment_year_stops_withholding_for_residents_only(finance):
    year = company_today().year
    committed = contractor(commitment_year=year, tax_code="0312345673")
    last_year = contractor(commitment_year=year - 1, tax_code="0312345680")
    non_resident = contractor(resident=False, commitment_year=year)
    for person in (committed, last_year, non_resident):
        earn(person, 3_000_000)
    pay_batch(finance)

    assert line_of(committed).withheld_amount == 0
    assert line_of(committed).tax_treatment == Treatment.COMMITMENT.value
    assert line_of(last_year).withheld_amount == 300_000
    assert line_of(non_resident).withheld_amount == 600_000  # 20 %, the form does not count


@pytest.mark.usefixtures("rates")
def test_a_non_resident_is_withheld_twenty_percent_of_any_amount(finance):
    person = contractor(resident=False)
    earn(person, 1_001)
    pay_batch(finance)
    line = line_of(person)
    assert (line.withheld_amount, line.take_home.amount) == (200, 801)  # 200.2 rounded down


@pytest.mark.usefixtures("rates")
def test_salary_income_is_not_withheld_but_is_taxable(finance):
    staff = factories.UserFactory()  # staff without a profile: on payroll
    contracted = contractor(long_contract=True)
    earn(staff, 5_000_000)
    earn(contracted, 5_000_000)
    pay_batch(finance)
    for person in (staff, contracted):
        line = line_of(person)
        assert (line.withheld_amount, line.taxable_amount) == (0, 5_000_000)
        assert line.tax_treatment == Treatment.SALARY.value
        assert entries_of(person, EntryKind.WITHHOLDING) == []


@pytest.mark.usefixtures("rates")
def test_the_rate_in_force_on_the_payment_day_applies(finance):
    """A rate added from today replaces the old one for batches paid today; one from
    tomorrow does not."""
    today = company_today()
    tax.add_withholding_rate(
        today + timedelta(days=1),
        resident=True,
        rate_bps=500,
        threshold=Money(0, "VND"),
        note="from tomorrow",
        actor=finance[0],
    )
    first = contractor()
    earn(first, 2_000_000)
    pay_batch(finance)
    assert line_of(first).withheld_amount == 200_000  # still 10 %

    tax.add_withholding_rate(
        today,
        resident=True,
        rate_bps=1500,
        threshold=Money(1_000_000, "VND"),
        note="from today",
        actor=finance[0],
    )
    second = contractor()
    earn(second, 1_500_000)
    pay_batch(finance)
    line = line_of(second)
    assert line.withheld_amount == 225_000  # 15 % from 1,000,000 ₫
    rate = db.session.get(tax.WithholdingRate, line.withholding_rate_id)
    assert rate is not None
    assert rate.effective_from == today
    assert verify_ledger().ok


@pytest.mark.usefixtures("rates")
def test_the_person_is_told_what_was_withheld_and_by_email_if_they_chose(finance):
    person = contractor()
    earn(person, 2_000_000)
    pay_batch(finance)
    kinds = set(
        db.session.scalars(select(Notification.kind).where(Notification.user_id == person.id))
    )
    assert {"commission_payable", "payout_paid", "tax_withheld"} <= kinds
    mails = list(
        db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == person.email))
    )
    assert any("withheld" in m.subject for m in mails)


def test_one_payable_notification_per_person_per_daily_release(app):
    factories.CommissionRuleFactory()
    person, other = factories.UserFactory(), factories.UserFactory()
    for owner in (person, person, other):
        order = referred_order(owner, factories.ProductFactory(price_amount=1_000_000))
        pay(order)
        redeem(order)
    assert make_payable() == 3
    assert make_payable() == 0  # a second run moves nothing and tells nobody again

    def told(who):  # type: ignore[no-untyped-def]
        return list(
            db.session.scalars(
                select(Notification).where(
                    Notification.user_id == who.id, Notification.kind == "commission_payable"
                )
            )
        )

    (mine,) = told(person)
    assert mine.params["count"] == 2
    assert len(told(other)) == 1


def test_tax_codes_and_rates_are_validated(finance):
    db.session.execute(delete(tax.WithholdingRate))
    db.session.commit()
    person = factories.UserFactory()
    for bad in ("12345", "0312345673-01", "03123456739", "abc0312345"):
        with pytest.raises(ValidationFailed):
            tax.save_tax_profile(person.id, ProfileFields(tax_code=bad), actor=finance[0])
    saved = tax.save_tax_profile(
        person.id, ProfileFields(tax_code=" 0312345673 001 "), actor=finance[0]
    )
    assert saved.tax_code == "0312345673-001"
    assert tax.normalised_tax_code("0312345673-001") == "0312345673-001"
    # a personal identification number: a person's tax code since 1 July 2025
    assert tax.normalised_tax_code("079 201 012 345") == "079201012345"
    # the last digit of a 10-digit code checks the others; a branch's too (the company's
    # language, Vietnamese, outside a request)
    for typo in ("0312345674", "0312345637", "0312345674-001"):
        with pytest.raises(ValidationFailed, match=f"Chữ số cuối của mã số thuế {typo[:10]} "):
            tax.normalised_tax_code(typo)
    for never_issued in ("0100000000", "0312345673-000"):
        with pytest.raises(ValidationFailed, match="không phải là mã số thuế mà cơ quan thuế cấp"):
            tax.normalised_tax_code(never_issued)
    with pytest.raises(ValidationFailed):
        tax.add_withholding_rate(
            date(2030, 1, 1),
            resident=True,
            rate_bps=10000,
            threshold=Money(0, "VND"),
            note="",
            actor=finance[0],
        )
    tax.add_withholding_rate(
        date(2030, 1, 1),
        resident=True,
        rate_bps=900,
        threshold=Money(0, "VND"),
        note="",
        actor=finance[0],
    )
    with pytest.raises(Conflict):
        tax.add_withholding_rate(
            date(2030, 1, 1),
            resident=True,
            rate_bps=800,
            threshold=Money(0, "VND"),
            note="",
            actor=finance[0],
        )
    actions = list(db.session.scalars(select(AuditEvent.action)))
    assert "finance.tax_profile_saved" in actions
    assert "finance.withholding_rate_added" in actions


# --- pages -------------------------------------------------------------------------------------


def test_only_finance_edits_a_profile_and_a_person_sees_their_own(app, client):
    person = factories.UserFactory(name="Trần Thị Mai", employment_type=EmploymentType.PARTNER)
    login(client, person)
    assert client.get(f"/finance/tax/people/{person.id}").status_code == 403
    assert client.get("/finance/tax").status_code == 403
    page = client.get("/earnings").get_data(as_text=True)
    assert "Not given yet" in page

    officer = finance_person()
    employee_client, client = client, app.test_client()
    login(client, officer)
    response = client.post(
        f"/finance/tax/people/{person.id}",
        data={"tax_code": "031234567", "resident": "y", "version": "0"},
    )
    assert response.status_code == 400
    assert "A tax code is 10 digits" in response.get_data(as_text=True)
    assert tax.profile_of(person.id) is None  # nothing half-written
    officer.locale = "vi"
    db.session.commit()
    response = client.post(
        f"/finance/tax/people/{person.id}",
        data={"tax_code": "0312345674", "resident": "y", "version": "0"},  # check digit: 3
    )
    assert response.status_code == 400
    assert "Chữ số cuối của mã số thuế 0312345674 không khớp" in response.get_data(as_text=True)
    assert tax.profile_of(person.id) is None
    officer.locale = "en"
    db.session.commit()
    response = client.post(
        f"/finance/tax/people/{person.id}",
        data={
            "tax_code": "0312345673",
            "resident": "y",
            "commitment_year": "2026",
            "bank_account_number": "0071 0012 3456",
            "bank_name": "Vietcombank",
            "account_holder": "TRAN THI MAI",
            "version": "0",
        },
    )
    assert response.status_code == 302
    profile = tax.profile_of(person.id)
    assert profile is not None
    assert (profile.tax_code, profile.bank_account_number, profile.long_contract) == (
        "0312345673",
        "007100123456",
        False,
    )
    listing = client.get("/finance/tax?q=mai").get_data(as_text=True)
    assert "0312345673" in listing
    assert "Bank transfer" in listing
    by_code = client.get("/finance/tax?q=031 234 5673").get_data(as_text=True)  # its tax code
    assert f"/finance/tax/people/{person.id}" in by_code

    page = employee_client.get("/earnings").get_data(as_text=True)
    assert "0312345673" in page
    assert "007100123456" in page
    assert employee_client.get("/finance/tax/rates").status_code == 403
    hr = app.test_client()
    login(hr, factories.UserFactory(roles={Role.HR}))
    assert hr.get(f"/finance/tax/people/{person.id}").status_code == 403


@pytest.mark.parametrize(
    "typed", ["0312345673-001", "0312345673001", "0312.345.673-001", "0312 345 673 001"]
)
def test_a_tax_code_is_found_however_it_is_written(app, client, typed):
    """The form takes a branch's tax code with or without its dash, with dots or spaces, and
    keeps it as "0312345673-001"; the search compared what was typed, spaces aside, with
    that: only the stored way found the person."""
    officer = finance_person()
    person = factories.UserFactory(name="Người Có Chi Nhánh")
    tax.save_tax_profile(person.id, tax.ProfileFields(tax_code=typed), actor=officer)
    assert tax.profile_of(person.id).tax_code == "0312345673-001"
    login(client, officer)
    for searched in ("0312345673-001", "0312345673001", "0312.345.673-001", "0312 345 673 001"):
        listing = client.get("/finance/tax", query_string={"q": searched})
        assert f"/finance/tax/people/{person.id}" in listing.get_data(as_text=True), searched


def test_nobody_changes_their_own_tax_profile(app, client):
    """A finance person who kept their own profile could stop their own withholding (a
    commitment form, residence) or send their own transfer elsewhere: another one must."""
    officer = finance_person()
    login(client, officer)
    page = client.get(f"/finance/tax/people/{officer.id}").get_data(as_text=True)
    assert "another finance person keeps it" in page
    assert 'data-testid="save-tax-profile"' not in page
    response = client.post(
        f"/finance/tax/people/{officer.id}",
        data={
            "resident": "y",
            "commitment_year": "2026",
            "bank_account_number": "12345678",
            "version": "0",
        },
    )
    assert response.status_code == 403
    assert "You cannot change your own tax profile" in response.get_data(as_text=True)
    assert tax.profile_of(officer.id) is None
    with pytest.raises(NotPermitted):
        tax.save_tax_profile(officer.id, ProfileFields(commitment_year=2026), actor=officer)
    assert tax.profile_of(officer.id) is None

    saved = tax.save_tax_profile(
        officer.id, ProfileFields(commitment_year=2026), actor=finance_person()
    )
    assert saved.commitment_year == 2026


BANK = {"bank_account_number": "11112222", "bank_name": "ACB", "account_holder": "NGUYEN AN"}


@pytest.mark.usefixtures("rates")
def test_a_payees_tax_profile_waits_while_their_approved_batch_is_not_paid(finance, client):
    """Once a batch was approved, anyone in finance (its drafter too) could send a payee's
    transfer to another account or stop their withholding before the bank file was
    downloaded and the batch paid: what the approver approved changed unseen."""
    drafter, approver = finance
    person = contractor(**BANK)
    earn(person, 3_000_000)
    batch = payouts.draft_batch(company_today(), actor=drafter)
    # Before the approval, the approver sees what the profile becomes (saved by someone
    # else: who saved a payee's profile last does not approve their payment).
    tax.save_tax_profile(
        person.id, ProfileFields(**BANK, tax_code="0123456787"), actor=finance_person()
    )
    payouts.approve_batch(batch.id, actor=approver)

    for actor in (drafter, approver, finance_person()):
        with pytest.raises(Conflict) as refused:
            tax.save_tax_profile(
                person.id,
                ProfileFields(**{**BANK, "bank_account_number": "99998888"}),
                actor=actor,
            )
        assert batch.reference in refused.value.message
    with pytest.raises(Conflict):
        tax.save_tax_profile(
            person.id,
            ProfileFields(**BANK, tax_code="0123456787", commitment_year=2026),
            actor=drafter,
        )
    # Saving it as it is changes nothing: nothing to refuse.
    tax.save_tax_profile(person.id, ProfileFields(**BANK, tax_code="0123456787"), actor=drafter)

    login(client, finance_person())
    response = client.post(
        f"/finance/tax/people/{person.id}",
        data={
            **BANK,
            "bank_account_number": "99998888",
            "resident": "y",
            "version": str(tax.profile_of(person.id).version),
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert f"Payout batch {batch.reference} is approved" in page
    assert 'value="99998888"' in page  # what was typed stays on the form
    db.session.expire_all()
    assert tax.profile_of(person.id).bank_account_number == "11112222"

    payouts.mark_batch_paid(batch.id, "UNC-1", actor=drafter)
    assert line_of(person).withheld_amount == 300_000  # 10 %: the profile approved
    saved = tax.save_tax_profile(
        person.id, ProfileFields(**{**BANK, "bank_account_number": "99998888"}), actor=drafter
    )
    assert saved.bank_account_number == "99998888"


@pytest.mark.usefixtures("rates")
def test_a_cancelled_batch_lets_the_tax_profile_change(finance):
    drafter, approver = finance
    person = contractor(**BANK)
    earn(person, 3_000_000)
    batch = payouts.draft_batch(company_today(), actor=drafter)
    payouts.approve_batch(batch.id, actor=approver)
    payouts.cancel_batch(batch.id, "Số tài khoản mới", actor=drafter)

    saved = tax.save_tax_profile(
        person.id, ProfileFields(**{**BANK, "bank_account_number": "99998888"}), actor=drafter
    )
    assert saved.bank_account_number == "99998888"


def test_finance_adds_a_rate_on_the_page(app, client):
    db.session.execute(delete(tax.WithholdingRate))
    db.session.commit()
    login(client, finance_person())
    response = client.post(
        "/finance/tax/rates",
        data={
            "effective_from": "2027-01-01",
            "resident": "1",
            "rate_percent": "12,5",
            "threshold": "2.500.000",
            "note": "Luật mới",
        },
    )
    assert response.status_code == 302
    rate = db.session.scalars(select(tax.WithholdingRate)).one()
    assert (rate.rate_bps, rate.threshold_amount) == (1250, 2_500_000)
    bad = client.post(
        "/finance/tax/rates",
        data={
            "effective_from": "2027-02-01",
            "resident": "1",
            "rate_percent": "abc",
            "threshold": "0",
        },
    )
    assert bad.status_code == 400
    assert "Enter the rate as a number" in bad.get_data(as_text=True)


@pytest.mark.usefixtures("rates")
def test_finance_adds_a_rate_for_payments_in_dollars_and_a_non_resident_is_withheld(
    app, client, finance
):
    """The shop sells in USD too: a non-resident's dollar commission had no rate, was paid
    whole, and the page could only add rates in đồng. Now finance chooses the currency."""
    person = contractor(resident=False)
    login(client, finance_person(locale="vi"))
    page = client.get("/finance/tax/rates").text
    assert 'name="currency"' in page
    assert "Loại tiền của khoản chi trả" in page
    assert "Khoản chi trả bằng loại tiền chưa có thuế suất" in page
    response = client.post(
        "/finance/tax/rates",
        data={
            "effective_from": RESIDENT_FROM.isoformat(),
            "resident": "0",
            "rate_percent": "20",
            "currency": "USD",
            "threshold": "0",
            "note": "TT 111",
        },
    )
    assert response.status_code == 302
    rate = tax.rate_in_force(company_today(), resident=False, currency="USD")
    assert rate is not None
    assert (rate.rate_bps, rate.threshold_amount) == (2000, 0)
    assert "Cá nhân không cư trú · USD" in client.get("/finance/tax/rates").text

    payable_order(person, factories.ProductFactory(price_amount=4_655, currency="USD"))
    pay_batch(finance)
    line = line_of(person)
    assert line.currency == "USD"
    # 10 % of $46.55 is $4.66; 20 % of that, rounded down to the cent, is $0.93
    assert (line.amount, line.withheld_amount, line.take_home.amount) == (466, 93, 373)

    refused = client.post(
        "/finance/tax/rates",
        data={
            "effective_from": "2027-01-01",
            "resident": "0",
            "rate_percent": "20",
            "currency": "EUR",
            "threshold": "0",
        },
    )
    assert refused.status_code == 400


@pytest.mark.usefixtures("rates")
def test_the_earnings_page_lists_each_payout_before_tax_the_tax_and_what_was_received(
    finance, client
):
    """Twice paid, once taxed: the person reads both payouts, newest first, in their
    language, each amount exact to the đồng."""
    person = contractor(tax_code="0312345673")
    login(client, person)
    assert 'data-testid="payouts"' not in client.get("/earnings").text

    earn(person, 2_000_000)
    pay_batch(finance)
    earn(person, 1_234_567)
    pay_batch(finance)

    page = client.get("/earnings", headers={"Accept-Language": "en"}).text
    table = page[page.index('data-testid="payouts"') :]
    rows = [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        for row in table[: table.index("</table>")].split("<tr>")[2:]
    ]
    today = format_date(company_today(), "medium", locale="en_GB")
    assert rows == [
        [today, "₫1,234,567", "₫0", "₫1,234,567"],
        [today, "₫2,000,000", "₫200,000", "₫1,800,000"],
    ]


def _estimates(page: str) -> dict[str, tuple[str, str, str, bool]]:
    """Per person on a batch page: the estimated tax withheld, net, who pays it and whether
    their bank details are flagged missing."""
    found = {}
    for row in page.split('data-testid="batch-line"')[1:]:
        row = row[: row.index("</tr>")]
        name = re.sub(r"<[^>]+>", "|", row[row.index("<td>") :]).strip("|").split("|")[0]

        def cell(testid: str, row: str = row) -> str:
            match = re.search(rf'data-testid="{testid}"[^>]*>(.*?)</td>', row, re.S)
            return re.sub(r"<[^>]+>", " ", match.group(1)).split("  ")[0].strip() if match else ""

        found[name] = (
            cell("estimate-withheld"),
            cell("estimate-net"),
            cell("estimate-paid-by"),
            'data-testid="bank-details-missing"' in row,
        )
    return found


def _total(page: str, testid: str) -> str:
    match = re.search(rf'data-testid="{testid}"[^>]*>([^<]*)<', page)
    assert match is not None, testid
    return match.group(1)


def _mixed_payees(suffix: str = "") -> dict[str, object]:
    """Staff on payroll (no profile), a resident contractor with bank details withheld 10 %,
    one without a profile below the threshold, a non-resident partner without a bank
    withheld 20 %: the figures are exact to the đồng (rounded down)."""
    staff = factories.UserFactory(name=f"An Staff{suffix}")
    paid_to_bank = contractor(
        tax_code="0312345673", bank_account_number="19031234567890", bank_name="Techcombank"
    )
    no_profile = contractor()
    partner = factories.UserFactory(
        name=f"Dung Partner{suffix}", employment_type=EmploymentType.PARTNER
    )
    tax.save_tax_profile(
        partner.id,
        ProfileFields(resident=False, bank_account_number="123456789"),  # no bank
        actor=finance_person(),
    )
    earn(staff, 3_000_000)
    earn(paid_to_bank, 2_345_679)  # 234,567.9 → 234,567
    earn(no_profile, 1_999_999)  # below the threshold
    earn(partner, 700_001)  # 140,000.2 → 140,000
    return {"staff": staff, "bank": paid_to_bank, "no_profile": no_profile, "partner": partner}


@pytest.mark.usefixtures("rates")
def test_a_draft_batch_shows_what_paying_it_today_would_withhold_and_how_each_is_paid(
    finance, client
):
    """The approver sees, before approving, each line's tax and net as the payment would
    work them out today, who pays it and whose bank details are missing, with totals; the
    payment then withholds exactly that, and the paid batch shows what was stored."""
    drafter, approver = finance
    approver.locale = "vi"
    db.session.commit()
    people = _mixed_payees()
    names = {key: person.name for key, person in people.items()}  # type: ignore[attr-defined]
    batch = payouts.draft_batch(company_today(), actor=drafter)
    url = f"/finance/payouts/{batch.id}"

    login(client, drafter)
    page = client.get(url).text
    assert 'data-testid="estimate-note"' in page
    assert _estimates(page) == {
        names["staff"]: ("₫0", "₫3,000,000", "Payroll", False),
        names["bank"]: ("₫234,567", "₫2,111,112", "Bank transfer", False),
        names["no_profile"]: ("₫0", "₫1,999,999", "Bank transfer", True),
        names["partner"]: ("₫140,000", "₫560,001", "Bank transfer", True),
    }
    assert _total(page, "total-gross") == "₫8,045,679"
    assert _total(page, "total-withheld") == "₫374,567"
    assert _total(page, "total-net") == "₫7,671,112"
    assert "2 lines are paid by bank transfer to people whose bank details are missing" in page
    assert "Withheld ₫374,567 · Net ₫7,671,112" in page

    # The approver reads it in Vietnamese, amounts as Vietnamese write them.
    client.post("/logout")
    login(client, approver)
    page = client.get(url).text
    assert _estimates(page)[names["bank"]] == (
        "234.567\xa0₫",
        "2.111.112\xa0₫",
        "Chuyển khoản ngân hàng",
        False,
    )
    assert _estimates(page)[names["staff"]][2] == "Bảng lương"
    assert "Thiếu thông tin ngân hàng" in page
    assert "Thuế khấu trừ (tạm tính)" in page
    assert _total(page, "total-net") == "7.671.112\xa0₫"
    assert "Khấu trừ 374.567\xa0₫ · Thực nhận 7.671.112\xa0₫" in page

    # Approved, still an estimate; paid, the stored figures are what the page said.
    payouts.approve_batch(batch.id, actor=approver)
    assert 'data-testid="estimate-note"' in client.get(url).text
    payouts.mark_batch_paid(batch.id, "UNC-9", actor=drafter)
    assert [
        (line_of(people[key]).withheld_amount, line_of(people[key]).paid_amount)
        for key in ("staff", "bank", "no_profile", "partner")
    ] == [(0, 3_000_000), (234_567, 2_111_112), (0, 1_999_999), (140_000, 560_001)]
    page = client.get(url).text
    assert 'data-testid="estimate-note"' not in page
    assert 'data-testid="estimate-withheld"' not in page
    assert page.count('data-testid="line-withheld"') == 2


@pytest.mark.usefixtures("rates")
def test_the_draft_batch_page_runs_as_many_statements_with_more_lines(finance, client):
    drafter, _approver = finance
    login(client, drafter)

    def statements_of_a_new_draft() -> int:
        batch = payouts.draft_batch(company_today(), actor=drafter)
        client.get(f"/finance/payouts/{batch.id}")  # what a session loads once
        with counting_statements() as statements:
            page = client.get(f"/finance/payouts/{batch.id}").text
        assert 'data-testid="estimate-withheld"' in page
        payouts.cancel_batch(batch.id, "again", actor=drafter)
        return len(statements)

    _mixed_payees()
    few = statements_of_a_new_draft()
    for n in range(3):
        _mixed_payees(f" {n}")
    assert statements_of_a_new_draft() == few


def test_a_rate_that_is_not_a_number_is_refused_not_a_server_error(app, client):
    """ "sNaN" parses as a decimal, and multiplying it raised: a 500 on finance's page."""
    login(client, finance_person())
    for typed in ("sNaN", "NaN", "inf", "-0,5"):
        response = client.post(
            "/finance/tax/rates",
            data={
                "effective_from": "2027-03-01",
                "resident": "1",
                "rate_percent": typed,
                "threshold": "0",
            },
        )
        assert response.status_code == 400, typed
        assert "per cent" in response.get_data(as_text=True), typed


@pytest.mark.usefixtures("rates")
def test_a_payee_paid_by_transfer_is_not_told_it_comes_with_their_wages(finance, app):
    """A partner has no wages: the payout's notification and e-mail said "It comes with
    your wages" to everyone, as the earnings page once did. Whoever is paid by transfer is
    told so; whoever is on payroll still hears it comes with the wages."""
    from flask_babel import force_locale

    from perks.notifications.rendering import render

    partner = factories.UserFactory(employment_type=EmploymentType.PARTNER, locale="en")
    staff = factories.UserFactory(locale="en")
    earn(partner, 2_000_000)
    earn(staff, 1_000_000)
    pay_batch(finance)

    assert "wages" not in paid_mail(partner)
    assert "bank transfer" in paid_mail(partner)
    assert "with your wages" in paid_mail(staff)
    [notification] = db.session.scalars(
        select(Notification).where(
            Notification.user_id == partner.id, Notification.kind == "payout_paid"
        )
    )
    with app.test_request_context(), force_locale("en"):
        body = render(notification.kind, notification.params).body
    assert body.startswith("Paid with payout")
    assert "wages" not in body


@pytest.mark.usefixtures("rates")
def test_a_paid_batch_page_totals_what_was_withheld_and_what_was_paid(finance, client):
    """Finance ticks a paid batch off against the bank statement and the payroll run: the
    page's total is the gross, so it also says, per currency, the tax withheld and what was
    paid, as stored (the files' and the ledger's figures), not only line by line."""
    drafter, _approver = finance
    _mixed_payees()
    batch = pay_batch(finance)
    login(client, drafter)
    page = client.get(f"/finance/payouts/{batch.id}").text
    assert "₫8,045,679" in page  # the gross, "Total to pay"
    assert "Withheld ₫374,567 · Paid ₫7,671,112" in page
    paid = -db.session.scalar(
        select(func.sum(LedgerEntry.amount)).where(
            LedgerEntry.payout_batch_id == batch.id, LedgerEntry.kind == EntryKind.PAYOUT
        )
    )
    assert paid == 7_671_112


@pytest.mark.usefixtures("rates")
def test_a_commitment_form_without_a_tax_code_does_not_stop_withholding(finance):
    """Circular 111/2013 art. 25 §1.i: whoever signs the commitment form must be registered
    for tax and have a tax code when they sign it; without one, the form does not count and
    the 10 % is withheld (the figures of a resident contractor paid 3,000,000 ₫)."""
    year = company_today().year
    without_code = contractor(commitment_year=year)
    with_code = contractor(commitment_year=year, tax_code="0312345673")
    for person in (without_code, with_code):
        earn(person, 3_000_000)
    pay_batch(finance)

    line = line_of(without_code)
    assert (line.tax_treatment, line.withheld_amount, line.paid_amount) == (
        Treatment.WITHHELD.value,
        300_000,
        2_700_000,
    )
    assert line_of(with_code).tax_treatment == Treatment.COMMITMENT.value
    assert line_of(with_code).withheld_amount == 0


@pytest.mark.usefixtures("rates")
def test_a_non_resident_on_a_labour_contract_reads_they_are_paid_with_their_wages(finance, client):
    """An expatriate employee not yet resident for tax, on a labour contract of three months
    or more, is withheld 20 % and paid with the wages: the payroll file has their line and
    the e-mail says "It comes with your wages", but their earnings page said twice that they
    are paid by bank transfer."""
    expat = factories.UserFactory(name="Anna Müller", locale="en")
    tax.save_tax_profile(
        expat.id, ProfileFields(resident=False, long_contract=True), actor=finance_person()
    )
    earn(expat, 1_000_000)
    pay_batch(finance)
    line = line_of(expat)
    assert (line.paid_by, line.withheld_amount) == ("payroll", 200_000)

    login(client, expat)
    page = client.get("/earnings").text
    assert "bank transfer" not in page
    assert "is paid with your wages" in page
    told = "Withheld at the non-resident rate when a payout is paid, then paid with your wages."
    assert told in page


@pytest.mark.usefixtures("rates")
def test_the_payout_mail_of_a_payee_withheld_on_the_payroll_says_tax_comes_off(finance):
    """The payout e-mail lists the gross: to a non-resident paid with the wages (1,000,000 ₫,
    200,000 ₫ withheld: 800,000 ₫ in the payroll file's "Thực nhận") it said only "It comes
    with your wages", as if the whole 1,000,000 ₫ came; a transfer's e-mail says the tax
    comes off first, and so does this one now."""
    expat = factories.UserFactory(locale="en")
    tax.save_tax_profile(
        expat.id, ProfileFields(resident=False, long_contract=True), actor=finance_person()
    )
    staff = factories.UserFactory(locale="en")
    earn(expat, 1_000_000)
    earn(staff, 1_000_000)
    pay_batch(finance)

    assert "with your wages, less the personal income tax withheld" in paid_mail(expat)
    assert "withheld" not in paid_mail(staff)
