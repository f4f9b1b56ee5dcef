"""What rules mean for one person: the preview on the rules page ("Nguyễn Văn A, contractor,
selling this tour, earns ...") and the tier progress on their earnings page.

Both read only, with the same matching and tiers as a real order
(``perks.commissions.rules``, ``perks.commissions.lifecycle.month_sales``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select

from perks.commissions import rules
from perks.commissions.lifecycle import month_sales
from perks.commissions.models import CommissionRule, CommissionTier, TierMeasure
from perks.errors import NotFound
from perks.extensions import db
from perks.i18n import company_date
from perks.money import Money
from perks.people.models import User
from perks.shop.models import Product


@dataclass(frozen=True)
class PersonPreview:
    person: User
    product: Product
    #: the rule that would apply today (None: none, nothing earned)
    rule: CommissionRule | None
    #: the tier the next line would get (None: the rule's own terms)
    tier: CommissionTier | None
    #: one unit at the product's price
    base: Money
    earns: Money


def preview_for(person_id: int, product_id: int, now: datetime) -> PersonPreview:
    """What ``person`` would earn today on one unit of ``product`` sold through their link,
    their month's redeemed sales so far counted for tiers.

    Raises:
        NotFound: no such person or product.
    """
    person = db.session.get(User, person_id)
    product = db.session.get(Product, product_id)
    if person is None or product is None:
        raise NotFound()
    base = product.price
    rule = rules.rule_for_product(
        product.id, product.category_id, company_date(now), base.currency, rules.referrer_of(person)
    )
    if rule is None:
        return PersonPreview(person, product, None, None, base, Money.zero(base.currency))
    tier = None
    if rule.tier_measure is not None and rule.tiers:
        count, amount = month_sales(person.id, base.currency, now)
        tier = rules.tier_for(rule, count, amount, base.amount)
    earns = rules.terms_at_tier(rule, tier).amount_for(base, 1)
    return PersonPreview(person, product, rule, tier, base, earns)


@dataclass(frozen=True)
class TierProgress:
    rule: CommissionRule
    measure: TierMeasure
    #: lines, or minor units of ``currency``, redeemed this month
    sold: int
    currency: str
    #: the highest tier reached (None: the rule's own terms)
    current: CommissionTier | None
    #: the next tier (None: the highest is reached)
    next: CommissionTier | None

    @property
    def left(self) -> int | None:
        """Lines, or minor units, still to sell this month for the next tier."""
        return None if self.next is None else self.next.threshold - self.sold

    @property
    def sold_money(self) -> Money:
        return Money(self.sold, self.currency)

    @property
    def left_money(self) -> Money | None:
        return None if self.left is None else Money(self.left, self.currency)


def tier_progress(user: User, now: datetime, currency: str) -> list[TierProgress]:
    """For each tiered rule that applies to ``user``'s sales today: where their month stands
    (amounts in ``currency``). One statement when no rule is tiered today, as on most days;
    else four (a look, the rules, their tiers, the month's sales)."""
    day = company_date(now)
    tiered_today = (
        CommissionRule.tier_measure.is_not(None),
        CommissionRule.effective_from <= day,
        or_(CommissionRule.effective_to.is_(None), CommissionRule.effective_to >= day),
        or_(CommissionRule.currency.is_(None), CommissionRule.currency == currency),
    )
    # A look at the rules' own columns first: the earnings page is opened daily, and the
    # rules with their audiences, targets and tiers cost three times as much to ask for.
    if db.session.scalar(select(CommissionRule.id).where(*tiered_today).limit(1)) is None:
        return []
    tiered = list(
        db.session.scalars(
            select(CommissionRule)
            .where(*tiered_today, or_(*rules.audiences_of(rules.referrer_of(user))))
            .order_by(CommissionRule.id)
        )
    )
    if not tiered:
        return []
    count, amount = month_sales(user.id, currency, now)
    progress = []
    for rule in tiered:
        assert rule.tier_measure is not None
        sold = count if rule.tier_measure is TierMeasure.COUNT else amount
        current = next_tier = None
        for tier in rule.tiers:
            if tier.threshold <= sold:
                current = tier
            elif next_tier is None:
                next_tier = tier
        progress.append(TierProgress(rule, rule.tier_measure, sold, currency, current, next_tier))
    return progress
