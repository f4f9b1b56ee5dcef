"""Referrals' periodic work on Celery beat (see ``perks.jobs.BEAT_SCHEDULE``)."""

from __future__ import annotations

from celery import shared_task

from perks.referrals.partitions import maintain_click_partitions as maintain_partitions
from perks.referrals.rollup import roll_up_clicks as roll_up


@shared_task(name="perks.referrals.roll_up_clicks")
def roll_up_clicks() -> int:
    """Roll up every complete day of clicks not yet rolled up (a row lock serialises hosts)."""
    return roll_up().days


@shared_task(name="perks.referrals.maintain_click_partitions")
def maintain_click_partitions() -> int:
    """PostgreSQL: make the coming months' click partitions, drop the expired ones whose days
    are rolled up (an advisory lock serialises hosts). Returns how many were dropped."""
    return len(maintain_partitions().dropped)


@shared_task(name="perks.referrals.refresh_overviews")
def refresh_overviews() -> int:
    """Company stats and fraud signals of every window the pages offer, computed and stored
    again (idempotent; ``perks.referrals.snapshots``). Returns how many were stored."""
    from perks.referrals.snapshots import refresh_all

    return refresh_all()
