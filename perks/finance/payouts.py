"""Payout batches, four-eyes: draft → (exclude lines) → approve → export → mark paid; or cancel.

The batch's state machine, one function a transition. What the pages read of batches is in
``perks.finance.queries``, the payroll file in ``perks.finance.payroll``, the e-mail to the
people paid in ``perks.finance.notifications``.

* :func:`draft_batch`: every released ledger entry (``perks.commissions.ledger.
  payable_entries``) written up to the end of the cut-off day and not held by another batch,
  netted per person and currency. A positive net is a line to pay; a net of zero or less is
  carried forward (shown, not paid, its entries left free for the next batch).
* :func:`exclude_line`: finance leaves a line out, with a reason; its entries are released at
  once, so the next batch takes them again.
* :func:`approve_batch`: a second finance person approves the draft: never the one who
  drafted it (the database refuses it too), is paid by one of its lines, or recorded an
  adjustment it pays. Nobody records an adjustment to their own
  balance either (``perks.commissions.ledger.record_adjustment``). The approval is of the
  batch the approver's page showed: its ``row_version`` moves on at each change of the batch
  (a line left out included, a change to the tax profile of someone it pays:
  :func:`payee_profile_changing`, and HR's change to what it shows of them:
  :func:`payee_details_changed`), and an approval from an older one is refused.
* :func:`mark_batch_paid`: with the payment's reference: one ``payout`` ledger entry per
  included line (``perks.commissions.lifecycle.record_payout``, which also moves the paid
  commissions to ``paid`` through their lifecycle), with the personal income tax withheld
  from each line on the payment day (``perks.finance.withholding``: a ``withholding`` entry,
  the line keeps gross, taxable and withheld), and an e-mail to each person
  (``perks.finance.notifications``), written to the outbox in the same transaction (sent
  after the commit; a mail outage changes nothing). The page runs it as a background job
  (:func:`start_marking_paid`, kind ``payout_paid``): the payout is still one transaction,
  with the job's outcome, and a batch is paid once however often it is asked.
* :func:`cancel_batch`: before it is paid; every entry it held is free again.

Each is one transaction with its audit event. Two drafts at once never take the same entry:
on PostgreSQL drafts take a transaction-level advisory lock, so they run one after the
other, and everywhere ``payout_item.claimed_entry_id`` is unique, so the database refuses an
entry held twice whatever happens. Approving, paying and cancelling lock the batch's row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from perks import audit, background
from perks.background import BackgroundJob, JobRun
from perks.commissions import ledger, lifecycle
from perks.commissions.models import EntryKind, LedgerEntry
from perks.commissions.tax_models import TaxProfile
from perks.db import among, locked, transaction, utcnow
from perks.errors import ChangedMeanwhile, Conflict, NotFound, NotPermitted, ValidationFailed
from perks.extensions import db
from perks.finance import notifications, withholding
from perks.finance.models import (
    BatchStatus,
    LineStatus,
    PayoutBatch,
    PayoutItem,
    PayoutLine,
    new_batch_reference,
)
from perks.finance.queries import batch_totals
from perks.i18n import company_date, company_today, day_start, format_day
from perks.money import Money, format_money
from perks.people.models import Role, User
from perks.text import trim

#: the advisory lock drafts take on PostgreSQL (any constant; "perks payouts")
DRAFT_LOCK_KEY = 0x7065726B7370
MAX_REASON_LENGTH = 500
MAX_PAYMENT_REFERENCE_LENGTH = 120
#: the background job that marks a batch paid
PAID_JOB_KIND = "payout_paid"


def _cutoff_moment(cutoff: date) -> datetime:
    """The last moment of the company day ``cutoff``."""
    return day_start(cutoff + timedelta(days=1)) - timedelta(microseconds=1)


def held_entry_ids() -> Any:
    """A query of the ids of entries some batch holds (never NULL: NOT IN needs that)."""
    return select(PayoutItem.claimed_entry_id).where(PayoutItem.claimed_entry_id.is_not(None))


def _lock_drafts() -> None:
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": DRAFT_LOCK_KEY})


def _locked_batch(batch_id: int) -> PayoutBatch:
    """The batch, locked until the transaction ends and read again under the lock rather
    than from what the session loaded before (its ``row_version`` as it now is)."""
    batch = locked(PayoutBatch, batch_id)
    if batch is None:
        raise NotFound(_("There is no such payout batch."))
    return batch


def _release(batch_id: int, line_id: int | None = None) -> None:
    """Let go of the entries the batch (or one of its lines) holds."""
    query = update(PayoutItem).where(PayoutItem.batch_id == batch_id)
    if line_id is not None:
        query = query.where(PayoutItem.line_id == line_id)
    db.session.execute(
        query.values(claimed_entry_id=None).execution_options(synchronize_session=False)
    )


def _reason(reason: str, what: str) -> str:
    reason = trim(reason or "")
    if not reason:
        raise ValidationFailed(what)
    if len(reason) > MAX_REASON_LENGTH:
        raise ValidationFailed(
            _("Keep the reason under %(count)d characters.", count=MAX_REASON_LENGTH)
        )
    return reason


# --- draft ---------------------------------------------------------------------------------------


def draft_batch(cutoff: date, *, actor: User, today: date | None = None) -> PayoutBatch:
    """Draft a batch of every released entry written up to the end of ``cutoff`` (company
    day) that no other batch holds, netted per person and currency.

    Raises:
        ValidationFailed: the cut-off is in the future, or nobody is owed anything.
        Conflict: another batch took some of the entries at the same moment (try again).
    """
    today = today or company_today()
    if cutoff > today:
        raise ValidationFailed(_("The cut-off day cannot be in the future."))
    cutoff_at = _cutoff_moment(cutoff)
    try:
        with transaction():
            _lock_drafts()
            query = ledger.payable_entries(cutoff_at, not_in=held_entry_ids()).with_only_columns(
                LedgerEntry.id, LedgerEntry.user_id, LedgerEntry.currency, LedgerEntry.amount
            )
            nets = ledger.net_per_person(db.session.execute(query).all())
            if not any(net.amount > 0 for net in nets):
                raise ValidationFailed(
                    _("Nobody is owed anything up to %(day)s.", day=format_day(cutoff))
                )
            batch = PayoutBatch(
                reference=new_batch_reference(cutoff),
                cutoff_date=cutoff,
                cutoff_at=cutoff_at,
                status=BatchStatus.DRAFT,
                drafted_by_id=actor.id,
                payment_reference="",
                cancel_reason="",
            )
            db.session.add(batch)
            db.session.flush()
            items = []
            for net in nets:
                included = net.amount > 0
                line = PayoutLine(
                    batch_id=batch.id,
                    user_id=net.user_id,
                    currency=net.currency,
                    amount=net.amount,
                    entry_count=len(net.entry_ids),
                    status=LineStatus.INCLUDED if included else LineStatus.CARRIED,
                    exclusion_reason="",
                )
                db.session.add(line)
                db.session.flush()
                items += [
                    {
                        "batch_id": batch.id,
                        "line_id": line.id,
                        "ledger_entry_id": entry_id,
                        "claimed_entry_id": entry_id if included else None,
                    }
                    for entry_id in net.entry_ids
                ]
            db.session.execute(insert(PayoutItem), items)
            audit.record(
                "finance.payout_drafted",
                actor=actor,
                target=batch,
                reference=batch.reference,
                cutoff=cutoff.isoformat(),
                totals=_totals_detail(nets),
                people=len({n.user_id for n in nets if n.amount > 0}),
                carried=len([n for n in nets if n.amount <= 0]),
            )
            return batch
    except IntegrityError as error:
        raise Conflict(
            _("Another payout batch took some of these entries just now. Try again.")
        ) from error


def _totals_detail(nets: Sequence[ledger.PersonNet]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for net in nets:
        if net.amount > 0:
            totals[net.currency] = totals.get(net.currency, 0) + net.amount
    return totals


# --- exclude, approve, cancel --------------------------------------------------------------------


def exclude_line(batch_id: int, line_id: int, reason: str, *, actor: User) -> PayoutLine:
    """Leave one line of a draft out of it; its entries wait for the next batch.

    Raises:
        ValidationFailed: no reason, or one too long.
        NotFound: no such batch, or the line is not in it.
        Conflict: the batch is no longer a draft, or the line is not included.
    """
    reason = _reason(reason, _("Say why the line is left out."))
    with transaction():
        batch = _locked_batch(batch_id)
        line = db.session.get(PayoutLine, line_id)
        if line is None or line.batch_id != batch.id:
            raise NotFound(_("This batch has no such line."))
        if batch.status is not BatchStatus.DRAFT:
            raise Conflict(
                _("Only a draft can change; this batch is %(status)s.", status=batch.status.label)
            )
        if line.status is not LineStatus.INCLUDED:
            raise Conflict(_("This line is not included."))
        line.status = LineStatus.EXCLUDED
        line.exclusion_reason = reason
        line.excluded_by_id = actor.id
        # the line is a row of its own: the batch changes with it (its row version moves on,
        # so an approval from a page that still showed the line is refused)
        line.excluded_at = batch.updated_at = utcnow()
        _release(batch.id, line.id)
        db.session.flush()
        audit.record(
            "finance.payout_line_excluded",
            actor=actor,
            target=batch,
            line_id=line.id,
            user_id=line.user_id,
            amount=line.amount,
            currency=line.currency,
            reason=reason,
            row_version=batch.row_version,
        )
        return line


def approve_batch(
    batch_id: int, *, actor: User, expected_row_version: int | None = None
) -> PayoutBatch:
    """A second finance person approves a draft: nobody approves what they drafted, a
    payment to themselves, or money they entered.

    ``expected_row_version`` is the batch's ``row_version`` the approver's page showed: a
    line left out, or a payee's tax profile changed (what they are withheld, the account
    they are paid to; :func:`payee_profile_changing`), or HR changed what the batch shows of
    a payee (:func:`payee_details_changed`), after the page opened would otherwise
    be approved unseen (the four eyes are on the batch as it is paid). ``None`` checks
    nothing (callers that showed no page). An exclusion or a tax profile change at the same
    moment takes turns with the approval (the batch's row is locked), so it either comes
    first and refuses the approval, or waits and is refused.

    Raises:
        NotFound: no such batch.
        NotPermitted: ``actor`` drafted it, is paid by one of its lines, or recorded an
            adjustment it pays (four eyes).
        Conflict: it is not a draft, or it has nothing to pay (every line excluded).
        ChangedMeanwhile: the batch is no longer at ``expected_row_version`` (its message
            names the lines left out since and the payees whose tax profile or HR details
            changed since);
            nothing is approved.
    """
    with transaction():
        batch = _locked_batch(batch_id)
        if batch.status is not BatchStatus.DRAFT:
            raise Conflict(
                _(
                    "Only a draft can be approved; this batch is %(status)s.",
                    status=batch.status.label,
                )
            )
        if batch.drafted_by_id == actor.id:
            raise NotPermitted(_("You drafted this batch: another finance person must approve it."))
        if expected_row_version is not None and expected_row_version != batch.row_version:
            raise ChangedMeanwhile(_changed_meanwhile(batch, expected_row_version))
        included = _included_lines(batch.id)
        if not included:
            raise Conflict(_("Every line is excluded: there is nothing to approve."))
        _refuse_own_work(batch.id, included, actor)
        batch.status = BatchStatus.APPROVED
        batch.approved_by_id = actor.id
        batch.approved_at = utcnow()
        db.session.flush()
        audit.record(
            "finance.payout_approved", actor=actor, target=batch, reference=batch.reference
        )
        return batch


#: what changes a draft after its page was opened, as its audit log keeps it (each event with
#: the ``row_version`` it made)
_CHANGES_OF_A_DRAFT = (
    "finance.payout_line_excluded",
    "finance.payout_payee_profile_changed",
    "finance.payout_payee_details_changed",
)


def _changed_meanwhile(batch: PayoutBatch, seen: int) -> str:
    """The refusal of an approval from a page that showed ``batch`` at row version ``seen``:
    the lines left out since and the payees' tax profiles and HR details changed since, and
    by whom, as the audit log keeps them."""
    events = db.session.scalars(
        select(audit.AuditEvent)
        .where(
            audit.AuditEvent.target_type == PayoutBatch.__name__,
            audit.AuditEvent.target_id == str(batch.id),
            audit.AuditEvent.action.in_(_CHANGES_OF_A_DRAFT),
        )
        .order_by(audit.AuditEvent.id)
    ).all()
    since = [e for e in events if int(e.details.get("row_version") or 0) > seen]
    people = {
        user.id: user
        for user in db.session.scalars(
            select(User).where(
                User.id.in_({e.actor_id for e in since} | {e.details["user_id"] for e in since})
            )
        )
    }
    # an import from the command line changes people as nobody (``actor_id`` is None)
    names: dict[int | None, str] = {None: str(_("System"))}
    names.update((user_id, user.name) for user_id, user in people.items())
    changes = [
        _change_of(e, names[e.actor_id], names[e.details["user_id"]])
        for e in since
        if e.actor_id in names and e.details["user_id"] in names
    ]
    if not changes or len(changes) < len(since):
        return str(
            _(
                "This batch changed after you opened it, so it was not approved. Check the "
                "batch as it is now and approve it again."
            )
        )
    return str(
        _(
            "This batch changed after you opened it, so it was not approved: %(changes)s. "
            "Check the batch as it is now and approve it again.",
            changes="; ".join(changes),
        )
    )


def _change_of(event: audit.AuditEvent, name: str, person: str) -> str:
    """One change of :func:`_changed_meanwhile` (``name`` made it, to ``person``'s line, tax
    profile or HR details), in the reader's language."""
    if event.action == "finance.payout_payee_profile_changed":
        return str(_("%(name)s changed the tax profile of %(person)s", name=name, person=person))
    if event.action == "finance.payout_payee_details_changed":
        return str(
            _(
                "%(name)s changed the HR details of %(person)s (%(fields)s)",
                name=name,
                person=person,
                fields=", ".join(
                    str(PAYEE_DETAIL_NAMES.get(field, field)) for field in event.details["changed"]
                ),
            )
        )
    return str(
        _(
            "%(name)s left out the line of %(person)s (%(amount)s)",
            name=name,
            person=person,
            amount=format_money(Money(event.details["amount"], event.details["currency"])),
        )
    )


def _refuse_own_work(batch_id: int, included: Sequence[PayoutLine], actor: User) -> None:
    """Raises NotPermitted when ``actor`` is paid by the draft, entered an adjustment it
    pays, or last saved the tax profile of someone it pays (their bank account: where the
    money goes, and what is withheld): then a third finance person approves it, or the one
    who saved the profile drafts. Leaving lines out (which pays less, with a reason the
    person sees) is an approver's to do."""
    if any(line.user_id == actor.id for line in included):
        raise NotPermitted(
            _(
                "This batch pays you: another finance person must approve it, or the drafter "
                "leaves your line for a later batch."
            )
        )
    entered = db.session.scalar(
        select(func.count())
        .select_from(PayoutItem)
        .join(LedgerEntry, LedgerEntry.id == PayoutItem.claimed_entry_id)
        .where(
            PayoutItem.batch_id == batch_id,
            LedgerEntry.kind == EntryKind.ADJUSTMENT,
            LedgerEntry.created_by_id == actor.id,
        )
    )
    if entered:
        raise NotPermitted(
            _("This batch pays an adjustment you recorded: another finance person must approve it.")
        )
    profiled = db.session.scalar(
        select(func.count())
        .select_from(TaxProfile)
        .where(
            TaxProfile.user_id.in_({line.user_id for line in included}),
            TaxProfile.updated_by_id == actor.id,
        )
    )
    if profiled:
        raise NotPermitted(
            _(
                "This batch pays someone whose tax profile you saved last (their bank account): "
                "another finance person must approve it."
            )
        )


def cancel_batch(batch_id: int, reason: str, *, actor: User) -> PayoutBatch:
    """Cancel a batch that is not paid; every entry it held is free for the next batch.

    Raises:
        ValidationFailed: no reason, or one too long.
        NotFound: no such batch.
        Conflict: it is paid or already cancelled.
    """
    reason = _reason(reason, _("Say why the batch is cancelled."))
    with transaction():
        batch = _locked_batch(batch_id)
        if not batch.is_open:
            raise Conflict(
                _("A batch that is %(status)s cannot be cancelled.", status=batch.status.label)
            )
        _release(batch.id)
        batch.status = BatchStatus.CANCELLED
        batch.cancelled_by_id = actor.id
        batch.cancelled_at = utcnow()
        batch.cancel_reason = reason
        db.session.flush()
        audit.record(
            "finance.payout_cancelled",
            actor=actor,
            target=batch,
            reference=batch.reference,
            reason=reason,
        )
        return batch


# --- the payees' tax profiles --------------------------------------------------------------------


def payee_profile_changing(person: User, *, changed: Sequence[str], actor: User) -> None:
    """Before ``actor`` changes the ``changed`` fields of ``person``'s tax profile
    (``perks.commissions.tax.guard_profile_changes``): every field of it decides what is
    withheld from them or where their money goes (the payroll and bank files read it when
    they are downloaded, the tax is worked out when the batch is paid).

    * While an approved batch not yet paid pays them, the change is refused: it would alter
      what the approver approved without a second person seeing it. After the payment, it is
      for the next batch.
    * A draft that pays them changes with it: its ``row_version`` moves on and its audit log
      says whose profile changed and who changed it (``finance.payout_payee_profile_changed``,
      with the row version it made), so an approval from a page opened before the change is
      refused naming it (:func:`approve_batch`), and the approver sees the batch as it is.

    It locks the open batches that pay ``person`` as approving, paying and cancelling do, so
    an approval at the same moment either waits for the change (and is refused: the batch is
    no longer the one its page showed) or comes first (and the change, having waited, is
    refused).

    Raises:
        Conflict: an approved batch pays them, named.
    """
    batches = _batches_paying([person.id], (BatchStatus.DRAFT, BatchStatus.APPROVED))
    approved = [batch.reference for batch in batches if batch.status is BatchStatus.APPROVED]
    if approved:
        raise Conflict(
            _(
                "Payout batch %(reference)s is approved and pays %(name)s: their tax profile "
                "cannot change until the batch is marked paid. To pay them with the change, "
                "cancel the batch and draft a new one for another finance person to approve.",
                reference=approved[0],
                name=person.name,
            )
        )
    _drafts_changed(
        batches, {person.id: changed}, action="finance.payout_payee_profile_changed", actor=actor
    )


#: what of a person a payout batch shows (its page: name, employee number, department, a
#: leaver's leaving date) and its files read (the payroll and bank files: those and the
#: e-mail; the employment type decides, without a tax profile, whether they are on the payroll
#: and what is withheld), as ``User`` names the columns
PAYEE_DETAIL_NAMES = {
    "name": _l("Name"),
    "email": _l("E-mail"),
    "employee_number": _l("Employee number"),
    "employment_type": _l("Employment type"),
    "department_id": _l("Department"),
    "leaving_date": _l("Leaving date"),
}
PAYEE_DETAILS = frozenset(PAYEE_DETAIL_NAMES)


def payee_details_changed(changed: Mapping[int, Sequence[str]], *, actor: User | None) -> None:
    """After HR changed people (``perks.people.events.guard_changes``: the person page, the
    people import, the API; ``changed``: the columns that changed, by person id): a draft that
    pays one of them (an included line) whose :data:`PAYEE_DETAILS` changed changes with it,
    as with a tax profile (:func:`payee_profile_changing`): its ``row_version`` moves on and
    its audit log says whose details changed, which, and who changed them
    (``finance.payout_payee_details_changed``), so an approval from a page opened before is
    refused naming it (:func:`approve_batch`). It locks those drafts as approving does.

    An approved batch not yet paid that pays them is left as it is, and the change is never
    refused: an import is one transaction, and a nightly HR sync must not fail because
    finance approved a batch. What that batch's files show is then the person as they are
    when the files are downloaded. Raises nothing.
    """
    details = {
        user_id: sorted(PAYEE_DETAILS.intersection(columns)) for user_id, columns in changed.items()
    }
    details = {user_id: columns for user_id, columns in details.items() if columns}
    if not details:
        return
    drafts = _batches_paying(sorted(details), (BatchStatus.DRAFT,))
    _drafts_changed(drafts, details, action="finance.payout_payee_details_changed", actor=actor)


def _batches_paying(user_ids: Sequence[int], statuses: Sequence[BatchStatus]) -> list[PayoutBatch]:
    """The batches in one of ``statuses`` with an included line paying one of ``user_ids``,
    locked as approving, paying and cancelling lock them (in id order) and read again under
    the lock (their ``row_version`` as it now is)."""
    paying = select(PayoutLine.batch_id).where(PayoutLine.status == LineStatus.INCLUDED)
    found: dict[int, PayoutBatch] = {}
    for among_them in among(PayoutLine.user_id, user_ids):
        batches = db.session.scalars(
            select(PayoutBatch)
            .where(
                PayoutBatch.status.in_(statuses),
                PayoutBatch.id.in_(paying.where(among_them)),
            )
            .order_by(PayoutBatch.id)
            .with_for_update(of=PayoutBatch)
            .execution_options(populate_existing=True)
        )
        found.update((batch.id, batch) for batch in batches)
    return [found[batch_id] for batch_id in sorted(found)]


def _drafts_changed(
    batches: Sequence[PayoutBatch],
    changed: Mapping[int, Sequence[str]],
    *,
    action: str,
    actor: User | None,
) -> None:
    """The drafts among ``batches`` (locked: :func:`_batches_paying`) move on, as their
    payees of ``changed`` (the fields that changed, by person id) changed: the row version
    of each once, and an ``action`` audit event for each payee of each draft, with the
    fields and the row version it made."""
    drafts = [batch for batch in batches if batch.status is BatchStatus.DRAFT]
    if not drafts:
        return
    paid = db.session.execute(
        select(PayoutLine.batch_id, PayoutLine.user_id)
        .where(
            PayoutLine.batch_id.in_([batch.id for batch in drafts]),
            PayoutLine.status == LineStatus.INCLUDED,
        )
        .distinct()
        .order_by(PayoutLine.batch_id, PayoutLine.user_id)
    ).all()
    for batch in drafts:
        # the person's rows are rows of their own: the batch changes with them (see
        # exclude_line)
        batch.updated_at = utcnow()
    db.session.flush()
    by_id = {batch.id: batch for batch in drafts}
    for batch_id, user_id in paid:
        if user_id in changed:
            batch = by_id[batch_id]
            audit.record(
                action,
                actor=actor,
                target=batch,
                reference=batch.reference,
                user_id=user_id,
                changed=list(changed[user_id]),
                row_version=batch.row_version,
            )


# --- paid ----------------------------------------------------------------------------------------


def _payment_reference(payment_reference: str) -> str:
    payment_reference = trim(payment_reference or "")
    if not payment_reference:
        raise ValidationFailed(_("Enter the payment's reference (payroll run or transfer)."))
    if len(payment_reference) > MAX_PAYMENT_REFERENCE_LENGTH:
        raise ValidationFailed(
            _("Keep the reference under %(count)d characters.", count=MAX_PAYMENT_REFERENCE_LENGTH)
        )
    return payment_reference


def _approved(batch: PayoutBatch) -> None:
    if batch.status is not BatchStatus.APPROVED:
        raise Conflict(
            _(
                "Only an approved batch can be marked paid; this one is %(status)s.",
                status=batch.status.label,
            )
        )


def mark_batch_paid(batch_id: int, payment_reference: str, *, actor: User) -> PayoutBatch:
    """The approved batch was paid (with the payroll run or a transfer ``payment_reference``):
    one ``payout`` entry per included line, the commissions moved to paid, everyone told (the
    e-mails join the outbox in this transaction).

    Raises:
        ValidationFailed: no payment reference, or one too long.
        NotFound: no such batch.
        Conflict: the batch is not approved (a draft, paid or cancelled).
    """
    payment_reference = _payment_reference(payment_reference)
    with transaction():
        return _pay(batch_id, payment_reference, actor=actor)


def _pay(
    batch_id: int,
    payment_reference: str,
    *,
    actor: User,
    progress: Callable[[int, int], None] | None = None,
) -> PayoutBatch:
    """``mark_batch_paid``'s work, flush only (the caller's transaction holds the lock)."""
    batch = _locked_batch(batch_id)
    _approved(batch)
    paid_at = utcnow()
    lines = _included_lines(batch.id)
    entry_ids = _entry_ids_of(batch.id)
    assessments = withholding.assess_lines(lines, company_date(paid_at))
    for done, line in enumerate(lines, start=1):
        assessment = assessments[line.id]
        withholding.record_assessment(line, assessment)
        entry = lifecycle.record_payout(
            line.user_id,
            line.net,
            entry_ids=entry_ids.get(line.id, []),
            payout_batch_id=batch.id,
            actor=actor,
            paid_at=paid_at,
            withheld=assessment.withheld,
        )
        line.payout_entry_id = entry.id
        if progress is not None:
            progress(done, len(lines))
    batch.status = BatchStatus.PAID
    batch.paid_by_id = actor.id
    batch.paid_at = paid_at
    batch.payment_reference = payment_reference
    db.session.flush()
    notifications.payout_paid(batch, lines)
    notifications.tax_withheld(batch, lines)
    audit.record(
        "finance.payout_paid",
        actor=actor,
        target=batch,
        reference=batch.reference,
        payment_reference=payment_reference,
        lines=len(lines),
        totals=batch_totals(lines),
        withheld=withholding.withheld_totals(lines),
    )
    return batch


def _subject(batch_id: int) -> str:
    return f"payout_batch:{batch_id}"


def start_marking_paid(batch_id: int, payment_reference: str, *, actor: User) -> BackgroundJob:
    """Start marking an approved batch paid in the background (see ``mark_batch_paid``).
    Asking again while it waits or runs gives the same job.

    Raises:
        ValidationFailed: no payment reference, or one too long.
        NotFound: no such batch.
        Conflict: the batch is not approved (a draft, paid or cancelled).
    """
    payment_reference = _payment_reference(payment_reference)
    with transaction():
        # The batch's row lock makes two requests at once start one job.
        batch = _locked_batch(batch_id)
        running = background.active_job(PAID_JOB_KIND, _subject(batch.id))
        if running is not None:
            return running
        _approved(batch)
        return background.start_job(
            PAID_JOB_KIND,
            actor=actor,
            payload={
                "batch_id": batch.id,
                "reference": batch.reference,
                "payment_reference": payment_reference,
            },
            subject=_subject(batch.id),
            total=len(_included_lines(batch.id)),
        )


def paying_job(batch_id: int) -> BackgroundJob | None:
    """The job marking the batch paid, while it waits or runs."""
    return background.active_job(PAID_JOB_KIND, _subject(batch_id))


def _run_mark_paid(run: JobRun) -> None:
    """The job: pay the batch and record the job's outcome in the same transaction, so a
    payout and its "done" are never separated (a retried job finds the batch paid)."""
    actor = run.actor
    # deactivated since they asked, or no longer finance (the page's role, or an
    # administrator): nothing is paid
    if actor is None or not actor.active or not actor.has_role(Role.FINANCE):
        raise NotPermitted(
            _(
                "Whoever asked for this is no longer active in finance, so nothing was paid. "
                "Someone in finance can mark the batch paid again."
            )
        )
    with transaction():
        batch = _pay(
            int(run.payload["batch_id"]),
            str(run.payload["payment_reference"]),
            actor=actor,
            progress=lambda done, total: run.progress(done, total),
        )
        run.succeed(
            {
                "batch_id": batch.id,
                "reference": batch.reference,
                "lines": len(_included_lines(batch.id)),
                "totals": batch_totals(_included_lines(batch.id)),
            }
        )


background.register_kind(
    PAID_JOB_KIND,
    _run_mark_paid,
    title=_l("Marking a payout batch paid"),
    result_template="finance/_payout_job.html",
    # everyone in finance sees the batch, so its payment's progress too
    shared_with=lambda user: user.has_role(Role.FINANCE),
    seen_by=lambda user: user.has_role(Role.FINANCE),
)


def _entry_ids_of(batch_id: int) -> dict[int, list[int]]:
    ids: dict[int, list[int]] = {}
    for line_id, entry_id in db.session.execute(
        select(PayoutItem.line_id, PayoutItem.claimed_entry_id)
        .where(PayoutItem.batch_id == batch_id, PayoutItem.claimed_entry_id.is_not(None))
        .order_by(PayoutItem.id)
    ):
        assert entry_id is not None  # the WHERE
        ids.setdefault(line_id, []).append(entry_id)
    return ids


def _included_lines(batch_id: int) -> list[PayoutLine]:
    return list(
        db.session.scalars(
            select(PayoutLine)
            .where(PayoutLine.batch_id == batch_id, PayoutLine.status == LineStatus.INCLUDED)
            .order_by(PayoutLine.id)
        )
    )
