"""Recognition's periodic work on Celery beat (see ``perks.jobs.BEAT_SCHEDULE``)."""

from __future__ import annotations

from celery import shared_task

from perks.i18n import company_today
from perks.recognition import gifts, points


@shared_task(name="perks.recognition.grant_due_gifts")
def grant_due_gifts() -> int:
    """Grant the gift programmes' gifts due today in the company's time zone, and those a
    missed run left (idempotent: once per programme, person and occasion year)."""
    return gifts.grant_due_gifts(company_today())


@shared_task(name="perks.recognition.settle_points_months")
def settle_points_months() -> tuple[int, int]:
    """Expire what ended months left of each allowance (every month a run missed, too) and
    credit this month's allowances, in the company's time zone (idempotent: once per person
    and month)."""
    return points.settle_months(company_today())
