"""Finance's commission rules: create, change (a new version once applied), end, preview.

Every change is audited in its own transaction. A rule a commission used is never edited:
changing it adds a new version that starts on a later day, and the old one ends the day
before, so every commission keeps pointing at the terms it was computed with.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import exists, func, select
from sqlalchemy.orm.attributes import flag_modified

from perks import audit, rule_history, sent_once
from perks.commissions.models import (
    Commission,
    CommissionGroup,
    CommissionRule,
    CommissionTier,
    RuleAudience,
    RuleKind,
    RuleScope,
    TierMeasure,
)
from perks.commissions.rules import RuleTerms, terms_of
from perks.db import locked, transaction, utcnow
from perks.errors import ChangedMeanwhile, Conflict, NotFound, ValidationFailed
from perks.extensions import db
from perks.folding import alphabetical
from perks.i18n import company_date, format_day
from perks.money import Money
from perks.people.models import Department, EmploymentType, User
from perks.shop.models import Order, Product, ProductCategory

#: most tiers a rule may have
MAX_TIERS = 10


@dataclass(frozen=True)
class TierData:
    """One tier: from ``threshold`` (lines, or minor units), ``rate_bps`` or ``flat_amount``."""

    threshold: int
    rate_bps: int | None = None
    flat_amount: int | None = None


#: the currencies rules may be written in (the storefront's)
RULE_CURRENCIES = ("VND", "USD")
#: the example the rules pages compute: a 2.000.000 ₫ order, or $100.00
PREVIEW_BASES = {"VND": 2_000_000, "USD": 10_000}


@dataclass(frozen=True)
class RuleData:
    """What finance may set on a rule (an allow-list: version, author and links are not here).

    Amounts are minor units of ``currency``.
    """

    scope: RuleScope
    kind: RuleKind
    effective_from: date
    category_id: int | None = None
    product_id: int | None = None
    rate_bps: int | None = None
    flat_amount: int | None = None
    cap_amount: int | None = None
    currency: str | None = None
    effective_to: date | None = None
    note: str = ""
    audience: RuleAudience = RuleAudience.EVERYONE
    employment_type: EmploymentType | None = None
    department_id: int | None = None
    group_id: int | None = None
    tier_measure: TierMeasure | None = None
    tiers: tuple[TierData, ...] = ()

    @property
    def terms(self) -> RuleTerms:
        return RuleTerms(
            kind=self.kind,
            rate_bps=self.rate_bps,
            flat_amount=self.flat_amount,
            cap_amount=self.cap_amount,
            currency=self.currency,
        )


def rule_data_of(rule: CommissionRule) -> RuleData:
    return RuleData(
        scope=rule.scope,
        kind=rule.kind,
        effective_from=rule.effective_from,
        category_id=rule.category_id,
        product_id=rule.product_id,
        rate_bps=rule.rate_bps,
        flat_amount=rule.flat_amount,
        cap_amount=rule.cap_amount,
        currency=rule.currency,
        effective_to=rule.effective_to,
        note=rule.note,
        audience=rule.audience,
        employment_type=rule.employment_type,
        department_id=rule.department_id,
        group_id=rule.group_id,
        tier_measure=rule.tier_measure,
        tiers=tuple(TierData(t.threshold, t.rate_bps, t.flat_amount) for t in rule.tiers),
    )


def get_rule(rule_id: int) -> CommissionRule:
    """Raises NotFound."""
    rule = db.session.get(CommissionRule, rule_id)
    if rule is None:
        raise NotFound()
    return rule


def _locked_rule(rule_id: int) -> CommissionRule:
    """The rule, locked until the transaction ends (changes of one rule take turns) and read
    again under the lock rather than from what the session loaded before. Raises NotFound."""
    rule = locked(CommissionRule, rule_id)
    if rule is None:
        raise NotFound()
    return rule


def is_applied(rule_id: int) -> bool:
    """True once a commission used the rule: its terms are fixed from then on."""
    return bool(db.session.scalar(select(exists().where(Commission.rule_id == rule_id))))


def check_rule_data(data: RuleData) -> RuleData:
    """The data, tidied (the fields its scope and kind do not use cleared).

    Raises:
        ValidationFailed: a missing product or category, a rate outside 0–100 %, a flat rule
            or a cap without a currency, negative amounts, an unknown product, category or
            currency, or an end before the start.
    """
    if data.currency is not None and data.currency not in RULE_CURRENCIES:
        raise ValidationFailed(_("Choose one of the listed currencies."))
    if data.scope is RuleScope.PRODUCT:
        if data.product_id is None or db.session.get(Product, data.product_id) is None:
            raise ValidationFailed(_("Choose the product the rule is for."))
        data = replace(data, category_id=None)
    elif data.scope is RuleScope.CATEGORY:
        if data.category_id is None or db.session.get(ProductCategory, data.category_id) is None:
            raise ValidationFailed(_("Choose the category the rule is for."))
        data = replace(data, product_id=None)
    else:
        data = replace(data, product_id=None, category_id=None)
    if data.kind is RuleKind.PERCENT:
        if data.rate_bps is None or not 0 <= data.rate_bps <= 10_000:
            raise ValidationFailed(_("Enter a rate between 0 and 100%."))
        data = replace(data, flat_amount=None)
    else:
        if data.flat_amount is None or data.flat_amount < 0:
            raise ValidationFailed(_("Enter the amount earned per unit."))
        if data.currency is None:
            raise ValidationFailed(_("A fixed amount needs its currency."))
        data = replace(data, rate_bps=None)
    if data.cap_amount is not None:
        if data.cap_amount < 0:
            raise ValidationFailed(_("Enter a cap that is not negative."))
        if data.currency is None:
            raise ValidationFailed(_("A cap needs its currency."))
    if data.effective_to is not None and data.effective_to < data.effective_from:
        raise ValidationFailed(_("The last day cannot be before the first day."))
    data = _check_audience(data)
    data = _check_tiers(data)
    return replace(data, note=data.note.strip())


def _check_audience(data: RuleData) -> RuleData:
    """Raises ValidationFailed: the audience's employment type, department or group is
    missing or unknown."""
    if data.audience is RuleAudience.EMPLOYMENT_TYPE:
        if data.employment_type is None:
            raise ValidationFailed(_("Choose the employment type the rule is for."))
        return replace(data, department_id=None, group_id=None)
    if data.audience is RuleAudience.DEPARTMENT:
        if data.department_id is None or db.session.get(Department, data.department_id) is None:
            raise ValidationFailed(_("Choose the department the rule is for."))
        return replace(data, employment_type=None, group_id=None)
    if data.audience is RuleAudience.GROUP:
        if data.group_id is None or db.session.get(CommissionGroup, data.group_id) is None:
            raise ValidationFailed(_("Choose the group the rule is for."))
        return replace(data, employment_type=None, department_id=None)
    return replace(data, employment_type=None, department_id=None, group_id=None)


def _check_tiers(data: RuleData) -> RuleData:
    """Raises ValidationFailed: tiers without a measure (or the reverse), too many, a
    threshold that is not positive or repeated, a rate or amount that does not fit the
    rule's kind."""
    if not data.tiers:
        return replace(data, tier_measure=None)
    if data.tier_measure is None:
        raise ValidationFailed(_("Choose what the tiers count."))
    if len(data.tiers) > MAX_TIERS:
        raise ValidationFailed(_("A rule has at most %(most)d tiers.", most=MAX_TIERS))
    thresholds = [t.threshold for t in data.tiers]
    if any(t <= 0 for t in thresholds) or len(set(thresholds)) != len(thresholds):
        raise ValidationFailed(_("Each tier starts at its own threshold, above zero."))
    tiers = []
    for tier in sorted(data.tiers, key=lambda t: t.threshold):
        if data.kind is RuleKind.PERCENT:
            if tier.rate_bps is None or not 0 <= tier.rate_bps <= 10_000:
                raise ValidationFailed(_("Enter a rate between 0 and 100%."))
            tiers.append(TierData(tier.threshold, rate_bps=tier.rate_bps))
        else:
            if tier.flat_amount is None or tier.flat_amount < 0:
                raise ValidationFailed(_("Enter the amount earned per unit."))
            tiers.append(TierData(tier.threshold, flat_amount=tier.flat_amount))
    return replace(data, tiers=tuple(tiers))


