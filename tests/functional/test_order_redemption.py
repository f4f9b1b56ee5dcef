"""The order counter: a redeemer looks an order up by its code (typed or scanned) and marks it
redeemed, once; whatever cannot be redeemed says why."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from flask import Flask
from sqlalchemy import select

from perks.audit import AuditEvent
from perks.catalog import claims
from perks.extensions import db, limiter
from perks.people.models import Role, User
from perks.shop import redemption
from perks.shop.models import DiscountKind, DisputeStatus, Order, OrderStatus
from tests import factories
from tests.helpers import deferred_script, is_postgres, login, text_of
from tests.racing import all_at_once


def paid_order(**fields: object) -> Order:
    order = factories.OrderFactory(customer_name="Nguyễn Thị Lan", locale="vi", **fields)
    order.paid_at = datetime.now(UTC)
    order.paid_amount = order.total_amount
    order.payment_intent_id = f"pi_test_{order.id:06d}"
    order.refresh_status()
    db.session.commit()
    return order


def reload(order_id: int) -> Order:
    db.session.expire_all()
    order = db.session.get(Order, order_id)
    assert order is not None
    return order


@pytest.fixture
def redeemer(login_as):  # type: ignore[no-untyped-def]
    return login_as(Role.REDEEMER, name="Trần Văn Quầy")


def spaced(code: str) -> str:
    """How a customer reads a code aloud and a redeemer types it: in groups, lower case."""
    return " ".join(code[i : i + 4] for i in range(0, len(code), 4)).lower()


# --- the happy path -------------------------------------------------------------------------


def test_a_redeemer_looks_up_and_redeems_a_paid_order_once(client, redeemer):
    order = paid_order()

    page = client.get(f"/redeem-order?code={order.redemption_code}")

    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert order.number in text
    assert order.lines[0].product_name in text
    assert 'data-testid="redeem-customer">Lan<' in text
    # The customer's first name only: nothing else of them.
    assert "Nguyễn Thị Lan" not in text
    assert order.customer_email not in text
    assert 'data-testid="mark-redeemed"' in text

    done = client.post("/redeem-order/redeem", data={"code": order.redemption_code})

    assert done.status_code == 303
    assert done.headers["Location"].endswith(f"/redeem-order?code={order.redemption_code}")
    order = reload(order.id)
    assert order.redeemed_at is not None
    assert order.redeemed_by_id == redeemer.id
    assert order.status is OrderStatus.REDEEMED
    (row,) = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "shop.order_redeemed")
    ).all()
    assert row.actor_id == redeemer.id
    after = client.get(done.headers["Location"]).get_data(as_text=True)
    assert f"Order {order.number} is redeemed for Lan." in after
    assert 'data-testid="mark-redeemed"' not in after
    assert "Trần Văn Quầy" in after
    assert "Redeemed on" in after
    assert "Already redeemed" not in after  # just done here: not told as a refusal


def test_the_counter_sees_that_a_staff_price_order_is_for_a_member_of_staff(client, redeemer):
    staff = paid_order(discount_kind=DiscountKind.STAFF)
    customer = paid_order()
    page = client.get(f"/redeem-order?code={staff.redemption_code}").get_data(as_text=True)
    assert 'data-testid="redeem-staff">Staff purchase: for a member of staff<' in page
    page = client.get(f"/redeem-order?code={customer.redemption_code}").get_data(as_text=True)
    assert "redeem-staff" not in page


def test_the_counter_sees_how_much_of_a_partly_refunded_order_came_back(client, redeemer):
    """Two tours bought, one refunded: the redeemer must not hand over both without knowing."""
    product = factories.ProductFactory(price_amount=2_400_000)
    order = paid_order(product=product, quantity=2)
    order.refunded_amount = 2_400_000
    order.refresh_status()
    db.session.commit()

    page = client.get(f"/redeem-order?code={order.redemption_code}").get_data(as_text=True)

    assert 'data-testid="redeem-refunded"' in page
    assert "₫2,400,000 of the ₫4,800,000 paid was refunded" in page
    assert 'data-testid="mark-redeemed"' in page  # what was kept may still be used
    client.post("/language", data={"locale": "vi"})
    vi = text_of(client.get(f"/redeem-order?code={order.redemption_code}"))
    assert "Đã hoàn 2.400.000 ₫ trong số 4.800.000 ₫ đã thanh toán" in vi


def test_a_second_attempt_says_when_and_by_whom(client, redeemer):
    order = paid_order()
    first = factories.UserFactory(roles={Role.REDEEMER}, name="Phạm Thị Trước")
    redemption.redeem_order(order.redemption_code, first)

    again = client.post("/redeem-order/redeem", data={"code": order.redemption_code})

    assert again.status_code == 409
    text = again.get_data(as_text=True)
    assert "Already redeemed on" in text
    assert "Phạm Thị Trước" in text
    assert reload(order.id).redeemed_by_id == first.id
    # The lookup says when and by whom too, without a button.
    lookup = client.get(f"/redeem-order?code={order.redemption_code}").get_data(as_text=True)
    assert "Redeemed on" in lookup
    assert "Phạm Thị Trước" in lookup
    assert 'data-testid="mark-redeemed"' not in lookup


@pytest.mark.parametrize(
    "typed",
    [
        lambda code: code.lower(),
        spaced,
        lambda code: f"  {code}\t",
        lambda code: f"https://perks.example/redeem-order?code={code.lower()}",
    ],
)
def test_the_code_may_be_typed_in_any_case_with_spaces_or_scanned_as_a_url(client, redeemer, typed):
    order = paid_order()
    code = typed(order.redemption_code)

    page = client.get("/redeem-order", query_string={"code": code})
    assert page.status_code == 200
    assert order.number in page.get_data(as_text=True)

    done = client.post("/redeem-order/redeem", data={"code": code})
    assert done.status_code == 303
    assert reload(order.id).redeemed_at is not None


def test_a_scanned_order_page_url_finds_its_order(client, redeemer):
    order = paid_order()
    page = client.get(
        "/redeem-order", query_string={"code": f"https://perks.example/shop/orders/{order.token}"}
    )
    assert page.status_code == 200
    assert order.number in page.get_data(as_text=True)


# --- refusals -------------------------------------------------------------------------------


def _unpaid() -> Order:
    return factories.OrderFactory(customer_name="Nguyễn Thị Lan")


def _refunded() -> Order:
    order = paid_order()
    order.refunded_amount = order.total_amount
    order.refresh_status()
    db.session.commit()
    return order


def _disputed() -> Order:
    order = paid_order()
    order.dispute_status = DisputeStatus.OPEN
    order.refresh_status()
    db.session.commit()
    return order


def _mismatch() -> Order:
    return factories.OrderFactory(mismatch="Stripe reported a payment of ₫1 (1 VND)")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_unpaid, "This order is not paid (Awaiting payment)."),
        (_refunded, "This order was refunded."),
        (_disputed, "The payment of this order is disputed."),
        (_mismatch, "The payment did not match the order; finance is looking into it."),
    ],
)
def test_orders_that_cannot_be_redeemed_say_why_and_stay_as_they_are(
    client, redeemer, make, message
):
    order = make()

    lookup = client.get(f"/redeem-order?code={order.redemption_code}")
    assert lookup.status_code == 200
    text = lookup.get_data(as_text=True)
    assert message in text
    assert 'data-testid="mark-redeemed"' not in text

    attempt = client.post("/redeem-order/redeem", data={"code": order.redemption_code})
    assert attempt.status_code == 409
    assert message in attempt.get_data(as_text=True)
    assert reload(order.id).redeemed_at is None


def test_an_unknown_code_is_a_404_with_a_message(client, redeemer):
    response = client.get("/redeem-order?code=NOSUCHCODE")
    assert response.status_code == 404
    assert "No order has the code NOSUCHCODE." in response.get_data(as_text=True)
    assert client.post("/redeem-order/redeem", data={"code": "NOSUCHCODE"}).status_code == 404


def test_a_perk_claim_reference_points_to_the_perk_counter(client, redeemer):
    claim = claims.claim_perk(factories.PerkFactory().id, factories.UserFactory())
    response = client.get(f"/redeem-order?code={claim.reference.lower()}")
    assert response.status_code == 404
    assert f'href="/redeem?code={claim.reference}"' in response.get_data(as_text=True)


def test_an_empty_or_overlong_code_is_a_400(client, redeemer):
    assert client.get("/redeem-order?code=").status_code == 400
    assert client.get("/redeem-order", query_string={"code": "X" * 600}).status_code == 400
    assert client.post("/redeem-order/redeem", data={"code": ""}).status_code == 400


@pytest.mark.parametrize("role", [Role.EMPLOYEE, Role.MANAGER, Role.HR, Role.FINANCE])
def test_only_redeemers_and_admins_reach_the_counter(client, login_as, role):
    order = paid_order()
    login_as(role)
    assert client.get("/redeem-order").status_code == 403
    assert client.get(f"/redeem-order?code={order.redemption_code}").status_code == 403
    assert (
        client.post("/redeem-order/redeem", data={"code": order.redemption_code}).status_code == 403
    )
    assert reload(order.id).redeemed_at is None


def test_an_admin_may_redeem(client, login_as):
    order = paid_order()
    login_as(Role.ADMIN)
    assert (
        client.post("/redeem-order/redeem", data={"code": order.redemption_code}).status_code == 303
    )


def test_the_counter_is_in_the_redeemers_navigation(client, redeemer):
    page = client.get("/").get_data(as_text=True)
    assert 'href="/redeem-order"' in page
    assert 'href="/redeem"' in page


def test_the_counter_page_loads_the_scanner_from_this_site(client, redeemer):
    page = client.get("/redeem-order").get_data(as_text=True)
    assert deferred_script("/static/vendor/jsqr/jsQR.js").search(page)
    assert deferred_script("/static/js/scan-code.js").search(page)
    assert client.get("/static/vendor/jsqr/jsQR.js").status_code == 200


def test_the_redeem_post_needs_a_csrf_token(app_factory, app):  # type: ignore[no-untyped-def]
    strict = app_factory(WTF_CSRF_ENABLED=True)
    client = strict.test_client()
    order = paid_order()
    login_with_csrf(client, factories.UserFactory(roles={Role.REDEEMER}))
    response = client.post("/redeem-order/redeem", data={"code": order.redemption_code})
    assert response.status_code == 400
    assert reload(order.id).redeemed_at is None


def login_with_csrf(client, user) -> None:  # type: ignore[no-untyped-def]
    import re

    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert token is not None
    response = client.post(
        "/login",
        data={"email": user.email, "password": factories.PASSWORD, "csrf_token": token.group(1)},
    )
    assert response.status_code == 302


# --- rate limit -----------------------------------------------------------------------------


@pytest.fixture
def limited_client(app, app_factory) -> Iterator:  # type: ignore[no-untyped-def]
    limited = app_factory(RATELIMIT_ENABLED=True, REDEEM_RATE_LIMIT="3 per minute")
    with limited.app_context():
        limiter.reset()
    yield limited
    with limited.app_context():
        limiter.reset()


def test_lookups_are_rate_limited_per_person(limited_client):
    first, second = limited_client.test_client(), limited_client.test_client()
    login(first, factories.UserFactory(roles={Role.REDEEMER}))
    login(second, factories.UserFactory(roles={Role.REDEEMER}))

    statuses = [first.get(f"/redeem-order?code=GUESS{n}").status_code for n in range(5)]

    assert statuses == [404, 404, 404, 429, 429]
    # Another redeemer at the same address is not held back by the first one's guesses.
    assert second.get("/redeem-order?code=GUESS9").status_code == 404


# --- concurrency ----------------------------------------------------------------------------


@pytest.mark.postgres_only
def test_two_counters_redeeming_at_once_make_exactly_one_redemption(app: Flask):
    if not is_postgres(app):
        pytest.skip(
            "simultaneous redemptions need PostgreSQL (concurrent writers); "
            "set TEST_DATABASE_URL to run it"
        )
    order = paid_order()
    code, order_id = order.redemption_code, order.id
    people = [factories.UserFactory(roles={Role.REDEEMER}) for _ in range(8)]
    ids = [person.id for person in people]
    db.session.remove()
    # in English, as at the counter
    outcome = all_at_once(
        app,
        ids,
        lambda user: redemption.redeem_order(code, user),
        prepare=lambda user_id: db.session.get(User, user_id),
        locale="en",
    )

    assert outcome.errors == []
    assert outcome.answers == Counter(ok=1, Conflict=len(ids) - 1)
    assert all(message.startswith("Already redeemed on") for message in outcome.refusals), (
        outcome.refusals
    )
    order = reload(order_id)
    assert order.redeemed_by_id in ids
    audits = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "shop.order_redeemed")
    ).all()
    assert len(audits) == 1
