"""Random stories of the whole operating chain at once: whatever happens, the ledger adds up,
nothing is paid twice, and verify-ledger agrees.

Five people: staff on payroll, a resident contractor without the commitment form, a supplier
with the form (for this year or only last year), a non-resident partner, and a second staff
member. Tiered rules by audience (a counted default, a contractors' rule tiered on amount, a
partners' rule) and a tiered flat product rule price their multi-line orders. The story
(:func:`tests.unit.commissions.stories.tell`) pays, redeems, refunds a percentage or a few
units, disputes, ticks commissions free, adjusts; drafts, approves (another finance person),
pays (withholding the personal income tax there) or cancels payout batches; has people leave
under vest or forfeit, the daily task settle them at random moments, refunds after they
left; and finance close a leaver's negative balance (deducted or written off).

After every step each person's ledger adds up and the summaries are the facts; at the end:

- per person and currency, the ledger sums to earned − reversed + adjustments − what paid
  lines paid out − what they withheld, and the ``payout`` and ``withholding`` entries are the
  paid lines' figures;
- every paid line's gross is its entries' net, and withheld + net; its tax is what the
  person's profile and the Circular 111 rates say;
- no entry is in two paid lines, no commission is paid more than it earned, a paid one was
  paid by one line exactly, a forfeited one never reached anyone;
- settled leavers hold to their policy (what was not yet payable when they left is voided
  under forfeit and waits no more under vest), orders paid after their referrer left earned
  nothing;
- ``verify-ledger`` reports nothing, and the summaries equal a rebuild.
"""

from __future__ import annotations

import contextlib
from collections import Counter, defaultdict

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from perks.commissions import leavers, ledger, summaries, tax
from perks.commissions.models import (
    BalanceOutcome,
    Commission,
    CommissionState,
    CommissionTier,
    EntryKind,
    LeaverBalanceDecision,
    LeaverPolicy,
    LeaverSettlement,
    LedgerEntry,
    RuleAudience,
    RuleKind,
    RuleScope,
    TierMeasure,
    VoidReason,
)
from perks.commissions.tax import ProfileFields, Treatment
from perks.errors import Conflict, ValidationFailed
from perks.extensions import db
from perks.finance import leavers as finance_leavers
from perks.finance import payouts
from perks.finance.models import BatchStatus, LineStatus, PayoutBatch, PayoutItem, PayoutLine
from perks.i18n import company_today
from perks.people.models import EmploymentType, User
from perks.shop.models import DisputeStatus, Product
from tests import factories
from tests.helpers import clean_database
from tests.unit.commissions.helpers import after_holding, referred_order_of
from tests.unit.commissions.stories import (
    Told,
    balances_add_up,
    check,
    check_leaver,
    leave,
    summary_facts,
    summary_rows,
    tell,
)
from tests.unit.finance.helpers import finance_person

PEOPLE = 5
ORDERS = 10
STAFF, RESIDENT, COMMITTED, FOREIGN = 0, 1, 2, 3

order_index = st.integers(0, ORDERS - 1)
person_index = st.integers(0, PEOPLE - 1)
sell = st.tuples(st.just("sell"), order_index)  # paid and used at once: stories go further
events = st.lists(
    st.one_of(
        sell,
        sell,
        sell,
        st.tuples(st.just("pay"), order_index),
        st.tuples(st.just("redeem"), order_index),
        st.tuples(st.just("refund"), order_index, st.integers(1, 100)),
        st.tuples(st.just("refund units"), order_index, st.integers(1, 3)),
        st.tuples(st.just("dispute"), order_index, st.sampled_from(list(DisputeStatus)[1:])),
        st.tuples(st.just("tick"), st.integers(0, 40)),
        st.tuples(st.just("tick"), st.integers(15, 40)),
        st.tuples(st.just("payout")),
        st.tuples(st.just("payout")),
        st.tuples(st.just("batch"), st.sampled_from(["draft", "approve", "paid", "cancel"])),
        st.tuples(st.just("adjust"), person_index, st.integers(-500_000, 500_000).filter(bool)),
        st.tuples(st.just("leave"), person_index, st.sampled_from(list(LeaverPolicy))),
        st.tuples(st.just("settle"), st.integers(0, 40)),
        st.tuples(st.just("close"), person_index, st.sampled_from(list(BalanceOutcome))),
    ),
    min_size=10,
    max_size=40,
)
prices = st.lists(
    st.lists(st.tuples(st.integers(1, 30_000_000), st.integers(1, 3)), min_size=1, max_size=2),
    min_size=ORDERS,
    max_size=ORDERS,
)


