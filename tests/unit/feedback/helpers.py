"""What there is to rate, made through the real services: a used claim, a staff purchase
paid and used at the counter."""

from __future__ import annotations

from datetime import UTC, datetime

from perks.catalog import claims
from perks.catalog.models import Claim, Perk
from perks.extensions import db
from perks.people.models import Role, User
from perks.shop import redemption
from perks.shop.models import Order, Product
from tests import factories


def used_claim(person: User | None = None, perk: Perk | None = None) -> Claim:
    """A claim of ``perk`` (else a new one without a per-person limit) by ``person`` (else a new
    employee), used."""
    person = person or factories.UserFactory()
    perk = perk or factories.PerkFactory(per_person_limit=None)
    claim = claims.claim_perk(perk.id, person)
    claims.mark_claim_used(claim.id, person)
    return claim


def redeemed_order(buyer: User, product: Product | None = None) -> Order:
    """A staff purchase by ``buyer`` (of ``product``, or a new one), paid and used at the
    counter."""
    order = factories.OrderFactory(buyer=buyer, **({"product": product} if product else {}))
    order.paid_at = datetime.now(UTC)
    order.paid_amount = order.total_amount
    order.refresh_status()
    db.session.commit()
    redemption.redeem_order(order.redemption_code, factories.UserFactory(roles={Role.REDEEMER}))
    return order
