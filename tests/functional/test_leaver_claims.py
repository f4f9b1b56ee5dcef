"""What becomes of a leaver's perks: the counter refuses their codes from their leaving date,
their unused claims end that day and their draw seats pass to the waiting list."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from perks.audit import AuditEvent
from perks.catalog import claims, draws, leavers
from perks.catalog.models import (
    Allocation,
    Claim,
    ClaimStatus,
    Draw,
    DrawEntry,
    EntryOutcome,
    PassedOver,
    Perk,
    PerkKind,
)
from perks.db import utcnow
from perks.errors import Conflict
from perks.extensions import db
from perks.i18n import company_today, format_day
from perks.notifications.models import Notification
from perks.people.models import Role, User
from tests import factories
from tests.helpers import is_postgres, make_draw, text_of
from tests.racing import all_at_once


def test_the_counter_refuses_the_code_of_someone_whose_leaving_date_has_come(client, login_as):
    holder = factories.UserFactory(name="Trần Thị Lan")
    claim = claims.claim_perk(factories.PerkFactory().id, holder)
    holder.leaving_date = company_today()  # still active: the leavers' task runs later
    db.session.commit()
    redeemer = factories.UserFactory(roles={Role.REDEEMER})

    with force_locale("en"), pytest.raises(Conflict) as refused:
        claims.redeem_claim(claim.reference, redeemer)
    with force_locale("en"):
        left = format_day(company_today())
        expected = f"Trần Thị Lan left the company on {left}: this claim can no longer be used."
    assert refused.value.message == expected
    db.session.refresh(claim)
    assert claim.status is ClaimStatus.CLAIMED  # the leavers' task ends it

    login_as(Role.REDEEMER)
    page = client.get("/redeem", query_string={"code": claim.reference})
    assert expected in text_of(page)
    assert 'data-testid="redeem-use"' not in page.get_data(as_text=True)


def test_the_counter_tells_a_vietnamese_clerk_in_vietnamese(client, login_as, vietnamese):
    holder = factories.UserFactory(name="Trần Thị Lan")
    claim = claims.claim_perk(factories.PerkFactory().id, holder)
    holder.leaving_date = company_today()
    db.session.commit()
    login_as(Role.REDEEMER, locale="vi")

    response = client.post("/redeem/use", data={"code": claim.reference})

    assert response.status_code == 409
    with force_locale("vi"):
        left = format_day(company_today())
    expected = vietnamese(
        "%(name)s left the company on %(date)s: this claim can no longer be used.",
        name="Trần Thị Lan",
        date=left,
    )
    assert expected in text_of(response)
    db.session.refresh(claim)
    assert claim.status is ClaimStatus.CLAIMED


def test_the_counter_refuses_the_code_of_someone_deactivated(client, login_as):
    holder = factories.UserFactory(name="Trần Thị Lan")
    claim = claims.claim_perk(factories.PerkFactory().id, holder)
    holder.active = False
    db.session.commit()
    redeemer = factories.UserFactory(roles={Role.REDEEMER})

    with force_locale("en"), pytest.raises(Conflict) as refused:
        claims.redeem_claim(claim.reference, redeemer)
    assert refused.value.message == (
        "Trần Thị Lan is no longer with the company: this claim can no longer be used."
    )


def _left_today(person: User) -> None:
    person.leaving_date = company_today()
    db.session.commit()


def _drawn_seat(entrants: int = 3) -> tuple[Perk, Draw, list[DrawEntry]]:
    """A one-seat draw, made: the winner first, then the waiting list."""
    perk = factories.PerkFactory(
        allocation=Allocation.DRAW, kind=PerkKind.EXPERIENCE, total_stock=1
    )
    close = utcnow() + timedelta(hours=1)
    hr = factories.UserFactory(roles={Role.HR})
    draw = draws.open_draw(perk.id, entries_close_at=close, decline_days=3, actor=hr)
    for _ in range(entrants):
        draws.enter_draw(perk.id, factories.UserFactory())
    make_draw(draw.id, close)
    return perk, draw, draws.draw_entries(draw.id)


def test_a_leavers_unused_claims_end_on_their_leaving_date(runner):
    holder = factories.UserFactory()
    counted = factories.PerkFactory(total_stock=5)
    unlimited = factories.PerkFactory()
    kept = factories.PerkFactory()
    unused = claims.claim_perk(counted.id, holder)
    voucher = claims.claim_perk(unlimited.id, holder)
    used = claims.claim_perk(kept.id, holder)
    claims.mark_claim_used(used.id, holder)
    colleague = factories.UserFactory()
    colleagues = claims.claim_perk(counted.id, colleague)
    leaving_tomorrow = factories.UserFactory(leaving_date=company_today() + timedelta(days=1))
    not_yet = claims.claim_perk(counted.id, leaving_tomorrow)
    _left_today(holder)

    result = runner.invoke(args=["perks", "tick"])

    assert result.exit_code == 0, result.output
    assert "Leavers' claims ended: 2" in result.output
    status = {
        c.id: db.session.get(Claim, c.id, populate_existing=True).status
        for c in (unused, voucher, used, colleagues, not_yet)
    }
    assert status == {
        unused.id: ClaimStatus.CANCELLED,
        voucher.id: ClaimStatus.CANCELLED,
        used.id: ClaimStatus.USED,
        colleagues.id: ClaimStatus.CLAIMED,
        not_yet.id: ClaimStatus.CLAIMED,
    }
    db.session.refresh(counted)
    assert counted.remaining_stock == 5 - 2  # the leaver's unit is back for someone else
    assert leavers.end_leavers_claims() == 0  # once
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "catalog.leaver_claim_ended")
    ).all()
    assert sorted(int(e.target_id) for e in events) == sorted([unused.id, voucher.id])


def test_a_leavers_won_seat_passes_to_the_first_on_the_waiting_list_once(app):
    perk, draw, (winner, second, third) = _drawn_seat()
    assert (winner.outcome, second.outcome) == (EntryOutcome.WON, EntryOutcome.WAITING)
    seat = winner.claim_id
    _left_today(winner.user)

    assert leavers.end_leavers_claims() == 1
    assert leavers.end_leavers_claims() == 0

    winner, second, third = draws.draw_entries(draw.id)
    assert (winner.outcome, winner.passed_over) == (EntryOutcome.LAPSED, PassedOver.LEFT)
    assert db.session.get(Claim, seat).status is ClaimStatus.CANCELLED
    assert second.outcome is EntryOutcome.WON
    new_seat = db.session.get(Claim, second.claim_id)
    assert (new_seat.user_id, new_seat.status) == (second.user_id, ClaimStatus.CLAIMED)
    assert third.outcome is EntryOutcome.WAITING
    told = db.session.scalars(
        select(Notification.user_id).where(Notification.kind == "draw_won")
    ).all()
    assert sorted(told) == sorted([winner.user_id, second.user_id])
    db.session.refresh(perk)
    assert perk.remaining_stock == 0
    assert draws.verify_draw(draw.id).ok


def test_a_leavers_seat_with_nobody_waiting_goes_back_to_stock(app):
    perk, _draw, (winner,) = _drawn_seat(entrants=1)
    _left_today(winner.user)
    assert leavers.end_leavers_claims() == 1
    db.session.refresh(perk)
    assert perk.remaining_stock == 1


def test_on_several_hosts_at_once_a_leavers_seat_passes_on_once(app):
    """PostgreSQL: four runs racing, each with its own connection."""
    if not is_postgres(app):
        pytest.skip("racing runs need PostgreSQL's concurrent writers; set TEST_DATABASE_URL")
    _perk, draw, (winner, *_waiting) = _drawn_seat()
    holder = factories.UserFactory()
    claims.claim_perk(factories.PerkFactory(total_stock=3).id, holder)
    _left_today(winner.user)
    _left_today(holder)
    draw_id = draw.id
    db.session.remove()

    outcome = all_at_once(app, range(4), lambda _host: leavers.end_leavers_claims())

    assert outcome.errors == []
    assert sum(outcome.results) == 2
    outcomes = [entry.outcome for entry in draws.draw_entries(draw_id)]
    assert outcomes == [EntryOutcome.LAPSED, EntryOutcome.WON, EntryOutcome.WAITING]
    assert (
        db.session.scalar(
            select(func.count()).select_from(Notification).where(Notification.kind == "draw_won")
        )
        == 2
    )
