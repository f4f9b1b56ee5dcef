"""Leavers: what happens to a person's commissions, account and balance when they leave.

HR sets a person's leaving date (the first day they no longer work here). From that day:

* orders paid through their links earn nothing (``lifecycle.void_if_left``: the commission
  is created and voided at once, "left the company"); the links still redirect;
* :func:`settle_leavers` (the daily task, ``flask perks tick`` and Celery beat) applies the
  leaving date once (once per leaving date: someone who came back and leaves again, or
  whose date HR corrected, is settled again on the new one): the leaver policy finance set
  (``LeaverSettings``, vest by default) is written on the person's ``LeaverSettlement`` row,
  their account is deactivated as HR's deactivation does it (every session ends), and their
  final statement is e-mailed through the outbox in their language. Under **vest**,
  commissions not yet payable become payable at once (paid in the next batch: the final
  settlement); under **forfeit**, they are voided ("left the company") with a reversal of
  what they had earned. Commissions still waiting for the customer (pending) or on hold
  follow the same policy when they come back: each run applies the settlement's policy to
  what has matured since. Commissions already payable or paid are never touched. Whatever
  the policy, a commission not yet payable from an order paid on or after the leaving date
  is voided ("left the company"), as if the date had been known when the order was paid:
  HR often enters a leaving date after the day.

The company always keeps an active administrator (the people pages, the import and the API
refuse to remove the last one): a leaver who is the last active administrator is not
settled. They stay active, the audit log has ``people.last_administrator_kept``, a warning
is logged, and they and HR are told once (per leaving date); the leaving date is applied at
the first run after someone else became an administrator. Refusing the date instead would
make HR's record of when someone leaves wait on a role change only an administrator can make.

Safe from several hosts at once: the settlement row is inserted with "on conflict do
nothing" (or, over one for another leaving date, updated only if its date still differs;
only the run that wrote it deactivates and sends the statement), and later runs
lock it (``FOR UPDATE`` on PostgreSQL; an SQLite transaction has the database to itself)
before reading the commissions they change.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from perks import audit, rule_history
from perks.commissions import lifecycle
from perks.commissions.models import (
    LEAVER_SETTINGS_ID,
    Commission,
    CommissionState,
    EntryKind,
    LeaverPolicy,
    LeaverSettings,
    LeaverSettlement,
    LedgerEntry,
    VoidReason,
)
from perks.db import transaction, utcnow
from perks.extensions import db
from perks.i18n import company_today, day_start
from perks.mail import send_email
from perks.money import Money
from perks.notifications import audience, link, notify
from perks.people.models import Role, User, new_session_token
from perks.people.services import is_the_last_administrator, people_with_role
from perks.shop.models import Order

S = CommissionState
SETTINGS_ID = LEAVER_SETTINGS_ID
#: the audit action (and notification kind) of a last administrator kept past their date
KEPT_ACTION = "people.last_administrator_kept"

log = logging.getLogger(__name__)


# --- the policy (finance) ----------------------------------------------------------------------


#: the policy for people leaving now (vest until finance chooses)
current_policy = lifecycle.current_leaver_policy


def set_policy(policy: LeaverPolicy, *, actor: User) -> LeaverPolicy:
    """Finance chooses the leaver policy for people whose leaving date is applied from now on
    (leavers already settled keep theirs). Audited (``commissions.leaver_policy_changed``),
    and a version of it in the rules history, when it changes. Raises nothing."""
    with transaction():
        settings = db.session.get(LeaverSettings, SETTINGS_ID)
        before = settings.policy if settings is not None else LeaverPolicy.VEST
        since = settings.updated_at if settings is not None else None
        if settings is None:
            settings = LeaverSettings(id=SETTINGS_ID, policy=policy)
            db.session.add(settings)
        settings.policy = policy
        settings.updated_at = utcnow()
        settings.updated_by_id = actor.id
        db.session.flush()
        if before is not policy:
            audit.record(
                "commissions.leaver_policy_changed",
                actor=actor,
                target=settings,
                before=before.value,
                after=policy.value,
            )
        rule_history.record_change(
            rule_history.LEAVERS,
            rule_history.POLICY_ID,
            {"policy": before.value} if since is not None else None,
            {"policy": policy.value},
            since=since,
        )
        return policy


# --- the daily task ----------------------------------------------------------------------------


@dataclass
class LeaverRun:
    """What one run of :func:`settle_leavers` did."""

    settled: int = 0
    vested: int = 0
    forfeited: int = 0


def settle_leavers(today: date | None = None, now: datetime | None = None) -> LeaverRun:
    """Apply every leaving date that has come (once per person and leaving date), then each
    settlement's policy to the commissions of leavers that matured since. One transaction
    per leaver.

    Idempotent, and safe when several hosts run it at once (see the module). Raises nothing
    of its own; a database error rolls back that leaver only after it is raised.
    """
    today = today or company_today()
    run = LeaverRun()
    due = db.session.scalars(
        select(User.id)
        .outerjoin(LeaverSettlement, LeaverSettlement.user_id == User.id)
        .where(
            User.leaving_date.is_not(None),
            User.leaving_date <= today,
            # never settled, or settled for another leaving date (they came back, or HR
            # corrected the date)
            or_(
                LeaverSettlement.user_id.is_(None),
                LeaverSettlement.leaving_date != User.leaving_date,
            ),
        )
        .order_by(User.id)
    ).all()
    for user_id in due:
        _settle(user_id, run, now or utcnow())
    for user_id in _with_matured_commissions():
        _apply_later(user_id, run, now or utcnow())
    return run


def _claim(user_id: int, leaving_date: date, policy: LeaverPolicy, now: datetime) -> bool:
    """Write the person's settlement row for ``leaving_date`` (over one for another leaving
    date: they came back and left again); False when another run did first."""
    dialect = db.session.get_bind().dialect.name
    statement = (postgresql_insert if dialect == "postgresql" else sqlite_insert)(
        LeaverSettlement
    ).values(user_id=user_id, leaving_date=leaving_date, policy=policy, settled_at=now)
    claimed = db.session.scalar(
        statement.on_conflict_do_update(
            index_elements=["user_id"],
            set_={
                "leaving_date": statement.excluded.leaving_date,
                "policy": statement.excluded.policy,
                "settled_at": statement.excluded.settled_at,
            },
            where=LeaverSettlement.leaving_date != statement.excluded.leaving_date,
        ).returning(LeaverSettlement.user_id)
    )
    return claimed is not None


def _settle(user_id: int, run: LeaverRun, now: datetime) -> None:
    with transaction():
        person = db.session.get(User, user_id)
        if person is None or person.leaving_date is None:
            return
        if is_the_last_administrator(person, lock=True):
            _keep_the_last_administrator(person)
            return
        policy = current_policy()
        if not _claim(user_id, person.leaving_date, policy, now):
            return
        vested, forfeited = _apply_policy(user_id, policy, person.leaving_date, now)
        run.settled += 1
        run.vested += len(vested)
        run.forfeited += len(forfeited)
        send_final_statement(person, policy, forfeited)
        if person.active:
            person.active = False
            person.session_token = new_session_token()  # every session ends, as HR's does
            audit.record(
                "people.deactivated",
                actor=None,
                target=person,
                leaving_date=person.leaving_date.isoformat(),
            )
        audit.record(
            "commissions.leaver_settled",
            actor=None,
            target=person,
            policy=policy.value,
            vested=[c.id for c in vested],
            forfeited=[c.id for c, _worth in forfeited],
        )


def _keep_the_last_administrator(person: User) -> None:
    """Leave the last administrator active; the first time for this leaving date, audit it,
    log a warning and tell them and HR (flushes only)."""
    assert person.leaving_date is not None
    day = person.leaving_date.isoformat()
    told = db.session.scalars(
        select(audit.AuditEvent.details).where(
            audit.AuditEvent.action == KEPT_ACTION,
            audit.AuditEvent.target_type == "User",
            audit.AuditEvent.target_id == str(person.id),
        )
    ).all()
    if any(details.get("leaving_date") == day for details in told):
        return
    log.warning(
        "leaver %s stays active past their leaving date %s: the only active administrator",
        person.id,
        day,
    )
    audit.record(KEPT_ACTION, actor=None, target=person, leaving_date=day)
    hr = [reader for reader in people_with_role(Role.HR) if reader.id != person.id]
    for reader in [person, *hr]:
        notify(
            reader,
            "last_administrator_kept",
            {"name": person.name, "date": person.leaving_date},
            url=link("people.detail", user_id=person.id),
        )


@audience("keepers_of_the_administrator_role")
def keeps_the_administrator_role(person: User) -> bool:
    """Who hears that the last administrator stayed past their leaving date: administrators
    and HR."""
    return person.has_role(Role.ADMIN) or person.has_role(Role.HR)


def _matured_condition() -> object:
    return or_(
        Commission.state == S.EARNED,
        and_(Commission.state == S.PENDING, LeaverSettlement.policy == LeaverPolicy.FORFEIT),
    )


def _with_matured_commissions() -> list[int]:
    """Settled leavers (still with the leaving date they were settled for: not back at
    work, nor leaving again later) with commissions their policy has still to move."""
    return list(
        db.session.scalars(
            select(LeaverSettlement.user_id)
            .join(User, User.id == LeaverSettlement.user_id)
            .join(Commission, Commission.user_id == LeaverSettlement.user_id)
            .where(
                User.leaving_date == LeaverSettlement.leaving_date,
                _matured_condition(),  # type: ignore[arg-type]
            )
            .group_by(LeaverSettlement.user_id)
            .order_by(LeaverSettlement.user_id)
        )
    )


def _apply_later(user_id: int, run: LeaverRun, now: datetime) -> None:
    with transaction():
        settlement = db.session.scalar(
            select(LeaverSettlement).where(LeaverSettlement.user_id == user_id).with_for_update()
        )
        leaving_date = settlement.user.leaving_date if settlement is not None else None
        if settlement is None or leaving_date is None:
            return
        vested, forfeited = _apply_policy(user_id, settlement.policy, leaving_date, now)
        run.vested += len(vested)
        run.forfeited += len(forfeited)
        if vested or forfeited:
            audit.record(
                "commissions.leaver_policy_applied",
                actor=None,
                target=settlement.user,
                policy=settlement.policy.value,
                vested=[c.id for c in vested],
                forfeited=[c.id for c, _worth in forfeited],
            )


def _apply_policy(
    user_id: int, policy: LeaverPolicy, leaving_date: date, now: datetime
) -> tuple[list[Commission], list[tuple[Commission, int]]]:
    """Vest or forfeit the person's commissions not yet payable (flushes only): vest makes
    earned ones payable now; forfeit voids pending and earned ones, reversing what they
    earned. Under either policy, pending and earned ones of orders paid on or after
    ``leaving_date`` are voided ("left the company"): the date may have been entered after
    those orders were paid, and from it the person earns nothing. Returns the vested
    commissions and the voided ones with what each was worth.
    """
    states = [S.EARNED] if policy is LeaverPolicy.VEST else [S.PENDING, S.EARNED]
    late_orders = select(Order.id).where(Order.paid_at >= day_start(leaving_date))
    touched = or_(
        Commission.state.in_(states),
        and_(
            Commission.state.in_([S.PENDING, S.EARNED]),
            Commission.order_id.in_(late_orders),
        ),
    )
    # Their orders locked first, then they, in id order, and read again under the lock, as
    # a webhook or a redemption locks an order and then its commissions
    # (``lifecycle.commissions_of``): one of these orders refunded or used at the same moment
    # waits for this settlement and finds what it did, instead of this writing over it.
    db.session.execute(
        select(Order.id)
        .where(
            Order.id.in_(select(Commission.order_id).where(Commission.user_id == user_id, touched))
        )
        .order_by(Order.id)
        .with_for_update()
    ).all()
    commissions = list(
        db.session.scalars(
            select(Commission)
            .where(Commission.user_id == user_id, touched)
            .order_by(Commission.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )
    late = set(
        db.session.scalars(
            select(Commission.id).where(
                Commission.id.in_([c.id for c in commissions]),
                Commission.order_id.in_(late_orders),
            )
        )
    )
    vested: list[Commission] = []
    forfeited: list[tuple[Commission, int]] = []
    for commission in commissions:
        if policy is LeaverPolicy.VEST and commission.id not in late:
            payable_at = commission.payable_at
            if payable_at is None or _aware(payable_at) > now:
                commission.payable_at = now
            lifecycle.make_payable(commission)
            vested.append(commission)
        else:
            worth = commission.amount
            lifecycle.take_back(commission, commission.amount, "left_company", now)
            lifecycle.void(commission, VoidReason.LEFT_COMPANY, now)
            forfeited.append((commission, worth))
    db.session.flush()
    return vested, forfeited


def _aware(moment: datetime) -> datetime:
    """SQLite gives back naive UTC moments."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# --- the final statement -----------------------------------------------------------------------


