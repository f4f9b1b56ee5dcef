"""Leavers: HR sets a leaving date (form and import); the daily task applies finance's policy
(vest or forfeit), deactivates the person and e-mails their final statement; orders through
their links earn nothing from that day; batches mark the final settlement; a negative balance
after leaving is closed by finance through the ledger."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import select, update

from perks.audit import AuditEvent
from perks.commissions import leavers as commission_leavers
from perks.commissions import ledger
from perks.commissions.models import (
    BalanceOutcome,
    Commission,
    CommissionState,
    EntryKind,
    LeaverBalanceDecision,
    LeaverPolicy,
    LeaverSettlement,
    LedgerEntry,
    VoidReason,
)
from perks.commissions.queries import explanation
from perks.commissions.verify import verify_ledger
from perks.db import utcnow
from perks.errors import NotPermitted
from perks.extensions import db
from perks.finance import leavers as finance_leavers
from perks.finance import payouts
from perks.i18n import company_today
from perks.mail import OutboxMessage
from perks.money import Money
from perks.people import imports
from perks.people import services as people_services
from perks.people.models import PeopleImport, Role, User
from perks.referrals.models import ReferralLink
from perks.shop.models import Order
from tests import factories
from tests.helpers import is_postgres, login
from tests.racing import all_at_once
from tests.unit.finance.helpers import (
    finance_person,
    make_payable,
    pay,
    payable_order,
    redeem,
    referred_order,
    refund_to,
)

S = CommissionState


@pytest.fixture(autouse=True)
def _rule() -> None:
    factories.CommissionRuleFactory()  # 10 % of every line


def _order(order_id: int) -> Order:
    db.session.expire_all()
    order = db.session.get(Order, order_id)
    assert order is not None
    return order


def commission_of(order_id: int) -> Commission:
    db.session.expire_all()
    return db.session.scalars(select(Commission).where(Commission.order_id == order_id)).one()


def statements_to(email: str) -> list[OutboxMessage]:
    return list(
        db.session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.recipient == email,
                OutboxMessage.subject.in_(
                    ["Your final commission statement", "Bảng kê hoa hồng cuối cùng của bạn"]
                ),
            )
        )
    )


def pay_batch(finance: User, approver: User) -> int:
    batch = payouts.draft_batch(company_today(), actor=finance)
    payouts.approve_batch(batch.id, actor=approver)
    payouts.mark_batch_paid(batch.id, "PAYROLL-LEAVER", actor=finance)
    return batch.id


def story(leaver: User) -> dict[str, int]:
    """Before leaving: a commission paid, one payable, one earned (in its holding period),
    one pending (the customer has not used the order yet)."""
    finance, approver = finance_person(), finance_person()
    paid = referred_order(leaver)
    pay(paid)
    redeem(paid)
    make_payable()
    pay_batch(finance, approver)
    payable = referred_order(leaver)
    pay(payable)
    redeem(payable)
    make_payable()
    earned = referred_order(leaver)
    pay(earned)
    redeem(earned)
    pending = referred_order(leaver)
    pay(pending)
    return {"paid": paid.id, "payable": payable.id, "earned": earned.id, "pending": pending.id}


def set_leaving_date_through_the_form(client, person: User, day) -> None:  # type: ignore[no-untyped-def]
    hr = factories.UserFactory(roles={Role.HR})
    login(client, hr)
    response = client.post(
        f"/people/{person.id}/edit",
        data={
            "shown": people_services.shown_fingerprint(person),
            "name": person.name,
            "email": person.email,
            "employment_type": "staff",
            "locale": person.locale,
            "roles": ["employee"],
            "leaving_date": day.isoformat(),
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    client.post("/logout")
    db.session.expire_all()
    assert db.session.get(User, person.id).leaving_date == day


def test_a_leaver_under_vest_is_paid_everything_in_the_final_settlement(client, app):
    leaver = factories.UserFactory(name="Phạm Văn Rời", email="roi@example.com", locale="en")
    orders = story(leaver)
    # the story happens before leaving: its orders were paid the day before the leaving date
    # (an order paid on that day earns nothing, even when HR enters the date later)
    db.session.execute(
        update(Order)
        .where(Order.id.in_(orders.values()))
        .values(paid_at=utcnow() - timedelta(days=1))
    )
    db.session.commit()
    login(client, leaver)
    set_leaving_date_through_the_form(app.test_client(), leaver, company_today())

    run = commission_leavers.settle_leavers()

    assert (run.settled, run.vested, run.forfeited) == (1, 1, 0)
    assert commission_of(orders["earned"]).state is S.PAYABLE  # vested: no holding period
    assert commission_of(orders["pending"]).state is S.PENDING  # waits for the customer
    assert commission_of(orders["paid"]).state is S.PAID
    person = db.session.get(User, leaver.id)
    assert person.active is False
    assert client.get("/earnings").status_code == 302  # every session ended
    [statement] = statements_to("roi@example.com")
    text = re.sub(r"\s+", " ", statement.body_text)
    assert "Earned: ₫720,000" in text  # three orders used, 240,000 each
    assert "Already paid: ₫240,000" in text
    assert "Still to be paid in your final settlement: ₫480,000" in text
    assert "Still waiting for customers to use their orders: ₫240,000" in text
    assert "paid in your final settlement" in text
    settlement = db.session.get(LeaverSettlement, leaver.id)
    assert settlement.policy is LeaverPolicy.VEST

    # A second run (or a second host) changes nothing and sends nothing.
    again = commission_leavers.settle_leavers()
    assert (again.settled, again.vested, again.forfeited) == (0, 0, 0)
    assert len(statements_to("roi@example.com")) == 1

    # The customer uses the pending order after they left: earned, then vested at once.
    redeem(_order(orders["pending"]))
    assert commission_of(orders["pending"]).state is S.EARNED
    assert commission_leavers.settle_leavers().vested == 1
    assert commission_of(orders["pending"]).state is S.PAYABLE

    # The batch marks the final settlement.
    finance = finance_person()
    batch = payouts.draft_batch(company_today(), actor=finance)
    [line] = [line for line in batch.lines if line.user_id == leaver.id]
    assert line.amount == 3 * 240_000  # payable before, vested, and used after leaving
    with force_locale("en"):
        assert finance_leavers.settlement_mark(line, batch).startswith("Final settlement")
    login(client, finance)
    page = client.get(f"/finance/payouts/{batch.id}").get_data(as_text=True)
    assert 'data-testid="leaver-mark"' in page
    assert "Final settlement (left on" in page
    payouts.approve_batch(batch.id, actor=finance_person())
    payouts.mark_batch_paid(batch.id, "FINAL-1", actor=finance)
    assert ledger.balance(leaver.id, "VND") == Money.zero("VND")

    # A refund after they left claws back a paid commission: a negative balance...
    refund_to(_order(orders["paid"]), _order(orders["paid"]).total_amount)
    assert ledger.balance(leaver.id, "VND") == Money(-240_000, "VND")
    # ... listed for finance, who deducts it from the final salary, through the ledger.
    page = client.get("/finance/leavers/").get_data(as_text=True)
    assert "Phạm Văn Rời" in page
    assert 'data-testid="close-form"' in page
    response = client.post(
        f"/finance/leavers/{leaver.id}/close",
        data={
            "currency": "VND",
            "amount": "-240000",
            "outcome": "deduct",
            "reason": "Deducted from the December salary",
        },
    )
    assert response.status_code == 302
    assert ledger.balance(leaver.id, "VND") == Money.zero("VND")
    decision = db.session.scalars(select(LeaverBalanceDecision)).one()
    assert decision.outcome is BalanceOutcome.DEDUCT
    assert decision.amount == -240_000
    entry = db.session.get(LedgerEntry, decision.ledger_entry_id)
    assert entry.kind is EntryKind.ADJUSTMENT
    assert entry.amount == 240_000
    assert (
        db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "finance.leaver_balance_closed")
        )
        .one()
        .details["outcome"]
        == "deduct"
    )
    # closing it again: nothing owed any more, a clear 409
    again_response = client.post(
        f"/finance/leavers/{leaver.id}/close",
        data={"currency": "VND", "amount": "-240000", "outcome": "deduct", "reason": "Again"},
    )
    assert again_response.status_code == 409
    assert "owes nothing" in again_response.get_data(as_text=True)
    assert verify_ledger().problems == []


def test_a_leaver_under_forfeit_loses_what_was_not_yet_payable(client, app):
    finance = finance_person()
    login(client, finance)
    assert client.post("/finance/leavers/policy", data={"policy": "forfeit"}).status_code == 302
    assert commission_leavers.current_policy() is LeaverPolicy.FORFEIT
    assert db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "commissions.leaver_policy_changed")
    ).one().details == {"before": "vest", "after": "forfeit"}
    leaver = factories.UserFactory(email="mat@example.com", locale="vi")
    orders = story(leaver)
    yesterday = company_today() - timedelta(days=1)
    db.session.get(User, leaver.id).leaving_date = yesterday
    db.session.commit()

    run = commission_leavers.settle_leavers()

    assert (run.settled, run.vested, run.forfeited) == (1, 0, 2)
    earned = commission_of(orders["earned"])
    assert earned.state is S.VOIDED
    assert earned.void_reason is VoidReason.LEFT_COMPANY
    assert earned.amount == 0
    assert earned.reversed_amount == earned.earned_amount == 240_000  # reversed what it earned
    pending = commission_of(orders["pending"])
    assert pending.state is S.VOIDED
    assert pending.earned_amount == 0
    assert commission_of(orders["payable"]).state is S.PAYABLE  # already payable: kept
    [statement] = statements_to("mat@example.com")
    assert "Bảng kê" in statement.subject  # in the leaver's language
    assert "₫" in statement.body_text or "₫" in statement.body_html
    # the pending order used after all earns nothing: it stays voided
    redeem(_order(orders["pending"]))
    assert commission_of(orders["pending"]).state is S.VOIDED

    # An order paid through their link after leaving earns nothing, and says why.
    late_order = referred_order(leaver)
    pay(late_order)
    late = commission_of(late_order.id)
    assert late.state is S.VOIDED
    assert late.void_reason is VoidReason.LEFT_COMPANY
    assert late.amount == 0
    assert late.original_amount == 240_000
    with app.test_request_context(), force_locale("en"):
        assert "left the company" in explanation(late)
        assert "₫240,000" in explanation(late)
    # The final settlement pays the one payable before leaving (nothing forfeited in it).
    pay_batch(finance, finance_person())
    assert ledger.balance(leaver.id, "VND") == Money.zero("VND")
    # A refund of an order they were paid for, after they left: the leaver owes; written off.
    refund_to(_order(orders["paid"]), _order(orders["paid"]).total_amount)
    owed = ledger.balance(leaver.id, "VND")
    assert owed == Money(-240_000, "VND")
    finance_leavers.close_negative_balance(
        leaver.id, owed, BalanceOutcome.WRITE_OFF, "Too small to chase", actor=finance
    )
    assert ledger.balance(leaver.id, "VND") == Money.zero("VND")
    assert verify_ledger().problems == []


def test_a_negative_balance_is_written_off_through_the_ledger(client):
    finance = finance_person()
    leaver = factories.UserFactory(name="Đỗ Văn Nợ")
    order = referred_order(leaver)
    pay(order)
    redeem(order)
    make_payable()
    pay_batch(finance, finance_person())
    db.session.get(User, leaver.id).leaving_date = company_today()
    db.session.commit()
    refund_to(order, order.total_amount)
    assert ledger.balance(leaver.id, "VND") == Money(-240_000, "VND")
    login(client, finance)
    # a stale page (the balance changed) writes nothing
    stale = client.post(
        f"/finance/leavers/{leaver.id}/close",
        data={"currency": "VND", "amount": "-5", "outcome": "write_off", "reason": "Old page"},
    )
    assert stale.status_code == 409
    assert "changed meanwhile" in stale.get_data(as_text=True)
    no_reason = client.post(
        f"/finance/leavers/{leaver.id}/close",
        data={"currency": "VND", "amount": "-240000", "outcome": "write_off", "reason": ""},
    )
    assert no_reason.status_code == 400
    bad_currency = client.post(
        f"/finance/leavers/{leaver.id}/close",
        data={"currency": "ZZZ", "amount": "-240000", "outcome": "write_off", "reason": "x"},
    )
    assert bad_currency.status_code == 400
    assert ledger.balance(leaver.id, "VND") == Money(-240_000, "VND")
    done = client.post(
        f"/finance/leavers/{leaver.id}/close",
        data={"currency": "VND", "amount": "-240000", "outcome": "write_off", "reason": "Small"},
    )
    assert done.status_code == 302
    assert ledger.balance(leaver.id, "VND") == Money.zero("VND")
    page = client.get("/finance/leavers/").get_data(as_text=True)
    assert 'data-testid="decision"' in page
    assert "Write off" in page
    assert verify_ledger().problems == []


def test_only_someone_who_left_can_have_a_balance_closed(client):
    finance = finance_person()
    staying = factories.UserFactory()
    ledger.record_adjustment(staying.id, Money(-1_000, "VND"), "Clawed back", actor=finance)
    login(client, finance)
    response = client.post(
        f"/finance/leavers/{staying.id}/close",
        data={"currency": "VND", "amount": "-1000", "outcome": "deduct", "reason": "x"},
    )
    # a refused request, not a clash with someone else's change
    assert response.status_code == 400
    assert "has not left" in response.get_data(as_text=True)
    assert ledger.balance(staying.id, "VND") == Money(-1_000, "VND")


def test_nobody_closes_their_own_negative_balance(client):
    """A finance person on their leaving day (still signed in until the daily task
    deactivates them) wrote off the 1,000,000 ₫ they owed themselves: an adjustment to their
    own balance, which ``record_adjustment`` refuses to everyone."""
    other = finance_person()
    leaving = factories.UserFactory(roles={Role.FINANCE}, leaving_date=company_today(), locale="en")
    ledger.record_adjustment(leaving.id, Money(-1_000_000, "VND"), "Advance", actor=other)
    with pytest.raises(NotPermitted):
        finance_leavers.close_negative_balance(
            leaving.id, Money(-1_000_000, "VND"), BalanceOutcome.WRITE_OFF, "Mine", actor=leaving
        )
    login(client, leaving)
    response = client.post(
        f"/finance/leavers/{leaving.id}/close",
        data={"currency": "VND", "amount": "-1000000", "outcome": "write_off", "reason": "x"},
    )
    assert response.status_code == 403
    assert "another finance person" in response.get_data(as_text=True)
    assert ledger.balance(leaving.id, "VND") == Money(-1_000_000, "VND")
    # another finance person may
    finance_leavers.close_negative_balance(
        leaving.id, Money(-1_000_000, "VND"), BalanceOutcome.DEDUCT, "Final salary", actor=other
    )
    assert ledger.balance(leaving.id, "VND") == Money.zero("VND")


def test_the_leavers_links_still_redirect(client):
    leaver = factories.UserFactory(leaving_date=company_today())
    link = factories.ReferralLinkFactory(user=leaver)
    response = client.get(f"/r/{db.session.get(ReferralLink, link.id).code}")
    assert response.status_code == 302


def test_a_leaving_date_before_the_hire_date_is_refused(client, login_as):
    login_as(Role.HR)
    person = factories.UserFactory(hire_date=company_today())
    response = client.post(
        f"/people/{person.id}/edit",
        data={
            "shown": people_services.shown_fingerprint(person),
            "name": person.name,
            "email": person.email,
            "employment_type": "staff",
            "locale": "vi",
            "roles": ["employee"],
            "hire_date": company_today().isoformat(),
            "leaving_date": (company_today() - timedelta(days=3)).isoformat(),
        },
    )
    assert response.status_code == 400
    assert "must come after the hire date" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, person.id).leaving_date is None


def test_the_import_checks_a_leaving_date_against_the_stored_hire_date(app):
    from flask_babel import force_locale

    from perks.people.imports import plan_import

    hired = company_today() - timedelta(days=10)
    factories.UserFactory(email="dung@congty.vn", name="Dũng", hire_date=hired)
    factories.UserFactory(
        email="em@congty.vn", name="Em", leaving_date=company_today() + timedelta(days=5)
    )
    refused = "The leaving date must come after the hire date."
    before = (hired - timedelta(days=1)).isoformat()
    late_hire = (company_today() + timedelta(days=6)).isoformat()
    with force_locale("en"):
        leaving_too_early = plan_import(
            f"email,name,leaving_date\ndung@congty.vn,Dũng,{before}\n", actor=None
        )
        hired_too_late = plan_import(
            f"email,name,hire_date\nem@congty.vn,Em,{late_hire}\n", actor=None
        )
        fine = plan_import(
            f"email,name,leaving_date\ndung@congty.vn,Dũng,{company_today().isoformat()}\n",
            actor=None,
        )
    assert [(e.line, e.message) for e in leaving_too_early.errors] == [(2, refused)]
    assert [(e.line, e.message) for e in hired_too_late.errors] == [(2, refused)]
    assert fine.errors == []
    assert fine.rows[0].diff[0][0] == "leaving_date"


def test_a_leaving_date_to_come_changes_nothing_yet(app):
    person = factories.UserFactory(leaving_date=company_today() + timedelta(days=5))
    order = referred_order(person)
    pay(order)
    assert commission_of(order.id).state is S.PENDING
    assert commission_leavers.settle_leavers().settled == 0
    assert db.session.get(User, person.id).active is True


def test_the_import_sets_leaving_dates_and_names_bad_ones(client, login_as):
    hr = login_as(Role.HR)
    factories.UserFactory(email="an@congty.vn", name="Nguyễn Văn An")
    content = (
        "email,name,leaving_date\n"
        "an@congty.vn,Nguyễn Văn An,2026-12-31\n"
        "binh@congty.vn,Trần Thị Bình,31/13/2026\n"
    )
    with_hire = "email,name,hire_date,leaving_date\nchau@congty.vn,Châu,2026-05-01,2026-04-30\n"
    response = client.post(
        "/people/import/",
        data={"file": (io.BytesIO(with_hire.encode()), "nhansu.csv")},
        content_type="multipart/form-data",
    )
    review = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "must come after the hire date" in review
    response = client.post(
        "/people/import/",
        data={"file": (io.BytesIO(content.encode()), "nhansu.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    review = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The leaving date “31/13/2026” is not a date" in review
    good = "email,name,leaving_date\nan@congty.vn,Nguyễn Văn An,31/12/2026\n"
    response = client.post(
        "/people/import/",
        data={"file": (io.BytesIO(good.encode()), "nhansu.csv")},
        content_type="multipart/form-data",
    )
    review = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Leaving date" in review
    assert "31/12/2026" in review  # the dry run shows the change, day first
    stored = db.session.scalars(
        select(PeopleImport)
        .where(PeopleImport.uploaded_by_id == hr.id)
        .order_by(PeopleImport.id.desc())
    ).first()
    client.post(f"/people/import/{stored.id}/confirm")
    db.session.expire_all()
    person = db.session.scalars(select(User).where(User.email == "an@congty.vn")).one()
    assert person.leaving_date.isoformat() == "2026-12-31"
    assert imports is not None
    # a new person with a leaving date, straight from the file
    created = "email,name,leaving_date\nchi@congty.vn,Lê Chi,2027-01-15\n"
    response = client.post(
        "/people/import/",
        data={"file": (io.BytesIO(created.encode()), "nhansu.csv")},
        content_type="multipart/form-data",
    )
    client.get(response.headers["Location"])
    upload = db.session.scalars(select(PeopleImport).order_by(PeopleImport.id.desc())).first()
    client.post(f"/people/import/{upload.id}/confirm")
    db.session.expire_all()
    chi = db.session.scalars(select(User).where(User.email == "chi@congty.vn")).one()
    assert chi.leaving_date.isoformat() == "2027-01-15"


def test_settling_twice_at_once_settles_once(app):
    """Two runs after one another in separate sessions (as two hosts would): one claim."""
    leaver = factories.UserFactory(email="hai@example.com", leaving_date=company_today())
    order = referred_order(leaver)
    pay(order)
    redeem(order)
    first = commission_leavers.settle_leavers(now=utcnow())
    db.session.remove()
    second = commission_leavers.settle_leavers(now=utcnow())
    assert (first.settled, second.settled) == (1, 0)
    assert len(statements_to("hai@example.com")) == 1
    assert (
        len(
            db.session.scalars(
                select(AuditEvent).where(AuditEvent.action == "commissions.leaver_settled")
            ).all()
        )
        == 1
    )


def test_settling_on_several_hosts_at_once_settles_each_leaver_once(app):
    """PostgreSQL: four runs racing, each with its own connection: the settlement row's
    insert decides who settles, its lock who applies the policy later."""
    if not is_postgres(app):
        pytest.skip("racing runs need PostgreSQL's concurrent writers; set TEST_DATABASE_URL")
    commission_leavers.set_policy(LeaverPolicy.FORFEIT, actor=finance_person())
    for n in range(3):
        person = factories.UserFactory(email=f"race{n}@example.com")
        for _ in range(2):
            order = referred_order(person)
            pay(order)
            redeem(order)
        person.leaving_date = company_today()

    db.session.commit()
    db.session.remove()
    outcome = all_at_once(app, range(4), lambda _host: commission_leavers.settle_leavers())

    assert outcome.errors == []
    assert sum(run.settled for run in outcome.results) == 3
    assert sum(run.forfeited for run in outcome.results) == 6
    for n in range(3):
        assert len(statements_to(f"race{n}@example.com")) == 1
    reversals = db.session.scalars(
        select(LedgerEntry).where(LedgerEntry.kind == EntryKind.REVERSAL)
    ).all()
    assert len(reversals) == 6
    assert verify_ledger().problems == []


def test_a_leavers_statement_shows_the_tax_withheld_as_tax_not_as_an_adjustment(app):
    """A contractor paid 3.000.000 ₫ gross, 300.000 withheld: the statement said "Adjustments:
    −300.000 ₫" (no adjustment was recorded) beside "Already paid: 2.700.000 ₫"."""
    from sqlalchemy import delete

    from perks.commissions import tax
    from perks.people.models import EmploymentType

    db.session.execute(delete(tax.WithholdingRate))
    db.session.commit()
    drafter, approver = finance_person(), finance_person()
    tax.add_circular_111_rates(drafter)  # residents: 10 % from 2.000.000 ₫
    partner = factories.UserFactory(employment_type=EmploymentType.CONTRACTOR)
    payable_order(partner, factories.ProductFactory(price_amount=30_000_000))  # earns 3.000.000
    batch = payouts.draft_batch(company_today(), actor=drafter)
    payouts.approve_batch(batch.id, actor=approver)
    payouts.mark_batch_paid(batch.id, "UNC-1", actor=drafter)

    [line] = commission_leavers.statement_of(partner.id).currencies
    assert (line.earned, line.adjusted, line.paid, line.withheld) == (
        3_000_000,
        0,
        2_700_000,
        300_000,
    )
    assert line.still_to_pay == 0