def _apply(rule: CommissionRule, data: RuleData) -> None:
    rule.scope = data.scope
    rule.kind = data.kind
    rule.category_id = data.category_id
    rule.product_id = data.product_id
    rule.rate_bps = data.rate_bps
    rule.flat_amount = data.flat_amount
    rule.cap_amount = data.cap_amount
    rule.currency = data.currency
    rule.effective_from = data.effective_from
    rule.effective_to = data.effective_to
    rule.note = data.note
    rule.audience = data.audience
    rule.employment_type = data.employment_type
    rule.department_id = data.department_id
    rule.group_id = data.group_id
    rule.tier_measure = data.tier_measure
    # A tier that keeps its threshold is changed in place: replaced, its new row would be
    # written before the old one is deleted, and the (rule, threshold) key would refuse it.
    kept = {tier.threshold: tier for tier in rule.tiers}
    tiers = []
    for wanted in data.tiers:
        tier = kept.pop(wanted.threshold, None) or CommissionTier(threshold=wanted.threshold)
        tier.rate_bps = wanted.rate_bps
        tier.flat_amount = wanted.flat_amount
        tiers.append(tier)
    rule.tiers = tiers


def _audit_details(data: RuleData) -> dict[str, object]:
    return {
        "scope": data.scope.value,
        "kind": data.kind.value,
        "category_id": data.category_id,
        "product_id": data.product_id,
        "rate_bps": data.rate_bps,
        "flat_amount": data.flat_amount,
        "cap_amount": data.cap_amount,
        "currency": data.currency,
        "effective_from": data.effective_from.isoformat(),
        "effective_to": data.effective_to.isoformat() if data.effective_to else None,
        "audience": data.audience.value,
        "employment_type": data.employment_type.value if data.employment_type else None,
        "department_id": data.department_id,
        "group_id": data.group_id,
        "tier_measure": data.tier_measure.value if data.tier_measure else None,
        "tiers": [[t.threshold, t.rate_bps, t.flat_amount] for t in data.tiers],
    }


