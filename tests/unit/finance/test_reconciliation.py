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