def test_a_final_statement_does_not_call_a_forfeit_a_refund(app):
    """A commission earned, never refunded, forfeited at leaving: the statement said "Taken
    back after refunds or disputes: 240.000 ₫" besides "Forfeited: 240.000 ₫"."""
    commission_leavers.set_policy(LeaverPolicy.FORFEIT, actor=finance_person())
    leaver = factories.UserFactory()
    order = referred_order(leaver)
    pay(order)
    redeem(order)
    db.session.get(User, leaver.id).leaving_date = company_today() - timedelta(days=1)
    db.session.commit()
    commission_leavers.settle_leavers()
    [line] = commission_leavers.statement_of(leaver.id).currencies
    assert (line.earned, line.taken_back, line.forfeited_earned, line.still_to_pay) == (
        240_000,
        0,
        240_000,
        0,
    )


def test_a_commission_paid_after_a_partial_refund_promises_no_deduction(app):
    """Reduced from 240.000 to 120.000 ₫ by a refund while earned, then paid 120.000 ₫: its
    explanation said the 120.000 "is deducted from your next payout", though nothing was."""
    seller = factories.UserFactory()
    order = referred_order(seller)
    pay(order)
    redeem(order)
    refund_to(_order(order.id), order.total_amount // 2)
    make_payable()
    pay_batch(finance_person(), finance_person())
    commission = commission_of(order.id)
    assert commission.state is S.PAID
    with app.test_request_context(), force_locale("en"):
        text = explanation(commission)
    assert "Reduced by ₫120,000 before it was paid: the order was partly refunded." in text
    assert "deducted from your next payout" not in text
    refund_to(_order(order.id), order.total_amount)  # the rest, after it was paid
    with app.test_request_context(), force_locale("en"):
        text = explanation(commission_of(order.id))
    assert "Reduced by ₫120,000 before it was paid" in text
    assert (
        "₫120,000 was taken back after the order was refunded or disputed; it is deducted" in text
    )


def test_a_forfeited_commission_says_what_it_was_worth_when_forfeited(app):
    commission_leavers.set_policy(LeaverPolicy.FORFEIT, actor=finance_person())
    leaver = factories.UserFactory()
    order = referred_order(leaver)
    pay(order)
    redeem(order)
    refund_to(_order(order.id), order.total_amount // 2)  # worth 120.000 ₫ of 240.000 now
    db.session.get(User, leaver.id).leaving_date = company_today() - timedelta(days=1)
    db.session.commit()
    commission_leavers.settle_leavers()
    with app.test_request_context(), force_locale("en"):
        text = explanation(commission_of(order.id))
    assert "it would have earned ₫120,000." in text


def test_a_leaving_date_entered_late_still_earns_nothing_from_that_day(app):
    """HR enters a leaving date after the day (the import runs weekly): an order paid
    through the person's link on or after that day earned a commission before HR knew, and
    vesting paid it in the final settlement. From the leaving date a person earns nothing,
    whenever the date is entered: the settlement voids those commissions ("left the
    company"), under either policy, while one from an order paid before the day vests."""
    leaver = factories.UserFactory()
    before = referred_order(leaver)
    pay(before)
    redeem(before)
    after = referred_order(leaver)
    pay(after)
    redeem(after)
    waiting = referred_order(leaver)
    pay(waiting)
    # the first order was paid before the leaving date, the two others on it
    db.session.execute(
        update(Order).where(Order.id == before.id).values(paid_at=utcnow() - timedelta(days=3))
    )
    db.session.get(User, leaver.id).leaving_date = company_today() - timedelta(days=1)
    db.session.commit()

    run = commission_leavers.settle_leavers()

    assert commission_of(before.id).state is S.PAYABLE  # vested
    late = commission_of(after.id)
    assert (late.state, late.void_reason, late.amount) == (S.VOIDED, VoidReason.LEFT_COMPANY, 0)
    assert run.vested == 1
    # the one waiting for the customer earns nothing when it is used
    redeem(_order(waiting.id))
    commission_leavers.settle_leavers()
    assert commission_of(waiting.id).state is S.VOIDED
    assert ledger.balance(leaver.id, "VND") == Money(240_000, "VND")
    assert verify_ledger().problems == []


def test_someone_who_comes_back_is_settled_again_on_their_new_leaving_date_not_before(app):
    """A contractor left in spring (settled, vest), came back in summer (HR cleared the date
    and reactivated them) and gives notice in autumn: HR enters a leaving date a month
    ahead. The daily task vested what they had just earned at once, as if they had left, and
    on the new date it did nothing: still active, no final statement. A new leaving date is
    applied on its day, as the first was."""
    person = factories.UserFactory(email="quaylai@example.com")
    first = referred_order(person)
    pay(first)
    db.session.execute(
        update(Order).where(Order.id == first.id).values(paid_at=utcnow() - timedelta(days=3))
    )
    stored = db.session.get(User, person.id)
    stored.leaving_date = company_today() - timedelta(days=1)
    db.session.commit()
    assert commission_leavers.settle_leavers().settled == 1
    assert len(statements_to("quaylai@example.com")) == 1
    # back at work: the date cleared, the account active again
    stored = db.session.get(User, person.id)
    stored.leaving_date = None
    stored.active = True
    db.session.commit()
    order = referred_order(person)
    pay(order)
    redeem(order)
    # notice given: the new leaving date is ahead
    stored = db.session.get(User, person.id)
    stored.leaving_date = company_today() + timedelta(days=30)
    db.session.commit()

    commission_leavers.settle_leavers()
    assert commission_of(order.id).state is S.EARNED  # still in its holding period
    assert db.session.get(User, person.id).active is True

    run = commission_leavers.settle_leavers(today=company_today() + timedelta(days=30))
    assert run.settled == 1
    assert commission_of(order.id).state is S.PAYABLE  # vested in the final settlement
    assert db.session.get(User, person.id).active is False
    assert len(statements_to("quaylai@example.com")) == 2
    settlement = db.session.get(LeaverSettlement, person.id)
    assert settlement.leaving_date == company_today() + timedelta(days=30)


def test_under_forfeit_the_daily_release_leaves_a_leavers_earned_commissions_to_the_policy(app):
    """Beat runs the release and the leavers' task each every quarter of an hour, in no set
    order: on the leaving day, a commission whose holding period was over became payable
    before the settlement could forfeit it (forfeit never touches what is payable), and one
    released from a dispute after the settlement was paid too. Whatever runs first, the
    policy decides."""
    from perks.commissions import lifecycle

    commission_leavers.set_policy(LeaverPolicy.FORFEIT, actor=finance_person())
    leaver, staying = factories.UserFactory(), factories.UserFactory()
    orders = {}
    for key, person in (("leaver", leaver), ("disputed", leaver), ("staying", staying)):
        order = referred_order(person)
        pay(order)
        redeem(order)
        orders[key] = order.id
    db.session.execute(
        update(Order)
        .where(Order.id.in_(orders.values()))
        .values(paid_at=utcnow() - timedelta(days=40))
    )
    lifecycle.hold(commission_of(orders["disputed"]), utcnow())
    stored = db.session.get(User, leaver.id)
    stored.leaving_date = company_today()
    db.session.commit()
    later = utcnow() + timedelta(days=60)  # every holding period over

    assert lifecycle.release_due_commissions(later) == 1  # the colleague's only
    assert commission_of(orders["leaver"]).state is S.EARNED
    assert commission_of(orders["staying"]).state is S.PAYABLE
    commission_leavers.settle_leavers()
    forfeited = commission_of(orders["leaver"])
    assert (forfeited.state, forfeited.void_reason) == (S.VOIDED, VoidReason.LEFT_COMPANY)

    # after the settlement the dispute is won: earned again, it waits for the policy too
    assert commission_of(orders["disputed"]).state is S.ON_HOLD
    lifecycle.release(commission_of(orders["disputed"]))
    db.session.commit()
    assert commission_of(orders["disputed"]).state is S.EARNED
    assert lifecycle.release_due_commissions(later) == 0
    assert commission_of(orders["disputed"]).state is S.EARNED
    commission_leavers.settle_leavers()
    assert commission_of(orders["disputed"]).state is S.VOIDED


def test_the_statement_counts_a_disputed_commission_once(app):
    """A commission earned (or paid) and then held by a dispute is in what they earned, and
    in what is still to pay (or already paid): the statement also listed it as 'still
    waiting for customers to use their orders', the same money twice, for an order that was
    used. Only what was never earned waits for customers."""
    from perks.commissions import lifecycle

    person = factories.UserFactory()
    payable, paid, waiting = (referred_order(person) for _ in range(3))
    for order in (payable, paid):
        pay(order)
        redeem(order)
    pay(waiting)
    make_payable()
    pay_batch(finance_person(), finance_person())  # pays both
    payable_again = referred_order(person)
    pay(payable_again)
    redeem(payable_again)
    make_payable()
    for order in (paid, payable_again, waiting):
        lifecycle.hold(commission_of(order.id), utcnow())
    db.session.commit()

    [line] = commission_leavers.statement_of(person.id).currencies
    worth = commission_of(waiting.id).amount
    assert line.waiting == worth  # held before the customer used it: never earned
    assert line.earned == 3 * worth
    assert line.paid == 2 * worth
    assert line.still_to_pay == worth