def rule_terms(rule: CommissionRule) -> dict[str, object]:
    """A rule's terms as the rules history keeps them (the version in force, its days; its
    product or category in both languages)."""
    target = None
    if rule.scope is RuleScope.PRODUCT and rule.product is not None:
        target = {"vi": rule.product.name_vi, "en": rule.product.name_en}
    elif rule.scope is RuleScope.CATEGORY and rule.category is not None:
        target = {"vi": rule.category.name_vi, "en": rule.category.name_en}
    return {
        "scope": rule.scope.value,
        "target": target,
        "kind": rule.kind.value,
        "rate_bps": rule.rate_bps,
        "flat_amount": rule.flat_amount,
        "cap_amount": rule.cap_amount,
        "currency": rule.currency,
        "effective_from": rule.effective_from.isoformat(),
        "effective_to": rule.effective_to.isoformat() if rule.effective_to else None,
        "version": rule.version,
        "audience": rule.audience.value,
        # an employment type by its value (shown in the reader's language), a department or a
        # group by its name
        "employment_type": rule.employment_type.value if rule.employment_type else None,
        "audience_target": (
            str(rule.audience_name)
            if rule.audience in (RuleAudience.DEPARTMENT, RuleAudience.GROUP)
            else None
        ),
        "tier_measure": rule.tier_measure.value if rule.tier_measure else None,
        "tiers": [
            {"threshold": t.threshold, "rate_bps": t.rate_bps, "flat_amount": t.flat_amount}
            for t in rule.tiers
        ],
    }


def _first_version(rule: CommissionRule) -> CommissionRule:
    while rule.supersedes_id is not None:
        rule = get_rule(rule.supersedes_id)
    return rule


def _record_version(
    rule: CommissionRule, before: dict[str, object] | None, *, first: CommissionRule
) -> None:
    """The history of a rule and its later versions is kept under its first version."""
    db.session.flush()
    rule_history.record_change(
        rule_history.COMMISSION_RULE, first.id, before, rule_terms(rule), since=first.created_at
    )


def create_rule(data: RuleData, *, actor: User, sending: str | None = None) -> CommissionRule:
    """Add a rule (version 1).

    Raises:
        ValidationFailed: see ``check_rule_data``; a first day in the past on or before a day
            an order earned a commission (``_refuse_taking_over_past_days``).
    """
    data = check_rule_data(data)
    with transaction():
        if (earlier := sent_once.made_before(CommissionRule, sending, actor)) is not None:
            return earlier
        _refuse_taking_over_past_days(data.effective_from)
        rule = CommissionRule(version=1, created_by_id=actor.id)
        _apply(rule, data)
        db.session.add(rule)
        db.session.flush()
        sent_once.remember(sending, rule, actor)
        audit.record("commissions.rule_created", actor=actor, target=rule, **_audit_details(data))
        _record_version(rule, None, first=rule)
        return rule


