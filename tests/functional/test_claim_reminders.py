"""Holders of unused claims are told a week before a claim's last day, once per claim, in
their language, on the bell and by e-mail; the tick and several hosts at once remind each
claim once."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine
from sqlalchemy import func, select, update

from perks.catalog.claims import (
    REMINDER_DAYS,
    claim_perk,
    mark_claim_used,
    remind_expiring_claims,
)
from perks.catalog.models import Claim
from perks.extensions import db
from perks.i18n import company_today, day_start
from perks.mail import OutboxMessage
from perks.notifications.models import Notification
from perks.people.models import User
from tests.factories import PerkFactory, UserFactory
from tests.helpers import is_postgres, login
from tests.racing import all_at_once

TODAY = date(2026, 12, 5)


def claim_ending(last_day: date, *, days_ago: int = 2, **person: object) -> Claim:
    """A claim of a perk whose last day is ``last_day``, made ``days_ago`` days before
    ``TODAY`` (at nine in the morning)."""
    perk = PerkFactory(
        ends_on=last_day, title_vi="Phiếu spa Sen Vàng", title_en="Sen Vang spa voucher"
    )
    claim = claim_perk(perk.id, UserFactory(**person), today=min(TODAY, last_day))
    db.session.execute(
        update(Claim)
        .where(Claim.id == claim.id)
        .values(claimed_at=day_start(TODAY - timedelta(days=days_ago)) + timedelta(hours=9))
    )
    db.session.commit()
    return claim


def reminded_people() -> list[int]:
    return list(
        db.session.scalars(
            select(Notification.user_id)
            .where(Notification.kind == "claim_expiring")
            .order_by(Notification.user_id)
        )
    )


def test_a_claim_is_reminded_once_a_week_before_its_last_day(app):
    due = claim_ending(TODAY + timedelta(days=REMINDER_DAYS))
    last_day = claim_ending(TODAY)
    later = claim_ending(TODAY + timedelta(days=REMINDER_DAYS + 1))
    ended = claim_ending(TODAY - timedelta(days=1))
    used = claim_ending(TODAY + timedelta(days=3))
    # used on TODAY: on the real clock its last day passes three days later, and it would
    # be refused then ("This claim ended on ...")
    with time_machine.travel(day_start(TODAY) + timedelta(hours=10), tick=False):
        mark_claim_used(used.id, used.user)
    just_made = claim_ending(TODAY + timedelta(days=3), days_ago=0)
    open_ended = claim_ending(TODAY)
    db.session.execute(update(Claim).where(Claim.id == open_ended.id).values(expires_on=None))
    db.session.commit()

    assert remind_expiring_claims(TODAY) == 2
    assert remind_expiring_claims(TODAY) == 0
    assert reminded_people() == sorted([due.user_id, last_day.user_id])
    assert db.session.get(Claim, due.id).reminded_on == TODAY
    for claim in (later, ended, used, just_made, open_ended):
        assert db.session.get(Claim, claim.id).reminded_on is None

    # the next day the later one's turn comes, and the one made yesterday: each once
    assert remind_expiring_claims(TODAY + timedelta(days=1)) == 2
    assert remind_expiring_claims(TODAY + timedelta(days=1)) == 0
    assert len(reminded_people()) == 4


def test_a_missed_run_is_caught_up_while_the_claim_has_days_left(app):
    claim = claim_ending(TODAY + timedelta(days=2))
    assert remind_expiring_claims(TODAY) == 1
    assert reminded_people() == [claim.user_id]


def test_the_holder_reads_it_in_their_language_and_gets_the_e_mail(app, client):
    claim = claim_ending(TODAY + timedelta(days=5), email="lan@example.com", locale="vi")
    remind_expiring_claims(TODAY)
    db.session.commit()

    (mail,) = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.recipient == "lan@example.com")
    )
    assert mail.subject.startswith("Hạn dùng đến hết ngày ")
    assert mail.subject.endswith(": Phiếu spa Sen Vàng")
    assert f"/my-perks/{claim.id}" in mail.body_text

    login(client, db.session.get(Claim, claim.id).user)
    page = client.get("/notifications").get_data(as_text=True)
    assert "Phiếu spa Sen Vàng" in page
    assert "Ngày cuối cùng bạn có thể dùng Phiếu spa Sen Vàng là" in page
    client.post("/language", data={"locale": "en"})
    page = client.get("/notifications").get_data(as_text=True)
    assert "Use it by " in page
    assert "is the last day you can use Sen Vang spa voucher" in page


def test_a_holder_who_left_is_not_told(app):
    claim = claim_ending(TODAY + timedelta(days=1))  # claimed, then left
    db.session.execute(update(User).where(User.id == claim.user_id).values(active=False))
    db.session.commit()
    assert remind_expiring_claims(TODAY) == 1
    assert reminded_people() == []
    assert db.session.get(Claim, claim.id).reminded_on == TODAY


def test_a_holder_whose_leaving_date_has_come_is_not_told(app):
    # the daily tick reminds before it applies the leaving dates: on their leaving day the
    # holder is still active (and for good when they are the last administrator)
    claim = claim_ending(TODAY + timedelta(days=1))
    db.session.execute(update(User).where(User.id == claim.user_id).values(leaving_date=TODAY))
    db.session.commit()
    assert remind_expiring_claims(TODAY) == 1
    assert reminded_people() == []
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_the_daily_tick_reminds_each_claim_once(app, runner):
    claim_ending(company_today() + timedelta(days=1))
    first = runner.invoke(args=["perks", "tick"])
    assert first.exit_code == 0, first.output
    assert "Claims reminded: 1" in first.output
    second = runner.invoke(args=["perks", "tick"])
    assert second.exit_code == 0, second.output
    assert "Claims reminded: 0" in second.output
    assert len(reminded_people()) == 1


HOSTS = 4


@pytest.mark.postgres_only
def test_racing_hosts_remind_each_claim_once(app):
    if not is_postgres(app):
        pytest.skip("racing runs need PostgreSQL (concurrent writers); set TEST_DATABASE_URL")
    for n in range(6):
        claim_ending(TODAY + timedelta(days=n))
    db.session.remove()
    outcome = all_at_once(app, range(HOSTS), lambda _host: remind_expiring_claims(TODAY))

    assert outcome.errors == []
    assert sum(outcome.results) == 6
    assert db.session.scalar(select(func.count(Notification.id))) == 6
    assert len(set(reminded_people())) == 6