@dataclass
class CurrencyStatement:
    """One currency of a leaver's statement (minor units; ``still_to_pay`` negative when
    they owe)."""

    currency: str
    earned: int = 0
    taken_back: int = 0
    adjusted: int = 0
    #: paid out to them (net of the tax withheld)
    paid: int = 0
    #: personal income tax withheld from their payouts
    withheld: int = 0
    #: what the forfeit policy took back of what they had earned (not a refund's: shown as
    #: forfeited, never under "taken back after refunds or disputes")
    forfeited_earned: int = 0
    forfeited: int = 0
    waiting: int = 0

    @property
    def still_to_pay(self) -> int:
        return (
            self.earned
            - self.taken_back
            - self.forfeited_earned
            + self.adjusted
            - self.paid
            - self.withheld
        )

    def money(self, name: str) -> Money:
        value = self.still_to_pay if name == "still_to_pay" else getattr(self, name)
        return Money(value, self.currency)


@dataclass
class Statement:
    """A leaver's commissions in sums: what they earned, what was paid, what is still due."""

    currencies: list[CurrencyStatement] = field(default_factory=list)


def statement_of(user_id: int, forfeited: list[tuple[Commission, int]] | None = None) -> Statement:
    """The person's ledger in sums per currency, with what waits for customers (pending, or
    on hold since before it was earned) and what was forfeited now. Raises nothing."""
    per: dict[str, CurrencyStatement] = {}

    def of(currency: str) -> CurrencyStatement:
        return per.setdefault(currency, CurrencyStatement(currency))

    forfeit = LedgerEntry.reason == VoidReason.LEFT_COMPANY.value
    for currency, kind, by_forfeit, total in db.session.execute(
        select(LedgerEntry.currency, LedgerEntry.kind, forfeit, func.sum(LedgerEntry.amount))
        .where(LedgerEntry.user_id == user_id)
        .group_by(LedgerEntry.currency, LedgerEntry.kind, forfeit)
    ):
        line = of(currency)
        total = int(total or 0)
        if kind is EntryKind.EARN:
            line.earned += total
        elif kind is EntryKind.REVERSAL and by_forfeit:
            line.forfeited_earned -= total
        elif kind is EntryKind.REVERSAL:
            line.taken_back -= total
        elif kind is EntryKind.PAYOUT:
            line.paid -= total
        elif kind is EntryKind.WITHHOLDING:
            line.withheld -= total
        else:
            line.adjusted += total
    # what was never earned: pending, or held by a dispute before the order was used (one
    # earned, payable or paid before its dispute is in the ledger's sums already)
    never_earned = or_(
        Commission.state == S.PENDING,
        and_(Commission.state == S.ON_HOLD, Commission.held_from_state == S.PENDING),
    )
    for currency, total in db.session.execute(
        select(Commission.currency, func.sum(Commission.amount))
        .where(Commission.user_id == user_id, never_earned)
        .group_by(Commission.currency)
    ):
        of(currency).waiting += int(total or 0)
    totals: dict[str, int] = defaultdict(int)
    for commission, worth in forfeited or []:
        totals[commission.currency] += worth
    for currency, total in totals.items():
        of(currency).forfeited += total
    return Statement([per[c] for c in sorted(per)])


def send_final_statement(
    person: User, policy: LeaverPolicy, forfeited: list[tuple[Commission, int]]
) -> None:
    """E-mail the leaver their final statement in their language, through the outbox
    (whatever their notification choices: they can no longer sign in). Flushes only."""
    send_email(
        person.email,
        "leaver_statement",
        locale=person.locale,
        person=person,
        policy=policy,
        vest=policy is LeaverPolicy.VEST,
        statement=statement_of(person.id, forfeited),
        leaving_date=person.leaving_date,
    )