def _refuse_taking_over_past_days(first_day: date, rule_id: int | None = None) -> None:
    """A rule (or, for ``rule_id``, a new version of it) starting before today must not take
    over days orders were paid on: they earned by the rules (that version) then in force,
    and the history would say the new one applied to them. (From today it applies to the
    orders paid from now on; each commission names its rule and version.)

    Raises:
        ValidationFailed: an order that earned a commission (by ``rule_id``, when given) was
            paid on ``first_day`` or later, before today.
    """
    today = company_date(utcnow())
    if first_day >= today:
        return
    last_paid = select(func.max(Order.paid_at)).join(Commission, Commission.order_id == Order.id)
    if rule_id is not None:
        last_paid = last_paid.where(Commission.rule_id == rule_id)
    paid_at = db.session.scalar(last_paid)
    if paid_at is None or first_day > (last_day := company_date(paid_at)):
        return
    days = {
        "date": format_day(last_day),
        "next": format_day(min(last_day + timedelta(days=1), today)),
    }
    if rule_id is None:
        message = _(
            "Orders paid on %(date)s earned by the rules then in force: a new rule can "
            "start on %(next)s at the earliest.",
            **days,
        )
    else:
        message = _(
            "Orders paid on %(date)s earned by this version: the new one can start on "
            "%(next)s at the earliest.",
            **days,
        )
    raise ValidationFailed(message, field="effective_from")


def revise_rule(
    rule_id: int, data: RuleData, *, actor: User, expected_row_version: int | None = None
) -> CommissionRule:
    """Change a rule. Not applied yet: changed in place. Applied: a new version with ``data``
    from ``data.effective_from`` (after the old one's first day); the old one ends the day
    before. What it applies to (scope, product, category) and whose sales (its audience) stay
    the same; its terms and tiers may change.

    ``expected_row_version`` is the rule's ``row_version`` the page showed: a page opened
    before another finance person changed or ended the rule must not overwrite that change
    unseen. ``None`` checks nothing (callers that showed no page). Changes of one rule take
    turns (its row is locked), so of two saves from the same page the second sees the first.

    Returns the rule now in force (the same row, or the new version).

    Raises:
        NotFound: no such rule.
        ValidationFailed: see ``check_rule_data``; a new version starting on or before the
            old one's first day, or on or before a past day an order was paid under it; a
            rule not applied yet moved back to a past day orders were paid on (as
            ``create_rule``).
        Conflict: the rule has already ended, or a newer version replaced it.
        ChangedMeanwhile: the rule is no longer at ``expected_row_version``; nothing is saved.
    """
    with transaction():
        old = _locked_rule(rule_id)
        data = check_rule_data(
            replace(
                data,
                scope=old.scope,
                category_id=old.category_id,
                product_id=old.product_id,
                audience=old.audience,
                employment_type=old.employment_type,
                department_id=old.department_id,
                group_id=old.group_id,
            )
        )
        if db.session.scalar(select(exists().where(CommissionRule.supersedes_id == old.id))):
            raise Conflict(_("A newer version replaced this rule: change that one."))
        if expected_row_version is not None and expected_row_version != old.row_version:
            raise ChangedMeanwhile(_changed_meanwhile(old))
        first = _first_version(old)
        before = rule_terms(old)
        if not is_applied(old.id):
            if data.effective_from < old.effective_from:
                # moved back, it takes over days as a new rule would
                _refuse_taking_over_past_days(data.effective_from)
            tiers_before = _tier_terms(old)
            _apply(old, data)
            if _tier_terms(old) != tiers_before:
                # tiers are rows of their own: a change of them alone is a change of the rule
                # too, which the next save from an older page must not overwrite
                flag_modified(old, "tier_measure")
            db.session.flush()
            audit.record(
                "commissions.rule_changed", actor=actor, target=old, **_audit_details(data)
            )
            _record_version(old, before, first=first)
            return old
        if old.effective_to is not None and old.effective_to < company_date(utcnow()):
            raise Conflict(_("This rule has ended; add a new rule instead."))
        if data.effective_from <= old.effective_from:
            raise ValidationFailed(
                _(
                    "The new version must start after %(date)s, the first day of this one.",
                    date=format_day(old.effective_from),
                )
            )
        _refuse_taking_over_past_days(data.effective_from, old.id)
        new = CommissionRule(version=old.version + 1, supersedes_id=old.id, created_by_id=actor.id)
        _apply(new, data)
        db.session.add(new)
        old.effective_to = data.effective_from - timedelta(days=1)
        db.session.flush()
        audit.record(
            "commissions.rule_versioned",
            actor=actor,
            target=new,
            supersedes=old.id,
            version=new.version,
            **_audit_details(data),
        )
        _record_version(new, before, first=first)
        return new


