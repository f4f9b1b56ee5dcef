"""Sessions' periodic upkeep on Celery beat (see ``perks.jobs.BEAT_SCHEDULE``)."""

from __future__ import annotations

from celery import shared_task

from perks.auth import services


@shared_task(name="perks.auth.purge_ended_sessions")
def purge_ended_sessions() -> int:
    """Delete sessions that ended over a month ago (idempotent, safe on several hosts)."""
    return services.purge_ended_sessions()