def _rules() -> int:
    """Tiered rules by audience; returns the flat product's id."""
    counted = factories.CommissionRuleFactory(rate_bps=500, tier_measure=TierMeasure.COUNT)
    counted.tiers = [
        CommissionTier(threshold=2, rate_bps=1000),
        CommissionTier(threshold=4, rate_bps=1500),
    ]
    contractors = factories.CommissionRuleFactory(
        rate_bps=700,
        audience=RuleAudience.EMPLOYMENT_TYPE,
        employment_type=EmploymentType.CONTRACTOR,
        tier_measure=TierMeasure.AMOUNT,
    )
    contractors.tiers = [CommissionTier(threshold=20_000_000, rate_bps=1200)]
    factories.CommissionRuleFactory(
        rate_bps=2000,
        audience=RuleAudience.EMPLOYMENT_TYPE,
        employment_type=EmploymentType.PARTNER,
    )
    flat = factories.ProductFactory(price_amount=1_999_999)
    flat_rule = factories.CommissionRuleFactory(
        scope=RuleScope.PRODUCT,
        product_id=flat.id,
        kind=RuleKind.FLAT,
        rate_bps=None,
        flat_amount=70_001,
        cap_amount=150_000,
        currency="VND",
        tier_measure=TierMeasure.AMOUNT,
    )
    flat_rule.tiers = [CommissionTier(threshold=3_000_000, flat_amount=90_000)]
    db.session.commit()
    return flat.id


def _people(officer: User, form_this_year: bool) -> list[User]:
    people = [
        factories.UserFactory(),
        factories.UserFactory(employment_type=EmploymentType.CONTRACTOR),
        factories.UserFactory(employment_type=EmploymentType.SUPPLIER),
        factories.UserFactory(employment_type=EmploymentType.PARTNER),
        factories.UserFactory(),
    ]
    year = company_today().year if form_this_year else company_today().year - 1
    tax.save_tax_profile(
        people[COMMITTED].id,
        ProfileFields(commitment_year=year, tax_code="0312345673"),
        actor=officer,
    )
    tax.save_tax_profile(people[FOREIGN].id, ProfileFields(resident=False), actor=officer)
    return people


