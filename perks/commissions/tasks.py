"""Commissions' periodic work on Celery beat (see ``perks.jobs.BEAT_SCHEDULE``)."""

from __future__ import annotations

from celery import shared_task

from perks.commissions import leavers, lifecycle


@shared_task(name="perks.commissions.release_due")
def release_due() -> int:
    """Make earned commissions payable once their holding period is over (one conditional
    UPDATE: a commission moves once however many hosts run this at once)."""
    return lifecycle.release_due_commissions()


@shared_task(name="perks.commissions.settle_leavers")
def settle_leavers() -> int:
    """Apply the leaving dates that have come and the leaver policy to what matured since
    (a settlement row per leaver claims it: safe from several hosts); returns how many
    leavers were settled."""
    return leavers.settle_leavers().settled