def _tier_terms(rule: CommissionRule) -> set[tuple[int, int | None, int | None]]:
    return {(t.threshold, t.rate_bps, t.flat_amount) for t in rule.tiers}


def _changed_meanwhile(rule: CommissionRule) -> str:
    """Who last changed ``rule``, as the audit log keeps it, in the refusal's message."""
    editor = audit.last_actor(rule, "commissions.rule_")
    if editor is None:
        return str(
            _(
                "Someone changed this rule after you opened it, so your changes were not saved. "
                "The form now shows the rule as it is: check it and make your changes again."
            )
        )
    return str(
        _(
            "%(name)s changed this rule after you opened it, so your changes were not saved. "
            "The form now shows the rule as it is: check it and make your changes again.",
            name=editor.name,
        )
    )


def end_rule(rule_id: int, last_day: date, *, actor: User) -> CommissionRule:
    """Stop a rule after ``last_day`` (its terms do not change, so applied rules may end).

    Raises:
        NotFound: no such rule.
        ValidationFailed: ``last_day`` is before the rule's first day or before today.
        Conflict: a newer version replaced the rule (it ends the day before that one starts;
            ending it later would make two versions apply on the same days), or the rule has
            ended already (a later last day would bring it back over the days since, when
            orders earned by other rules; a page opened before it ended still offers End).
    """
    with transaction():
        rule = _locked_rule(rule_id)
        if db.session.scalar(select(exists().where(CommissionRule.supersedes_id == rule.id))):
            raise Conflict(_("A newer version replaced this rule: end that one."))
        if rule.effective_to is not None and rule.effective_to < company_date(utcnow()):
            raise Conflict(_("This rule has ended; add a new rule instead."))
        if last_day < rule.effective_from:
            raise ValidationFailed(_("The last day cannot be before the first day."))
        if last_day < company_date(utcnow()):
            raise ValidationFailed(_("The last day cannot be in the past."))
        before = rule_terms(rule)
        rule.effective_to = last_day
        db.session.flush()
        audit.record(
            "commissions.rule_ended", actor=actor, target=rule, last_day=last_day.isoformat()
        )
        _record_version(rule, before, first=_first_version(rule))
        return rule


def preview(terms: RuleTerms, base: Money, quantity: int = 1) -> Money | None:
    """What a line of ``quantity`` units, ``base`` in all, would earn; None when the rule is in
    another currency."""
    if not terms.applies_to_currency(base.currency):
        return None
    return terms.amount_for(base, quantity)


def example_base(terms: RuleTerms, default_currency: str) -> Money:
    """The order the rules pages compute an example for (2.000.000 ₫, or $100.00)."""
    currency = terms.currency or default_currency
    return Money(PREVIEW_BASES.get(currency, PREVIEW_BASES["VND"]), currency)


def rule_examples(
    rules: Iterable[CommissionRule], default_currency: str
) -> dict[int, tuple[Money, Money | None]]:
    """Each rule's id → the example order the rules pages show and what the rule pays on it.

    The example is in the rule's currency, else in ``default_currency`` (see ``example_base``);
    what it pays is None for a rule in another currency. Raises nothing.
    """
    examples = {}
    for rule in rules:
        terms = terms_of(rule)
        base = example_base(terms, default_currency)
        examples[rule.id] = (base, preview(terms, base))
    return examples


def rule_choices() -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """(products, categories) to pick a rule's target from, by name."""
    products = [
        (p.id, p.name)
        for p in db.session.scalars(
            select(Product).order_by(*alphabetical(Product.name_vi), Product.id)
        )
    ]
    categories = [
        (c.id, c.name)
        for c in db.session.scalars(
            select(ProductCategory).order_by(
                ProductCategory.position, *alphabetical(ProductCategory.name_vi), ProductCategory.id
            )
        )
    ]
    return products, categories
