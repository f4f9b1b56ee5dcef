"""Payout batches: draft, exclude, approve (four eyes), mark paid, cancel; and the stories
finance relies on: refunds after a payout carried into the next batch, excluded lines and
cancelled batches giving their entries back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from perks import background
from perks.audit import AuditEvent
from perks.background import BackgroundJob, JobState
from perks.commissions import ledger, tax
from perks.commissions.models import Commission, CommissionState, EntryKind, LedgerEntry
from perks.commissions.verify import verify_ledger
from perks.db import utcnow
from perks.errors import Conflict, NotPermitted, ValidationFailed
from perks.extensions import db
from perks.finance import payouts, queries
from perks.finance.models import BatchStatus, LineStatus, PayoutBatch, PayoutItem, PayoutLine
from perks.i18n import company_today, format_day
from perks.mail import MessageStatus, OutboxMessage
from perks.money import Money
from perks.people.models import Role, User
from tests import factories
from tests.helpers import spare_port
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

pytestmark = pytest.mark.usefixtures("app")


@pytest.fixture(autouse=True)
def _rule() -> None:
    factories.CommissionRuleFactory()  # 10 % of every line


def _line_of(batch: PayoutBatch, user_id: int) -> PayoutLine:
    return next(line for line in queries.lines_of(batch.id) if line.user_id == user_id)


def _paid_batch(drafter, approver, reference: str = "PAYROLL-1") -> PayoutBatch:
    batch = payouts.draft_batch(company_today(), actor=drafter)
    payouts.approve_batch(batch.id, actor=approver)
    return payouts.mark_batch_paid(batch.id, reference, actor=drafter)


def test_a_draft_nets_each_persons_payable_entries():
    an, binh = factories.UserFactory(), factories.UserFactory()
    payable_order(an)  # 240.000 ₫
    payable_order(an, quantity=2)  # 480.000 ₫
    payable_order(binh)
    pending = referred_order(binh)
    pay(pending)  # pending: not released
    batch = payouts.draft_batch(company_today(), actor=finance_person())
    assert batch.status is BatchStatus.DRAFT
    assert batch.reference.startswith("PO-")
    lines = {line.user_id: line for line in queries.lines_of(batch.id)}
    assert lines[an.id].amount == 720_000
    assert lines[an.id].entry_count == 2
    assert lines[binh.id].amount == 240_000
    assert all(line.status is LineStatus.INCLUDED for line in lines.values())
    assert queries.batch_totals(list(lines.values())) == {"VND": 960_000}
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "finance.payout_drafted")
    ).one()
    assert event.details["totals"] == {"VND": 960_000}


def test_nothing_owed_is_refused_and_nothing_is_written():
    with pytest.raises(ValidationFailed) as refused:
        payouts.draft_batch(company_today(), actor=finance_person())
    # the day as the reader writes days, not 2026-12-05
    assert format_day(company_today()) in refused.value.message
    assert company_today().isoformat() not in refused.value.message
    assert db.session.scalar(select(PayoutBatch.id)) is None


def test_a_cutoff_in_the_future_is_refused():
    from datetime import timedelta

    with pytest.raises(ValidationFailed):
        payouts.draft_batch(company_today() + timedelta(days=1), actor=finance_person())


def test_the_drafter_cannot_approve_but_a_second_finance_person_can():
    payable_order(factories.UserFactory())
    drafter, approver = finance_person(), finance_person()
    batch = payouts.draft_batch(company_today(), actor=drafter)
    with pytest.raises(NotPermitted):
        payouts.approve_batch(batch.id, actor=drafter)
    assert queries.get_batch(batch.id).status is BatchStatus.DRAFT
    payouts.approve_batch(batch.id, actor=approver)
    batch = queries.get_batch(batch.id)
    assert batch.status is BatchStatus.APPROVED
    assert batch.approved_by_id == approver.id


def test_nobody_records_an_adjustment_to_their_own_balance():
    finance = finance_person()
    with pytest.raises(NotPermitted, match="chính mình"):
        ledger.record_adjustment(finance.id, Money(1_000, "VND"), "Bonus", actor=finance)
    assert db.session.scalars(select(LedgerEntry)).all() == []


def test_nobody_approves_a_batch_that_pays_them():
    """Four eyes on who gets the money: a finance person's own commission line waits for a
    batch someone else approves."""
    drafter, approver = finance_person(), finance_person()
    payable_order(approver)  # finance staff share links too
    batch = payouts.draft_batch(company_today(), actor=drafter)
    with pytest.raises(NotPermitted, match="chi trả cho bạn"):
        payouts.approve_batch(batch.id, actor=approver)
    assert queries.get_batch(batch.id).status is BatchStatus.DRAFT
    payouts.approve_batch(batch.id, actor=finance_person())
    assert queries.get_batch(batch.id).status is BatchStatus.APPROVED


def test_nobody_approves_an_adjustment_they_recorded():
    an = factories.UserFactory()
    drafter, approver = finance_person(), finance_person()
    ledger.record_adjustment(an.id, Money(1_000_000, "VND"), "Thưởng", actor=approver)
    batch = payouts.draft_batch(company_today(), actor=drafter)
    with pytest.raises(NotPermitted, match="do bạn ghi nhận"):
        payouts.approve_batch(batch.id, actor=approver)
    payouts.approve_batch(batch.id, actor=finance_person())
    assert queries.get_batch(batch.id).status is BatchStatus.APPROVED


def test_nobody_approves_a_batch_that_pays_into_a_bank_account_they_entered():
    """Four eyes on where the money goes: a finance person who set a payee's tax profile
    (their bank account) while the draft waited, or before it, would approve a transfer to
    an account nobody else saw entered; a third finance person approves it, or the one who
    entered the account drafts the next batch."""
    cuc = factories.UserFactory(name="Lê Cúc")
    payable_order(cuc)
    drafter, approver = finance_person(), finance_person()
    batch = payouts.draft_batch(company_today(), actor=drafter)
    tax.save_tax_profile(
        cuc.id,
        tax.ProfileFields(bank_account_number="99998888", bank_name="ACB", account_holder="X"),
        actor=approver,
    )
    with pytest.raises(NotPermitted, match="hồ sơ thuế"):
        payouts.approve_batch(batch.id, actor=approver)
    assert queries.get_batch(batch.id).status is BatchStatus.DRAFT
    payouts.approve_batch(batch.id, actor=finance_person())
    assert queries.get_batch(batch.id).status is BatchStatus.APPROVED


def test_a_payees_profile_entered_before_the_draft_also_needs_another_approver():
    cuc = factories.UserFactory(name="Lê Cúc")
    payable_order(cuc)
    approver = finance_person()
    tax.save_tax_profile(cuc.id, tax.ProfileFields(bank_account_number="11112222"), actor=approver)
    batch = payouts.draft_batch(company_today(), actor=finance_person())
    with pytest.raises(NotPermitted):
        payouts.approve_batch(batch.id, actor=approver)
    payouts.approve_batch(batch.id, actor=finance_person())
    assert queries.get_batch(batch.id).status is BatchStatus.APPROVED


def test_who_entered_a_payees_bank_account_may_draft_the_batch_another_approves():
    cuc = factories.UserFactory(name="Lê Cúc")
    payable_order(cuc)
    entered_it = finance_person()
    tax.save_tax_profile(
        cuc.id, tax.ProfileFields(bank_account_number="11112222"), actor=entered_it
    )
    batch = payouts.draft_batch(company_today(), actor=entered_it)
    payouts.approve_batch(batch.id, actor=finance_person())
    assert queries.get_batch(batch.id).status is BatchStatus.APPROVED


def test_the_database_refuses_an_approval_by_the_drafter():
    payable_order(factories.UserFactory())
    drafter = finance_person()
    batch = payouts.draft_batch(company_today(), actor=drafter)
    drafter_id = drafter.id
    with db.session.no_autoflush:
        batch.status = BatchStatus.APPROVED
        batch.approved_at = utcnow()
        batch.approved_by_id = drafter_id
    with pytest.raises(IntegrityError, match="four_eyes"):
        db.session.commit()
    db.session.rollback()


def test_marking_paid_writes_payouts_moves_commissions_and_tells_people():
    an = factories.UserFactory(email="an@example.com")
    order = payable_order(an)
    drafter, approver = finance_person(), finance_person()
    batch = _paid_batch(drafter, approver, "PR-2026-11")
    assert batch.status is BatchStatus.PAID
    assert batch.payment_reference == "PR-2026-11"
    line = _line_of(batch, an.id)
    payout = db.session.get(LedgerEntry, line.payout_entry_id)
    assert payout.kind is EntryKind.PAYOUT
    assert payout.amount == -240_000
    assert payout.payout_batch_id == batch.id
    commission = db.session.scalars(select(Commission).where(Commission.order_id == order.id)).one()
    assert commission.state is CommissionState.PAID
    assert ledger.balance(an.id, "VND") == Money(0, "VND")
    mail = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.recipient == "an@example.com")
    ).all()
    assert any(batch.reference in m.body_text for m in mail)
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"finance.payout_drafted", "finance.payout_approved", "finance.payout_paid"} <= actions
    assert verify_ledger().ok, verify_ledger().problems


def test_an_adjustment_naming_a_pending_commission_is_paid_without_paying_the_commission():
    an = factories.UserFactory()
    order = referred_order(an)
    pay(order)  # pending: not redeemed yet
    commission = db.session.scalars(select(Commission).where(Commission.order_id == order.id)).one()
    assert commission.state is CommissionState.PENDING
    ledger.record_adjustment(
        an.id, Money(50_000, "VND"), "Thưởng", actor=finance_person(), commission_id=commission.id
    )
    batch = _paid_batch(finance_person(), finance_person())
    assert batch.status is BatchStatus.PAID
    assert _line_of(batch, an.id).amount == 50_000
    db.session.refresh(commission)
    assert commission.state is CommissionState.PENDING
    assert verify_ledger().ok, verify_ledger().problems


def test_only_an_approved_batch_can_be_paid_and_only_once():
    payable_order(factories.UserFactory())
    drafter, approver = finance_person(), finance_person()
    batch = payouts.draft_batch(company_today(), actor=drafter)
    with pytest.raises(Conflict):
        payouts.mark_batch_paid(batch.id, "X", actor=drafter)
    payouts.approve_batch(batch.id, actor=approver)
    with pytest.raises(ValidationFailed):
        payouts.mark_batch_paid(batch.id, "   ", actor=drafter)
    payouts.mark_batch_paid(batch.id, "X", actor=drafter)
    with pytest.raises(Conflict):
        payouts.mark_batch_paid(batch.id, "X", actor=drafter)
    with pytest.raises(Conflict):
        payouts.cancel_batch(batch.id, "too late", actor=drafter)
    assert (
        db.session.scalar(
            select(LedgerEntry.id).where(LedgerEntry.kind == EntryKind.PAYOUT).limit(2).offset(1)
        )
        is None
    )


def test_a_refund_after_payout_is_a_negative_carried_into_the_next_batch():
    an = factories.UserFactory()
    order = payable_order(an)  # earns 240.000 ₫
    drafter, approver = finance_person(), finance_person()
    _paid_batch(drafter, approver)
    refund_to(order, order.total_amount)  # the whole order refunded after the payout
    assert ledger.balance(an.id, "VND") == Money(-240_000, "VND")

    # Alone, the negative is carried forward: nothing to pay.
    with pytest.raises(ValidationFailed):
        payouts.draft_batch(company_today(), actor=drafter)

    # With a new commission of 480.000 ₫, the next batch pays the difference.
    payable_order(an, quantity=2)
    batch = payouts.draft_batch(company_today(), actor=drafter)
    line = _line_of(batch, an.id)
    assert line.amount == 480_000 - 240_000
    entries = queries.entries_by_line(batch.id)[line.id]
    assert sorted(e.amount.amount for e in entries) == [-240_000, 480_000]
    payouts.approve_batch(batch.id, actor=approver)
    payouts.mark_batch_paid(batch.id, "PAYROLL-2", actor=drafter)
    assert ledger.balance(an.id, "VND") == Money(0, "VND")
    assert verify_ledger().ok, verify_ledger().problems


def test_a_non_positive_net_is_shown_as_carried_and_keeps_its_entries_free():
    an, binh = factories.UserFactory(), factories.UserFactory()
    payable_order(binh)
    ledger.record_adjustment(an.id, Money(-50_000, "VND"), "Advance repaid", actor=finance_person())
    batch = payouts.draft_batch(company_today(), actor=finance_person())
    carried = _line_of(batch, an.id)
    assert carried.status is LineStatus.CARRIED
    assert carried.amount == -50_000
    held = set(db.session.scalars(payouts.held_entry_ids()))
    adjustment_id = db.session.scalar(select(LedgerEntry.id).where(LedgerEntry.user_id == an.id))
    assert adjustment_id not in held


def test_an_excluded_line_waits_for_the_next_batch():
    an, binh = factories.UserFactory(), factories.UserFactory()
    payable_order(an)
    payable_order(binh)
    drafter, approver = finance_person(), finance_person()
    batch = payouts.draft_batch(company_today(), actor=drafter)
    line = _line_of(batch, an.id)
    with pytest.raises(ValidationFailed):
        payouts.exclude_line(batch.id, line.id, "  ", actor=drafter)
    payouts.exclude_line(batch.id, line.id, "Bank details missing", actor=approver)
    assert _line_of(batch, an.id).status is LineStatus.EXCLUDED
    with pytest.raises(Conflict):
        payouts.exclude_line(batch.id, line.id, "again", actor=drafter)
    payouts.approve_batch(batch.id, actor=approver)
    payouts.mark_batch_paid(batch.id, "PAYROLL-1", actor=drafter)
    assert ledger.balance(an.id, "VND") == Money(240_000, "VND")  # not paid
    assert ledger.balance(binh.id, "VND") == Money(0, "VND")

    following = payouts.draft_batch(company_today(), actor=drafter)
    lines = queries.lines_of(following.id)
    assert [(line.user_id, line.amount, line.status) for line in lines] == [
        (an.id, 240_000, LineStatus.INCLUDED)
    ]


def test_a_draft_with_every_line_excluded_cannot_be_approved():
    an = factories.UserFactory()
    payable_order(an)
    drafter, approver = finance_person(), finance_person()
    batch = payouts.draft_batch(company_today(), actor=drafter)
    payouts.exclude_line(batch.id, _line_of(batch, an.id).id, "On leave", actor=drafter)
    with pytest.raises(Conflict):
        payouts.approve_batch(batch.id, actor=approver)


def test_cancelling_a_batch_frees_its_entries():
    an = factories.UserFactory()
    payable_order(an)
    drafter, approver = finance_person(), finance_person()
    batch = payouts.draft_batch(company_today(), actor=drafter)
    # While the draft holds them, a second draft finds nothing.
    with pytest.raises(ValidationFailed):
        payouts.draft_batch(company_today(), actor=approver)
    payouts.approve_batch(batch.id, actor=approver)
    with pytest.raises(ValidationFailed):
        payouts.cancel_batch(batch.id, "", actor=drafter)
    payouts.cancel_batch(batch.id, "Wrong cut-off day", actor=drafter)
    assert queries.get_batch(batch.id).status is BatchStatus.CANCELLED
    assert set(db.session.scalars(payouts.held_entry_ids())) == set()
    following = payouts.draft_batch(company_today(), actor=approver)
    assert _line_of(following, an.id).amount == 240_000
    with pytest.raises(Conflict):
        payouts.approve_batch(batch.id, actor=approver)


def test_an_entry_cannot_be_held_by_two_batches():
    """The unique constraint behind concurrent drafts (PostgreSQL and SQLite alike)."""
    payable_order(factories.UserFactory())
    drafter = finance_person()
    batch = payouts.draft_batch(company_today(), actor=drafter)
    item = db.session.scalars(select(PayoutItem).where(PayoutItem.batch_id == batch.id)).first()
    line = queries.lines_of(batch.id)[0]
    db.session.add(
        PayoutItem(
            batch_id=batch.id,
            line_id=line.id,
            ledger_entry_id=item.ledger_entry_id,
            claimed_entry_id=item.claimed_entry_id,
        )
    )
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_entries_after_the_cutoff_wait_for_a_later_batch():
    from datetime import timedelta

    an = factories.UserFactory()
    payable_order(an)
    with pytest.raises(ValidationFailed):
        payouts.draft_batch(company_today() - timedelta(days=1), actor=finance_person())


def test_a_commission_refunded_before_payment_is_not_paid_twice():
    """A refund landing between draft and payment: the batch pays what it drafted, the
    reversal nets in the next batch."""
    an = factories.UserFactory()
    order = referred_order(an)
    pay(order)
    redeem(order)
    make_payable()
    drafter, approver = finance_person(), finance_person()
    batch = payouts.draft_batch(company_today(), actor=drafter)
    payouts.approve_batch(batch.id, actor=approver)
    refund_to(order, order.total_amount)
    payouts.mark_batch_paid(batch.id, "PAYROLL-1", actor=drafter)
    assert ledger.balance(an.id, "VND") == Money(-240_000, "VND")
    assert verify_ledger().ok, verify_ledger().problems


# In the background ------------------------------------------------------------------------------


def _approved_batch(drafter, approver) -> PayoutBatch:
    batch = payouts.draft_batch(company_today(), actor=drafter)
    return payouts.approve_batch(batch.id, actor=approver)


def _told(reference: str) -> dict[str, int]:
    """How many e-mails name the batch ``reference``, per recipient."""
    counts: dict[str, int] = {}
    for message in db.session.scalars(select(OutboxMessage)):
        if reference in message.body_text:
            counts[message.recipient] = counts.get(message.recipient, 0) + 1
    return counts


def _payouts_of(user_id: int) -> int:
    return len(
        db.session.scalars(
            select(LedgerEntry).where(
                LedgerEntry.kind == EntryKind.PAYOUT, LedgerEntry.user_id == user_id
            )
        ).all()
    )


def test_a_batch_marked_paid_in_the_background_is_paid_once_with_its_emails():
    an, binh = factories.UserFactory(email="an@example.com"), factories.UserFactory(email="b@e.vn")
    payable_order(an)
    payable_order(binh, quantity=2)
    drafter, approver = finance_person(), finance_person()
    batch = _approved_batch(drafter, approver)

    job = payouts.start_marking_paid(batch.id, "PR-9", actor=drafter)

    db.session.expire_all()
    job = db.session.get(BackgroundJob, job.id)
    assert job.state is JobState.SUCCEEDED
    assert (job.result["lines"], job.done, job.total) == (2, 2, 2)
    assert job.result["totals"] == {"VND": 720_000}
    assert db.session.get(PayoutBatch, batch.id).status is BatchStatus.PAID
    # The e-mails were written with the payout (the outbox sends them after the commit).
    assert _told(batch.reference) == {"an@example.com": 1, "b@e.vn": 1}

    # The same message delivered again, then a second job slipping through: nothing more.
    assert background.execute(job.id) is None
    second = BackgroundJob(
        kind=payouts.PAID_JOB_KIND,
        subject=job.subject,
        payload=job.payload,
        created_by_id=drafter.id,
        locale="en",
        heartbeat_at=utcnow(),
    )
    db.session.add(second)
    db.session.commit()
    assert background.execute(second.id) is JobState.FAILED
    db.session.expire_all()
    assert "this one is Paid" in db.session.get(BackgroundJob, second.id).error
    assert (_payouts_of(an.id), _payouts_of(binh.id)) == (1, 1)
    assert _told(batch.reference) == {"an@example.com": 1, "b@e.vn": 1}
    assert verify_ledger().ok, verify_ledger().problems


def test_a_batch_is_not_paid_by_a_job_whose_starter_lost_the_finance_role_since():
    """The job checked only that its starter was still active: finance taken away between
    the request and the run, the batch was still paid in their name."""
    payable_order(factories.UserFactory())
    drafter, approver = finance_person(), finance_person()
    batch = _approved_batch(drafter, approver)
    waiting = BackgroundJob(
        kind=payouts.PAID_JOB_KIND,
        subject=f"payout_batch:{batch.id}",
        payload={"batch_id": batch.id, "reference": batch.reference, "payment_reference": "X"},
        created_by_id=drafter.id,
        locale="en",
        heartbeat_at=utcnow(),
    )
    db.session.add(waiting)
    drafter.set_roles({Role.EMPLOYEE})
    db.session.commit()

    assert background.execute(waiting.id) is JobState.FAILED

    db.session.expire_all()
    assert "no longer active in finance" in db.session.get(BackgroundJob, waiting.id).error
    assert db.session.get(PayoutBatch, batch.id).status is BatchStatus.APPROVED
    assert payouts.start_marking_paid(batch.id, "PR-2", actor=approver).state is (
        JobState.SUCCEEDED
    )


def test_asking_again_while_the_batch_is_being_paid_gives_the_same_job():
    payable_order(factories.UserFactory())
    drafter, approver = finance_person(), finance_person()
    batch = _approved_batch(drafter, approver)
    waiting = BackgroundJob(
        kind=payouts.PAID_JOB_KIND,
        subject=f"payout_batch:{batch.id}",
        payload={"batch_id": batch.id, "reference": batch.reference, "payment_reference": "X"},
        created_by_id=drafter.id,
        heartbeat_at=utcnow(),
    )
    db.session.add(waiting)
    db.session.commit()

    again = payouts.start_marking_paid(batch.id, "PR-1", actor=approver)

    assert again.id == waiting.id
    assert payouts.paying_job(batch.id).id == waiting.id
    assert db.session.get(PayoutBatch, batch.id).status is BatchStatus.APPROVED


def test_only_an_approved_batch_with_a_reference_is_sent_to_be_paid():
    payable_order(factories.UserFactory())
    drafter, approver = finance_person(), finance_person()
    batch = payouts.draft_batch(company_today(), actor=drafter)
    with pytest.raises(Conflict):
        payouts.start_marking_paid(batch.id, "PR-1", actor=drafter)
    payouts.approve_batch(batch.id, actor=approver)
    with pytest.raises(ValidationFailed):
        payouts.start_marking_paid(batch.id, "   ", actor=drafter)
    assert db.session.scalars(select(BackgroundJob)).all() == []


def test_a_batch_is_paid_while_the_mail_server_is_down_and_its_emails_wait(app, monkeypatch):
    port = spare_port()  # a loopback port nobody listens on
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "smtp")
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", port)
    monkeypatch.setitem(app.config, "MAIL_USE_TLS", False)
    an = factories.UserFactory(email="an@example.com")
    payable_order(an)
    drafter, approver = finance_person(), finance_person()
    batch = _approved_batch(drafter, approver)

    job = payouts.start_marking_paid(batch.id, "PR-7", actor=drafter)

    db.session.expire_all()
    assert db.session.get(BackgroundJob, job.id).state is JobState.SUCCEEDED
    assert db.session.get(PayoutBatch, batch.id).status is BatchStatus.PAID
    waiting = [
        m for m in db.session.scalars(select(OutboxMessage)) if batch.reference in m.body_text
    ]
    assert [(m.recipient, m.status, m.sent_at) for m in waiting] == [
        ("an@example.com", MessageStatus.QUEUED, None)
    ]
    assert waiting[0].attempts >= 1  # tried after the commit, refused, to be tried again


# --- clicks at the same moment, on both databases --------------------------------------------


def test_two_approvals_at_once_approve_the_batch_once(app):
    payable_order(factories.UserFactory())
    drafter, approver = finance_person(), finance_person()
    batch_id, approver_id = payouts.draft_batch(company_today(), actor=drafter).id, approver.id

    outcome = all_at_once(
        app,
        range(3),
        lambda actor: payouts.approve_batch(batch_id, actor=actor).id,
        prepare=lambda _: db.session.get(User, approver_id),
    )

    assert outcome.errors == []
    assert outcome.answers["ok"] == 1, outcome.answers
    assert set(outcome.answers) <= {"ok", "Conflict"}
    assert _events("finance.payout_approved") == 1


def test_two_clicks_on_mark_paid_at_once_pay_the_batch_once(app):
    """SQLite leaves out FOR UPDATE: both clicks read the batch as approved and both paid it,
    until a locking read took the write lock first (``perks.database``)."""
    an, binh = factories.UserFactory(), factories.UserFactory()
    payable_order(an)
    payable_order(binh, quantity=2)
    drafter, approver = finance_person(), finance_person()
    batch_id, drafter_id = _approved_batch(drafter, approver).id, drafter.id

    outcome = all_at_once(
        app,
        range(3),
        lambda actor: payouts.start_marking_paid(batch_id, "PR-1", actor=actor).id,
        prepare=lambda _: db.session.get(User, drafter_id),
    )

    assert outcome.errors == []
    assert set(outcome.answers) <= {"ok", "Conflict"}
    assert len(set(outcome.results)) == 1  # whoever was answered "ok" got the one job
    db.session.expire_all()
    jobs = db.session.scalars(
        select(BackgroundJob).where(BackgroundJob.subject == f"payout_batch:{batch_id}")
    ).all()
    assert [job.state for job in jobs] == [JobState.SUCCEEDED]
    assert (_payouts_of(an.id), _payouts_of(binh.id)) == (1, 1)
    assert _events("finance.payout_paid") == 1
    assert verify_ledger().ok, verify_ledger().problems


def _events(action: str) -> int:
    return len(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all())


def test_a_batch_up_to_yesterday_pays_nothing_of_a_commission_refunded_today(monkeypatch):
    """Paid and used yesterday (earned, in its holding period), refunded in full today (voided,
    its earning taken back today): a batch drafted up to yesterday, as at a month's end, must
    not pay the earning alone."""
    from perks.shop import orders as shop_orders
    from perks.shop import redemption

    employee = factories.UserFactory()
    order = referred_order(employee)
    yesterday = utcnow() - timedelta(days=1)
    monkeypatch.setattr(shop_orders, "utcnow", lambda: yesterday)
    monkeypatch.setattr(redemption, "utcnow", lambda: yesterday)
    pay(order)
    redeem(order)
    monkeypatch.undo()
    refund_to(order, order.total_amount)
    assert db.session.scalars(select(Commission.state)).one() is CommissionState.VOIDED

    with pytest.raises(ValidationFailed, match="không có khoản nào cần chi trả"):
        payouts.draft_batch(company_today() - timedelta(days=1), actor=finance_person())
    # up to today, the earning and its reversal are released together, and net to nothing
    released = ledger.net_per_person(list(db.session.scalars(ledger.payable_entries(utcnow()))))
    assert [(line.user_id, line.amount, len(line.entry_ids)) for line in released] == [
        (employee.id, 0, 2)
    ]
