"""Reconciliation against Stripe's own list of Checkout Sessions: what it says, in the
reader's language and format."""

from __future__ import annotations

from flask_babel import force_locale

from perks.finance.periods import Period
from perks.finance.reconciliation import reconcile
from perks.i18n import company_today
from tests import factories


def paid_session(order, amount, currency):  # type: ignore[no-untyped-def]
    return {
        "id": order.checkout_session_id,
        "client_reference_id": str(order.id),
        "status": "complete",
        "payment_status": "paid",
        "amount_total": amount,
        "currency": currency,
    }


def test_a_charge_that_differs_from_the_order_is_shown_as_money_in_the_readers_format(app):
    order = factories.OrderFactory(checkout_session_id="cs_test_reconcile_1")
    today = company_today()
    with app.test_request_context(), force_locale("vi"):
        [finding] = reconcile(
            Period(today, today),
            stripe_sessions=[paid_session(order, order.total_amount - 400_000, "vnd")],
        ).findings
        assert finding.kind == "amount_mismatch"
        total = f"{order.total_amount:,}".replace(",", ".")
        charged = f"{order.total_amount - 400_000:,}".replace(",", ".")
        assert finding.detail == (
            f"Stripe đã thu {charged}\xa0₫; tổng tiền của đơn hàng là {total}\xa0₫."
        )


def test_a_charge_in_a_currency_unknown_here_is_shown_as_stripe_wrote_it(app):
    order = factories.OrderFactory(checkout_session_id="cs_test_reconcile_2")
    today = company_today()
    with app.test_request_context(), force_locale("en"):
        [finding] = reconcile(
            Period(today, today), stripe_sessions=[paid_session(order, 12.5, "xyz")]
        ).findings
        assert finding.detail.startswith("Stripe charged 12.5 XYZ; the order's total is ₫")


