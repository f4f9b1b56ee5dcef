"""Which commission rule applies to an order line, and what it earns.

Matching, in this order (also written on the staff rules page):

1. only rules active on the day the order was paid, in the company's time zone
   (``effective_from`` ≤ day ≤ ``effective_to``, an empty end meaning no end);
2. only rules without a currency (percentages without a cap) or in the order's currency;
3. the most specific wins: a rule for the product, else one for its category, else a default;
4. between rules equally specific, the latest ``effective_from`` wins, then the highest
   version, then the newest row.

A percentage is rounded half up to a whole minor unit (đồng, cent); a flat rule earns its
amount per unit bought; a cap limits what one order line earns.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import or_, select

from perks.commissions.models import CommissionRule, RuleKind, RuleScope
from perks.extensions import db
from perks.money import Money


@dataclass(frozen=True)
class RuleTerms:
    """What a rule pays, without where and when it applies (used for previews too)."""

    kind: RuleKind
    rate_bps: int | None = None
    flat_amount: int | None = None
    cap_amount: int | None = None
    currency: str | None = None

    def applies_to_currency(self, currency: str) -> bool:
        return self.currency is None or self.currency == currency

    def amount_for(self, base: Money, quantity: int = 1) -> Money:
        """What an order line of ``quantity`` units, ``base`` in all, earns.

        Raises:
            ValueError: the rule is in another currency than ``base`` (a bug: callers match
                currencies first).
        """
        if not self.applies_to_currency(base.currency):
            raise ValueError(f"a rule in {self.currency} cannot apply to {base.currency}")
        if self.kind is RuleKind.PERCENT:
            earned = base.percent(self.rate_bps or 0)
        else:
            earned = Money(self.flat_amount or 0, base.currency) * quantity
        if self.cap_amount is not None:
            earned = min(earned, Money(self.cap_amount, base.currency))
        return max(earned, Money.zero(base.currency))


def terms_of(rule: CommissionRule) -> RuleTerms:
    return RuleTerms(
        kind=rule.kind,
        rate_bps=rule.rate_bps,
        flat_amount=rule.flat_amount,
        cap_amount=rule.cap_amount,
        currency=rule.currency,
    )


def _ranking(rule: CommissionRule) -> tuple[int, date, int, int]:
    return (rule.scope.specificity, rule.effective_from, rule.version, rule.id)


def active_rules(
    day: date,
    currency: str,
    *,
    product_ids: Iterable[int] = (),
    category_ids: Iterable[int] = (),
) -> list[CommissionRule]:
    """Every rule active on ``day`` for ``currency`` that could match these products or
    categories (defaults included), in one query."""
    product_ids = sorted(set(product_ids))
    category_ids = sorted({c for c in category_ids if c is not None})
    scopes = [CommissionRule.scope == RuleScope.DEFAULT]
    if product_ids:
        scopes.append(CommissionRule.product_id.in_(product_ids))
    if category_ids:
        scopes.append(CommissionRule.category_id.in_(category_ids))
    query = select(CommissionRule).where(
        CommissionRule.effective_from <= day,
        or_(CommissionRule.effective_to.is_(None), CommissionRule.effective_to >= day),
        or_(CommissionRule.currency.is_(None), CommissionRule.currency == currency),
        or_(*scopes),
    )
    return list(db.session.scalars(query))


def choose_rule(
    rules: Sequence[CommissionRule], product_id: int, category_id: int | None
) -> CommissionRule | None:
    """The rule that wins for a product among ``rules`` (see the module's order), or None."""
    matching = [
        rule
        for rule in rules
        if rule.scope is RuleScope.DEFAULT
        or (rule.scope is RuleScope.PRODUCT and rule.product_id == product_id)
        or (
            rule.scope is RuleScope.CATEGORY
            and category_id is not None
            and rule.category_id == category_id
        )
    ]
    return max(matching, key=_ranking, default=None)


def rule_for_product(
    product_id: int, category_id: int | None, day: date, currency: str
) -> CommissionRule | None:
    """The rule an order of this product paid on ``day`` in ``currency`` would get."""
    rules = active_rules(
        day, currency, product_ids=[product_id], category_ids=[category_id] if category_id else []
    )
    return choose_rule(rules, product_id, category_id)