class Desk:
    """Finance's desk in the story: the open payout batch, drafted by one person and approved
    by another; and leavers' negative balances closed."""

    def __init__(self, people: list[User], drafter: User, approver: User) -> None:
        self.people, self.drafter, self.approver = people, drafter, approver
        self.batch_id: int | None = None

    def status(self) -> BatchStatus | None:
        if self.batch_id is None:
            return None
        batch = db.session.get(PayoutBatch, self.batch_id)
        assert batch is not None
        db.session.refresh(batch)
        return batch.status

    def draft(self) -> None:
        if self.batch_id is None:
            with contextlib.suppress(ValidationFailed):  # nobody is owed anything
                self.batch_id = payouts.draft_batch(company_today(), actor=self.drafter).id

    def approve(self) -> None:
        if self.status() is BatchStatus.DRAFT:
            try:
                payouts.approve_batch(self.batch_id, actor=self.approver)
            except Conflict:  # every line excluded: nothing to approve
                self.cancel()

    def paid(self, told: Told) -> None:
        if self.status() is BatchStatus.APPROVED:
            assert self.batch_id is not None
            payouts.mark_batch_paid(self.batch_id, "UNC-1", actor=self.drafter)
            for line in db.session.scalars(
                select(PayoutLine).where(
                    PayoutLine.batch_id == self.batch_id,
                    PayoutLine.status == LineStatus.INCLUDED,
                )
            ):
                told.paid[line.user_id] += line.amount
            self.batch_id = None

    def cancel(self) -> None:
        if self.status() in (BatchStatus.DRAFT, BatchStatus.APPROVED):
            assert self.batch_id is not None
            payouts.cancel_batch(self.batch_id, "story", actor=self.drafter)
        self.batch_id = None

    def close(self, person: User, outcome: BalanceOutcome, told: Told) -> None:
        """Close ``person``'s negative balance if they left; refused if they have not."""
        balance = ledger.balance(person.id, "VND")
        if balance.amount >= 0:
            return
        stored = db.session.get(User, person.id)
        assert stored is not None
        if stored.leaving_date is None:
            with pytest.raises(ValidationFailed):
                finance_leavers.close_negative_balance(
                    person.id, balance, outcome, "story", actor=self.drafter
                )
            return
        try:
            finance_leavers.close_negative_balance(
                person.id, balance, outcome, "story", actor=self.drafter
            )
        except Conflict:  # a batch not yet paid holds part of it
            assert self.status() in (BatchStatus.DRAFT, BatchStatus.APPROVED)
            return
        told.adjusted[person.id] -= balance.amount
        assert ledger.balance(person.id, "VND").amount == 0


@pytest.mark.usefixtures("app")
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(prices=prices, story=events, form_this_year=st.booleans())
@example(  # every corner at least once, whatever the random examples reach
    prices=[
        [(30_000_000, 1)],
        [(30_000_000, 1)],
        [(30_000_000, 1)],
        [(25_000_000, 1)],
        [(9_000_000, 2)],
        [(1_000_000, 1)],
    ]
    + [[(5_000_000, 1)]] * (ORDERS - 6),
    story=[
        ("sell", 0),
        ("sell", 1),
        ("sell", 2),
        ("sell", 3),
        ("tick", 20),
        ("payout",),  # withheld (resident, non-resident), salary, commitment
        ("leave", 1, LeaverPolicy.FORFEIT),
        ("refund", 1, 100),  # after leaving, after payout: a negative balance
        ("close", 1, BalanceOutcome.WRITE_OFF),
        ("sell", 7),
        ("leave", 2, LeaverPolicy.FORFEIT),  # its earned commission: voided
        ("sell", 4),
        ("leave", 4, LeaverPolicy.VEST),
        ("settle", 0),  # vested: in the final settlement now
        ("batch", "draft"),
        ("refund units", 4, 3),  # while the batch waits
        ("batch", "approve"),
        ("batch", "paid"),
        ("leave", 0, LeaverPolicy.FORFEIT),
        ("pay", 5),  # after its referrer left: earns nothing
        ("dispute", 3, DisputeStatus.LOST),
        ("tick", 40),
        ("payout",),
    ],
    form_this_year=True,
)
def test_the_whole_chain_adds_up(prices, story, form_this_year):
    db.session.remove()
    clean_database()
    drafter, approver = finance_person(), finance_person()
    tax.add_circular_111_rates(drafter)
    flat_id = _rules()
    people = _people(drafter, form_this_year)
    flat = db.session.get(Product, flat_id)
    orders = []
    for i, lines in enumerate(prices):
        products = [(factories.ProductFactory(price_amount=p), q) for p, q in lines]
        if i == 0:
            products.append((flat, 2))
        orders.append(referred_order_of(products, employee=people[i % PEOPLE]))
    desk = Desk(people, drafter, approver)
    #: per leaver, their policy and the commissions not yet payable when they left
    promised: dict[int, tuple[LeaverPolicy, set[int]]] = {}

    def pay_out() -> dict[int, int]:
        told = Told()
        desk.draft()
        desk.approve()
        desk.paid(told)
        return told.paid

    def more(event: tuple, told: Told) -> None:
        kind = event[0]
        if kind == "batch":
            step = event[1]
            if step == "paid":
                desk.paid(told)
            else:
                getattr(desk, step)()
        elif kind == "leave":
            person = people[event[1]]
            stored = db.session.get(User, person.id)
            assert stored is not None
            if stored.leaving_date is None:
                waiting = db.session.scalars(
                    select(Commission.id).where(
                        Commission.user_id == person.id,
                        Commission.state.in_([CommissionState.PENDING, CommissionState.EARNED]),
                    )
                )
                promised[person.id] = (event[2], set(waiting))
            leave(person, event[2], actor=drafter)
        elif kind == "settle":
            leavers.settle_leavers(now=after_holding(event[1]))
        else:
            desk.close(people[event[1]], event[2], told)

    def after_each(told: Told) -> None:
        db.session.expire_all()
        balances_add_up(people, told)
        assert summary_rows() == summary_facts()

    told = tell(story, orders, people, drafter, pay_out=pay_out, more=more, after_each=after_each)
    desk.cancel()
    leavers.settle_leavers(now=after_holding(41))
    check(people, told)
    for person in people:
        check_leaver(person)
    _check_paid_lines(people, told, form_this_year)
    _check_paid_once()
    _check_promises(promised)
    _tell_what_happened()
    kept = summary_rows()
    assert kept == summary_facts()
    summaries.rebuild()
    assert summary_rows() == kept


