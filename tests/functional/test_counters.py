"""The redeemer's two counters (perk claims at /redeem, shop orders at /redeem-order) share
one camera scanner and recognise each other's codes: a code that belongs to the other
counter says so and links there with the code filled in, in English and Vietnamese."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape

import pytest

from perks.catalog import claims
from perks.catalog.models import CodeMode
from perks.extensions import db
from perks.people.models import Role
from perks.shop.models import Order
from tests import factories
from tests.helpers import deferred_script, text_of


def paid_order() -> Order:
    order = factories.OrderFactory(customer_name="Nguyễn Thị Lan", locale="vi")
    order.paid_at = datetime.now(UTC)
    order.paid_amount = order.total_amount
    order.refresh_status()
    db.session.commit()
    return order


def link_to_other_counter(response) -> str:  # type: ignore[no-untyped-def]
    html = response.get_data(as_text=True)
    found = re.search(r'href="([^"]+)" data-testid="other-counter-link"', html)
    assert found, "no link to the other counter"
    return unescape(found.group(1))


@pytest.mark.parametrize("path", ["/redeem", "/redeem-order"])
def test_both_counters_offer_the_same_camera_scanner(client, login_as, path):
    login_as(Role.REDEEMER)

    page = client.get(path).get_data(as_text=True)

    assert 'data-testid="scan-start"' in page
    assert "data-scan-root" in page
    assert deferred_script("/static/vendor/jsqr/jsQR.js").search(page)
    assert deferred_script("/static/js/scan-code.js").search(page)
    assert client.get("/static/js/scan-code.js").status_code == 200
    assert client.get("/static/js/scan-order.js").status_code == 404  # one component, no copy


def test_an_order_code_at_the_perk_counter_points_to_the_order_counter(client, login_as):
    order = paid_order()
    login_as(Role.REDEEMER, locale="en")
    typed = " ".join(order.redemption_code[i : i + 4] for i in range(0, 10, 4)).lower()

    response = client.get("/redeem", query_string={"code": typed})

    assert response.status_code == 404
    assert "This is the code of a shop order, not of a perk claim." in text_of(response)
    assert "Redeem it at the order counter" in text_of(response)
    assert 'data-testid="redeem-error"' not in response.get_data(as_text=True)
    target = link_to_other_counter(response)
    assert target == f"/redeem-order?code={order.redemption_code}"
    followed = client.get(target)
    assert followed.status_code == 200
    assert 'data-testid="mark-redeemed"' in followed.get_data(as_text=True)


def test_a_claim_code_at_the_order_counter_points_to_the_perk_counter(client, login_as):
    perk = factories.PerkFactory(title_en="Buffet", code_mode=CodeMode.POOL, codes=["BUF-9"])
    claim = claims.claim_perk(perk.id, factories.UserFactory())
    login_as(Role.REDEEMER, locale="en")

    for typed in (claim.reference.lower(), "buf-9"):  # the reference, or the partner's code
        response = client.get("/redeem-order", query_string={"code": typed})

        assert response.status_code == 404
        assert "This is the code of a perk claim, not of a shop order." in text_of(response)
        assert link_to_other_counter(response) == f"/redeem?code={claim.reference}"
    followed = client.get(f"/redeem?code={claim.reference}")
    assert 'data-testid="redeem-use"' in followed.get_data(as_text=True)


def test_a_code_neither_counter_knows_is_only_not_found(client, login_as):
    login_as(Role.REDEEMER)

    for path in ("/redeem", "/redeem-order"):
        response = client.get(path, query_string={"code": "PK-NOPE-NOPE"})
        assert response.status_code == 404
        assert 'data-testid="redeem-error"' in response.get_data(as_text=True)
        assert 'data-testid="other-counter"' not in response.get_data(as_text=True)


def test_the_counters_send_each_other_in_vietnamese(client, login_as, vietnamese):
    order = paid_order()
    claim = claims.claim_perk(factories.PerkFactory().id, factories.UserFactory())
    login_as(Role.REDEEMER, locale="vi")

    at_perks = text_of(client.get(f"/redeem?code={order.redemption_code}"))
    assert vietnamese("This is the code of a shop order, not of a perk claim.") in at_perks
    assert vietnamese("Redeem it at the order counter") in at_perks
    assert vietnamese("Scan with the camera") in at_perks

    at_orders = text_of(client.get(f"/redeem-order?code={claim.reference}"))
    assert vietnamese("This is the code of a perk claim, not of a shop order.") in at_orders
    assert vietnamese("Check it at the perk counter") in at_orders


def test_codes_are_found_as_redeemers_type_them(client, login_as):
    """Spaces, dashes and case aside, at both counters (the perk counter took a reference
    only with its dashes, and a partner's code only as printed)."""
    perk = factories.PerkFactory(title_en="Buffet", code_mode=CodeMode.POOL, codes=["HL-00031-SV"])
    claim = claims.claim_perk(perk.id, factories.UserFactory())
    order = paid_order()
    login_as(Role.REDEEMER, locale="en")
    bare = claim.reference.replace("-", "")

    for typed in (
        bare,
        bare.lower(),
        " ".join(claim.reference.split("-")),
        "hl00031sv",
        "HL 00031 SV",
    ):
        response = client.get("/redeem", query_string={"code": typed})
        assert response.status_code == 200, typed
        assert 'data-testid="redeem-use"' in response.get_data(as_text=True)
    dashed = f"{order.redemption_code[:4]}-{order.redemption_code[4:]}".lower()
    response = client.get("/redeem-order", query_string={"code": dashed})
    assert response.status_code == 200
    assert 'data-testid="mark-redeemed"' in response.get_data(as_text=True)


def test_an_orders_number_is_not_its_code_and_both_counters_say_so(client, login_as):
    """The order page's heading is its number ("PK-QRRQ7Q6Z"), which redeemers typed: it is
    refused (the code is the secret), with what to ask for."""
    order = paid_order()
    login_as(Role.REDEEMER, locale="en")

    at_orders = client.get("/redeem-order", query_string={"code": order.number.lower()})
    assert at_orders.status_code == 404
    assert f"{order.number} is the number of a shop order, not its code" in text_of(at_orders)
    assert 'data-testid="mark-redeemed"' not in at_orders.get_data(as_text=True)

    at_perks = client.get("/redeem", query_string={"code": order.number})
    assert at_perks.status_code == 404
    assert f"{order.number} is the number of a shop order, not its code" in text_of(at_perks)
    assert link_to_other_counter(at_perks) == "/redeem-order"