def test_refunds_taken_back_as_they_should_be_are_no_findings(app):
    """Reconciliation reported two correct refunds as "not taken back": half of an order paid
    after its referrer left (worth nothing, never earned), and half of an order refunded
    before it was used, then used (it earned the half left, with no reversal)."""
    from datetime import timedelta

    from tests.unit.commissions.helpers import (
        commissions_of,
        pay,
        redeem,
        referred_order,
        refund_to,
    )

    factories.CommissionRuleFactory()  # 10 %: 240.000 ₫ of a 2.400.000 ₫ order
    leaver = factories.UserFactory(leaving_date=company_today() - timedelta(days=1))
    of_a_leaver = referred_order(employee=leaver)
    pay(of_a_leaver)
    refund_to(of_a_leaver, of_a_leaver.total_amount // 2)
    used_after = referred_order()
    pay(used_after)
    refund_to(used_after, used_after.total_amount // 2)
    redeem(used_after)
    [commission] = commissions_of(used_after)
    assert (commission.original_amount, commission.earned_amount) == (240_000, 120_000)

    today = company_today()
    assert [f.detail for f in reconcile(Period(today, today)).findings] == []


def test_stripes_refunds_are_compared_with_what_each_order_says_was_refunded(app):
    """Stripe's refunds that succeeded or are pending count, as in a charge's refunded
    amount; a failed one does not. An order refunded here with nothing refunded at Stripe is
    a finding too, and so is one with less refunded here than at Stripe."""
    agrees = factories.OrderFactory(payment_intent_id="pi_agrees", refunded_amount=300_000)
    lost = factories.OrderFactory(payment_intent_id="pi_lost")
    only_here = factories.OrderFactory(payment_intent_id="pi_only_here", refunded_amount=100_000)
    factories.OrderFactory(payment_intent_id="pi_untouched")
    refunds = [
        {"payment_intent": "pi_agrees", "amount": 200_000, "status": "succeeded"},
        {"payment_intent": "pi_agrees", "amount": 100_000, "status": "pending"},
        {"payment_intent": "pi_lost", "amount": 500_000, "status": "succeeded"},
        {"payment_intent": "pi_untouched", "amount": 900_000, "status": "failed"},
        {"payment_intent": "pi_of_another_app", "amount": 50_000, "status": "succeeded"},
    ]
    today = company_today()
    with app.test_request_context(), force_locale("en"):
        result = reconcile(Period(today, today), stripe_sessions=[], stripe_refunds=refunds)
    assert result.refunds_checked == 5
    assert sorted((f.kind, f.order_id, f.detail) for f in result.findings) == sorted(
        [
            (
                "refund_not_recorded",
                lost.id,
                "Stripe refunded ₫500,000 of this payment; the order says ₫0.",
            ),
            (
                "refund_not_recorded",
                only_here.id,
                "Stripe refunded ₫0 of this payment; the order says ₫100,000.",
            ),
        ]
    )
    assert agrees.id not in {f.order_id for f in result.findings}


def test_a_session_naming_a_number_no_id_can_hold_is_not_looked_up_as_an_order(app):
    """Another system on the same Stripe account writes a phone number or a customer number
    as the session's reference: it was looked up as an order id and the page (and the
    command) failed with a 500 (PostgreSQL's integer out of range, SQLite's overflow). It is
    no order of this app: a paid one is a session without an order, an unpaid one nothing."""
    sessions = [
        {"id": "cs_other_1", "client_reference_id": "84912345678", "payment_status": "paid"},
        {"id": "cs_other_2", "client_reference_id": "9" * 20, "payment_status": "paid"},
        {"id": "cs_other_3", "metadata": {"order_id": "8" * 30}, "payment_status": "unpaid"},
        {"id": "cs_other_4", "client_reference_id": "\u0661\u0662", "payment_status": "unpaid"},
    ]
    today = company_today()
    with app.test_request_context(), force_locale("en"):
        result = reconcile(Period(today, today), stripe_sessions=sessions)
    assert result.sessions_checked == 4
    assert [(f.kind, f.session_id) for f in result.findings] == [
        ("unknown_session", "cs_other_1"),
        ("unknown_session", "cs_other_2"),
    ]


def test_a_stored_payment_of_an_unpaid_order_is_found_and_an_unpaid_completion_is_not(app):
    """A session completed paid, or an async payment that succeeded, whose order is not paid
    here: "Payment not received". A session completed unpaid (a bank transfer on its way)
    is no payment yet."""
    from datetime import UTC, datetime

    from perks.extensions import db
    from perks.payments.models import EventOutcome, StripeEvent

    def stored(order, event_type, payment_status):  # type: ignore[no-untyped-def]
        session = {"object": "checkout.session", "payment_status": payment_status}
        db.session.add(
            StripeEvent(
                event_id=f"evt_{order.id}_{event_type}",
                type=event_type,
                stripe_created_at=datetime.now(UTC),
                payload={"object": "event", "data": {"object": session}},
                order_id=order.id,
                outcome=EventOutcome.NO_CHANGE,
            )
        )

    paid = factories.OrderFactory()
    stored(paid, "checkout.session.completed", "paid")
    settled = factories.OrderFactory()
    stored(settled, "checkout.session.completed", "unpaid")
    stored(settled, "checkout.session.async_payment_succeeded", "paid")
    on_its_way = factories.OrderFactory()
    stored(on_its_way, "checkout.session.completed", "unpaid")
    db.session.commit()
    today = company_today()
    with app.test_request_context(), force_locale("en"):
        result = reconcile(Period(today, today))
    assert sorted((f.kind, f.order_id) for f in result.findings) == [
        ("missing_payment", paid.id),
        ("missing_payment", settled.id),
    ]
    [of_settled] = [f for f in result.findings if f.order_id == settled.id]
    assert "async_payment_succeeded" in of_settled.detail


def test_an_order_awaiting_a_bank_transfer_is_no_expiry_not_received(app):
    """A customer finished Checkout with a bank transfer, which settles days later: the
    session completed (it can never expire), the order awaits the money. Once its checkout
    window had passed, reconciliation said "Expiry not received" for it, every day until the
    money came. An order whose session never completed still is a finding."""
    from datetime import UTC, datetime, timedelta

    from perks.extensions import db
    from perks.payments.models import EventOutcome, StripeEvent

    awaiting = factories.OrderFactory(payment_intent_id="pi_bank_transfer")
    forgotten = factories.OrderFactory()
    for order in (awaiting, forgotten):
        order.checkout_expires_at = datetime.now(UTC) - timedelta(hours=2)
    db.session.add(
        StripeEvent(
            event_id="evt_completed_unpaid",
            type="checkout.session.completed",
            stripe_created_at=datetime.now(UTC),
            payload={"data": {"object": {"payment_status": "unpaid"}}},
            order_id=awaiting.id,
            outcome=EventOutcome.APPLIED,
        )
    )
    db.session.commit()
    today = company_today()
    with app.test_request_context(), force_locale("en"):
        result = reconcile(Period(today, today))
    assert [(f.kind, f.order_id) for f in result.findings] == [("missing_expiry", forgotten.id)]


def test_a_session_opened_after_midnight_for_an_order_of_the_last_second_is_compared(app):
    """Stripe's sessions are listed by their own creation time, the orders by theirs: an
    order of 23:59:59 (company time) whose session Stripe created at 00:00:01 is not in its
    own day's list. Its day's run says nothing of it; the next day's run lists the session
    and compares it with the order, whatever day the order is of: every session is compared
    once, in the run of the day it was created."""
    from datetime import date, timedelta

    from perks.extensions import db
    from perks.i18n import day_start

    last_day, next_day = date(2026, 11, 30), date(2026, 12, 1)
    order = factories.OrderFactory()
    order.created_at = day_start(next_day) - timedelta(seconds=1)
    db.session.commit()
    session = paid_session(order, order.total_amount, "vnd")
    with app.test_request_context(), force_locale("en"):
        assert reconcile(Period(last_day, last_day), stripe_sessions=[]).findings == []
        [found] = reconcile(Period(next_day, next_day), stripe_sessions=[session]).findings
    assert (found.kind, found.order_id) == ("missing_payment", order.id)


def test_a_session_without_an_order_says_its_status_in_the_readers_language(app):
    """The finding put Stripe's own word for the session's status ("complete") in the middle
    of the Vietnamese sentence; a status this app does not know is shown as Stripe wrote it."""
    sessions = [
        {"id": "cs_orphan_1", "client_reference_id": "999999", "status": "complete"},
        {"id": "cs_orphan_2", "client_reference_id": "999998", "status": "expired"},
        {"id": "cs_orphan_3", "client_reference_id": "999997", "status": "someday"},
    ]
    today = company_today()
    with app.test_request_context(), force_locale("vi"):
        details = [
            f.detail for f in reconcile(Period(today, today), stripe_sessions=sessions).findings
        ]
    assert details == [
        "Stripe có phiên cs_orphan_1 (Hoàn tất) nhưng không có đơn hàng tương ứng ở đây.",
        "Stripe có phiên cs_orphan_2 (Đã hết hạn) nhưng không có đơn hàng tương ứng ở đây.",
        "Stripe có phiên cs_orphan_3 (someday) nhưng không có đơn hàng tương ứng ở đây.",
    ]


def test_a_commission_without_a_paid_order_is_counted_in_words(app):
    """The finding read "1 commission(s), but the order is not paid.": one commission is "1
    commission", two are "2 commissions"."""
    from perks.extensions import db
    from tests.unit.commissions.helpers import commissions_of, pay, referred_order

    factories.CommissionRuleFactory()
    one = referred_order()
    two = referred_order(quantity=1)
    factories.OrderLineFactory(order=two, product=factories.ProductFactory(), quantity=1)
    for order in (one, two):
        db.session.refresh(order)
        pay(order)
    assert (len(commissions_of(one)), len(commissions_of(two))) == (1, 2)
    for order in (one, two):
        order.mismatch = "paid 1 ₫ less"
    db.session.commit()
    today = company_today()
    with app.test_request_context(), force_locale("en"):
        details = {
            f.order_id: f.detail
            for f in reconcile(Period(today, today)).findings
            if f.kind == "commission_without_payment"
        }
    assert details == {
        one.id: "1 commission, but the order is not paid.",
        two.id: "2 commissions, but the order is not paid.",
    }
