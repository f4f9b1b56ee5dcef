"""The feedback box's periodic work on Celery beat (see ``perks.jobs.BEAT_SCHEDULE``)."""

from __future__ import annotations

from celery import shared_task

from perks.catalog.claims import company_today
from perks.feedback import targets


@shared_task(name="perks.feedback.escalate_overdue")
def escalate_overdue() -> tuple[int, int]:
    """Tell owners of new items and escalate overdue ones to their managers, for today in
    the company's time zone (idempotent: once per item and target)."""
    result = targets.sweep(company_today())
    return result.owners_told, result.escalated