def _paid_lines() -> list[PayoutLine]:
    return list(
        db.session.scalars(
            select(PayoutLine)
            .join(PayoutBatch, PayoutBatch.id == PayoutLine.batch_id)
            .where(PayoutBatch.status == BatchStatus.PAID, PayoutLine.status == LineStatus.INCLUDED)
            .order_by(PayoutLine.id)
        )
    )


def _check_paid_lines(people: list[User], told: Told, form_this_year: bool) -> None:
    """Each paid line: gross = its entries' net = withheld + net paid, taxed as the person's
    profile says; the ledger's payout and withholding entries are the lines' figures."""
    gross: Counter[int] = Counter()
    out: Counter[int] = Counter()
    withheld: Counter[int] = Counter()
    for line in _paid_lines():
        entries = db.session.scalars(
            select(LedgerEntry.amount)
            .join(PayoutItem, PayoutItem.ledger_entry_id == LedgerEntry.id)
            .where(PayoutItem.line_id == line.id)
        ).all()
        assert sum(entries) == line.amount > 0
        payout = db.session.get(LedgerEntry, line.payout_entry_id)
        assert payout is not None
        assert payout.kind is EntryKind.PAYOUT
        assert line.amount == line.withheld_amount + -payout.amount
        assert 0 <= line.withheld_amount < line.amount
        gross[line.user_id] += line.amount
        out[line.user_id] += -payout.amount
        withheld[line.user_id] += line.withheld_amount
        expected = _expected_tax(people, line, form_this_year)
        assert (line.tax_treatment, line.withheld_amount) == expected, line.user_id
    for person in people:
        sums: dict[EntryKind, int] = defaultdict(int)
        for kind, amount in db.session.execute(
            select(LedgerEntry.kind, LedgerEntry.amount).where(LedgerEntry.user_id == person.id)
        ):
            sums[kind] += amount
        assert told.paid[person.id] == gross[person.id]
        assert -sums[EntryKind.PAYOUT] == out[person.id]
        assert -sums[EntryKind.WITHHOLDING] == withheld[person.id]


