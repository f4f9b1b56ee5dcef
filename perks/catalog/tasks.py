"""The catalog's periodic work on Celery beat (see ``perks.jobs.BEAT_SCHEDULE``)."""

from __future__ import annotations

from celery import shared_task

from perks.catalog import claims, draws, leavers


@shared_task(name="perks.catalog.expire_claims")
def expire_claims() -> int:
    """Expire unused claims whose perk has ended (idempotent)."""
    return claims.expire_claims()


@shared_task(name="perks.catalog.remind_expiring_claims")
def remind_expiring_claims() -> int:
    """Remind holders of unused claims whose last day is near, once per claim (idempotent)."""
    return claims.remind_expiring_claims()


@shared_task(name="perks.catalog.run_due_draws")
def run_due_draws() -> int:
    """Freeze the entries of draws that have closed, then make every draw that can be made:
    a method 2 draw waits for HR to enter its public value (a draw made by another host is
    skipped). Returns how many draws were made."""
    draws.close_due_entries()
    return draws.make_due_draws()


@shared_task(name="perks.catalog.end_leavers_claims")
def end_leavers_claims() -> int:
    """End the unused claims of people whose leaving date has come, passing their draw seats
    to the waiting list, once each (safe from several hosts)."""
    return leavers.end_leavers_claims()
