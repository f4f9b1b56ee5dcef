"""Which commission rule applies to an order line, and what it earns.

Matching, in this order (also written on the rules page every person sees):

1. only rules active on the day the order was paid, in the company's time zone
   (``effective_from`` ≤ day ≤ ``effective_to``, an empty end meaning no end);
2. only rules without a currency (percentages without a cap) or in the order's currency;
3. only rules whose audience includes the referrer (the owner of the order's link): everyone,
   their employment type (staff, contractor, partner, supplier), their department, or a
   named group they are a member of;
4. the most specific product wins: a rule for the product, else one for its category, else
   one for every product;
5. then the most specific audience: a named group, else a department, else an employment
   type, else everyone;
6. between rules equally specific, the latest ``effective_from`` wins, then the highest
   version, then the newest row.

All of it is one query per order (``active_rules``), whatever the number of lines.

A percentage is rounded half up to a whole minor unit (đồng, cent); a flat rule earns its
amount per unit bought; a cap limits what one order line earns.

Tiers. A rule may have tiers on the referrer's redeemed sales in the calendar month of the
redemption (company time zone), counted either in order lines or in amount (the base of each
line, in the order's currency; all their redeemed lines count, whatever rule they got). A tier
is a threshold with its own rate (a percentage rule) or amount per unit (a flat rule); below
the first threshold the rule's own terms apply. Each line gets its tier when it is redeemed,
in the order lines were redeemed (within one order, line by line), and keeps it: later sales
never change an earlier line (no retroactive tier), and neither do refunds. The line that makes
the month's total reach a threshold is the first at the new tier: with a tier at 3 lines, the
third line of the month earns the tier's rate; with a tier at 10.000.000 ₫, a line that takes
the month from 9.000.000 ₫ to 11.000.000 ₫ earns the tier's rate on all of its base. Until a
line is redeemed its commission shows the rule's own terms.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from sqlalchemy import and_, or_, select

from perks.commissions.models import (
    CommissionRule,
    CommissionTier,
    RuleAudience,
    RuleKind,
    RuleScope,
    TierMeasure,
    commission_group_member,
)
from perks.extensions import db
from perks.money import Money
from perks.people.models import EmploymentType, User


@dataclass(frozen=True)
class Referrer:
    """What rule matching needs of the person who earns (the owner of the order's link)."""

    user_id: int
    employment_type: EmploymentType
    department_id: int | None


def referrer_of(user: User) -> Referrer:
    return Referrer(user.id, user.employment_type, user.department_id)


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


def terms_at_tier(rule: CommissionRule, tier: CommissionTier | None) -> RuleTerms:
    """The rule's terms, with the tier's rate or amount when a tier applies."""
    terms = terms_of(rule)
    if tier is None:
        return terms
    return replace(terms, rate_bps=tier.rate_bps, flat_amount=tier.flat_amount)


def reached(measure: TierMeasure, count_before: int, amount_before: int, line_base: int) -> int:
    """The month's total once this line is counted (see the module: the line that reaches a
    threshold is the first at the new tier)."""
    if measure is TierMeasure.COUNT:
        return count_before + 1
    return amount_before + line_base


def tier_for(
    rule: CommissionRule, count_before: int, amount_before: int, line_base: int
) -> CommissionTier | None:
    """The tier a line of ``line_base`` gets after ``count_before`` lines and
    ``amount_before`` (minor units) redeemed this month; None: the rule's own terms."""
    if rule.tier_measure is None:
        return None
    total = reached(rule.tier_measure, count_before, amount_before, line_base)
    chosen = None
    for tier in rule.tiers:
        if total >= tier.threshold:
            chosen = tier
    return chosen


def _ranking(rule: CommissionRule) -> tuple[int, int, date, int, int]:
    return (
        rule.scope.specificity,
        rule.audience.specificity,
        rule.effective_from,
        rule.version,
        rule.id,
    )


def active_rules(
    day: date,
    currency: str,
    *,
    product_ids: Iterable[int] = (),
    category_ids: Iterable[int] = (),
    referrer: Referrer | None = None,
    for_commissions: bool = False,
) -> list[CommissionRule]:
    """Every rule active on ``day`` for ``currency`` that could match these products or
    categories (defaults included) and whose audience includes ``referrer`` (None: rules for
    everyone only), in one query (tiers come with the rules).

    ``for_commissions``: the rules are read to compute commissions that will name them, so
    they are held (``FOR SHARE``) until the transaction ends and read as they are once any
    change being saved is committed: finance's change of a rule nobody used yet is made in
    place (``perks.commissions.services.revise_rule``, which locks the rule), and a
    commission computed with the terms it replaced would name a rule that no longer says
    them; held, the change waits for the commission, then finds the rule used and makes a
    new version."""
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
        or_(*audiences_of(referrer)),
    )
    if for_commissions:
        query = query.with_for_update(read=True, of=CommissionRule).execution_options(
            populate_existing=True
        )
    return list(db.session.scalars(query))


def audiences_of(referrer: Referrer | None) -> list[Any]:
    """The conditions a rule's audience must meet for ``referrer`` (any of them; None: rules
    for everyone)."""
    everyone = CommissionRule.audience == RuleAudience.EVERYONE
    if referrer is None:
        return [everyone]
    audiences = [
        everyone,
        and_(
            CommissionRule.audience == RuleAudience.EMPLOYMENT_TYPE,
            CommissionRule.employment_type == referrer.employment_type,
        ),
        and_(
            CommissionRule.audience == RuleAudience.GROUP,
            CommissionRule.group_id.in_(
                select(commission_group_member.c.group_id).where(
                    commission_group_member.c.user_id == referrer.user_id
                )
            ),
        ),
    ]
    if referrer.department_id is not None:
        audiences.append(
            and_(
                CommissionRule.audience == RuleAudience.DEPARTMENT,
                CommissionRule.department_id == referrer.department_id,
            )
        )
    return audiences


def choose_rule(
    rules: Sequence[CommissionRule], product_id: int, category_id: int | None
) -> CommissionRule | None:
    """The rule that wins for a product among ``rules`` (see the module's order), or None.

    ``rules`` come from ``active_rules`` for the same referrer: their audiences match."""
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
    product_id: int,
    category_id: int | None,
    day: date,
    currency: str,
    referrer: Referrer | None = None,
) -> CommissionRule | None:
    """The rule an order of this product paid on ``day`` in ``currency`` would get, brought
    by ``referrer`` (None: someone only rules for everyone apply to)."""
    rules = active_rules(
        day,
        currency,
        product_ids=[product_id],
        category_ids=[category_id] if category_id else [],
        referrer=referrer,
    )
    return choose_rule(rules, product_id, category_id)