def _expected_tax(people: list[User], line: PayoutLine, form_this_year: bool) -> tuple[str, int]:
    """Circular 111: staff are taxed by payroll, the form (this year's) withholds nothing,
    residents 10 % from 2,000,000 ₫, non-residents 20 % of everything (rounded down)."""
    if line.user_id in (people[STAFF].id, people[4].id):
        return Treatment.SALARY.value, 0
    if line.user_id == people[COMMITTED].id and form_this_year:
        return Treatment.COMMITMENT.value, 0
    if line.user_id == people[FOREIGN].id:
        return Treatment.WITHHELD.value, line.amount * 2000 // 10000
    if line.amount < 2_000_000:
        return Treatment.BELOW_THRESHOLD.value, 0
    return Treatment.WITHHELD.value, line.amount * 1000 // 10000


def _check_paid_once() -> None:
    """No entry in two paid lines; no commission paid more than it earned; a paid commission
    paid by exactly one line; a forfeited one never paid anything."""
    paid = db.session.execute(
        select(PayoutItem.ledger_entry_id, PayoutItem.line_id, LedgerEntry)
        .join(LedgerEntry, LedgerEntry.id == PayoutItem.ledger_entry_id)
        .join(PayoutLine, PayoutLine.id == PayoutItem.line_id)
        .join(PayoutBatch, PayoutBatch.id == PayoutItem.batch_id)
        .where(PayoutBatch.status == BatchStatus.PAID, PayoutLine.status == LineStatus.INCLUDED)
    ).all()
    entry_ids = [entry_id for entry_id, _line, _entry in paid]
    assert len(entry_ids) == len(set(entry_ids))
    per_commission: dict[int, int] = defaultdict(int)
    earn_lines: dict[int, set[int]] = defaultdict(set)
    for _entry_id, line_id, entry in paid:
        if entry.commission_id is None or entry.kind is EntryKind.ADJUSTMENT:
            continue
        per_commission[entry.commission_id] += entry.amount
        if entry.kind is EntryKind.EARN:
            earn_lines[entry.commission_id].add(line_id)
    for commission in db.session.scalars(select(Commission)):
        assert 0 <= per_commission[commission.id] <= commission.earned_amount
        assert len(earn_lines[commission.id]) <= 1
        if commission.state is CommissionState.PAID:
            assert len(earn_lines[commission.id]) == 1
        if commission.void_reason is VoidReason.LEFT_COMPANY:
            assert per_commission[commission.id] == 0


def _check_promises(promised: dict[int, tuple[LeaverPolicy, set[int]]]) -> None:
    """What each leaver's policy said of the commissions not yet payable when they left:
    forfeited ones are voided for leaving and paid nothing; vested ones (earned then, or
    earned since) wait no more."""
    for policy, ids in promised.values():
        for commission in db.session.scalars(select(Commission).where(Commission.id.in_(ids))):
            if policy is LeaverPolicy.FORFEIT:
                assert commission.state is CommissionState.VOIDED
                assert commission.void_reason is VoidReason.LEFT_COMPANY
                assert commission.amount == 0
            else:
                assert commission.state is not CommissionState.EARNED


def _tell_what_happened() -> None:
    """Hypothesis's statistics (``--hypothesis-show-statistics``) say how often the stories
    reached each corner."""
    lines = _paid_lines()
    if any(line.withheld_amount for line in lines):
        event("tax withheld")
    if any(line.tax_treatment == Treatment.BELOW_THRESHOLD.value for line in lines):
        event("below the threshold")
    for policy in db.session.scalars(select(LeaverSettlement.policy)):
        event(f"a leaver under {policy.value}")
    if db.session.scalar(select(func.count()).select_from(LeaverBalanceDecision)):
        event("a negative balance closed")
    if db.session.scalar(
        select(func.count()).where(Commission.void_reason == VoidReason.LEFT_COMPANY)
    ):
        event("a commission forfeited or earned after leaving")
    if db.session.scalar(select(func.count()).where(Commission.tier_threshold.is_not(None))):
        event("a tier reached")
