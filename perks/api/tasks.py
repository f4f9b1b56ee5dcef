"""The API's periodic upkeep on Celery beat (see ``perks.jobs.BEAT_SCHEDULE``)."""

from __future__ import annotations

from celery import shared_task

from perks.api import idempotency


@shared_task(name="perks.api.forget_old_keys")
def forget_old_keys() -> int:
    """Delete the answers kept for ``Idempotency-Key`` longer than their 24 hours
    (idempotent, safe on several hosts)."""
    return idempotency.forget_old_keys()
