"""Awards and nominations (perks.recognition.awards): HR's awards audited; managers nominate
only active people of their team; the nomination's state machine, every allowed and refused
transition; approval grants the gift once with its points and tells both people; a decline
needs a reason and tells the nominator."""

from __future__ import annotations

from datetime import date
from itertools import product

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from perks.audit import AuditEvent
from perks.catalog.models import Claim, CodeMode, PerkKind
from perks.errors import NotFound, NotPermitted, SoldOut, ValidationFailed
from perks.extensions import db
from perks.mail import OutboxMessage
from perks.notifications.models import Notification
from perks.people.models import Role
from perks.recognition import awards, points
from perks.recognition.awards import TRANSITIONS, AwardData, NominationRefused
from perks.recognition.models import Nomination, NominationState
from perks.recognition.points_models import PointsEntryKind
from perks.recognition.points_verify import verify_points
from tests.factories import PerkFactory, UserFactory

N = NominationState


@pytest.fixture(autouse=True)
def _in_english(app):  # type: ignore[no-untyped-def]
    with force_locale("en"):
        yield


@pytest.fixture
def hr():  # type: ignore[no-untyped-def]
    return UserFactory(roles={Role.HR})


@pytest.fixture
def manager():  # type: ignore[no-untyped-def]
    return UserFactory(roles={Role.MANAGER})


def award_data(**kwargs) -> AwardData:  # type: ignore[no-untyped-def]
    values = {
        "name_vi": "Nhân viên xuất sắc tháng",
        "name_en": "Employee of the month",
        "description_vi": "Cho người làm việc xuất sắc nhất tháng.",
        "description_en": "For the month's outstanding work.",
        "perk_id": None,
        "points": 100,
        **kwargs,
    }
    return AwardData(**values)


def gift_perk(**kwargs):  # type: ignore[no-untyped-def]
    return PerkFactory(kind=PerkKind.GIFT, per_person_limit=None, **kwargs)


def nominated(hr, manager, **award_kwargs) -> Nomination:  # type: ignore[no-untyped-def]
    award = awards.create_award(award_data(**award_kwargs), actor=hr)
    member = UserFactory(manager=manager, locale="vi")
    return awards.nominate(award.id, member.id, "Closed the year's biggest deal.", actor=manager)


def told() -> list[tuple[int, str]]:
    """(person id, kind) of every notification, oldest first."""
    rows = db.session.scalars(select(Notification).order_by(Notification.id))
    return [(n.user_id, n.kind) for n in rows]


def actions() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


# --- HR's awards ----------------------------------------------------------------------------


def test_hr_creates_and_changes_an_award_audited_with_old_and_new_values(hr):
    perk = gift_perk()
    award = awards.create_award(award_data(perk_id=perk.id), actor=hr)
    awards.update_award(award.id, award_data(perk_id=perk.id, points=250), actor=hr)
    assert (award.points, award.perk_id) == (250, perk.id)
    changed = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "recognition.award_changed")
    ).one()
    assert changed.details == {"changes": {"points": [100, 250]}}
    assert actions() == ["recognition.award_created", "recognition.award_changed"]


def test_awards_are_listed_active_first_as_vietnamese_is_alphabetised(hr):
    for name in ("Ý tưởng hay", "Đồng đội", "Ánh sao"):
        awards.create_award(award_data(name_vi=name), actor=hr)
    retired = awards.create_award(award_data(name_vi="Bền bỉ"), actor=hr)
    retired.active = False
    db.session.commit()
    assert [a.name_vi for a in awards.awards()] == ["Ánh sao", "Đồng đội", "Ý tưởng hay", "Bền bỉ"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name_en": " "}, "name_en"),
        ({"description_vi": ""}, "description_vi"),
        ({"points": -1}, "points"),
        ({"perk_id": 999_999}, "perk_id"),
    ],
)
def test_an_award_missing_a_language_or_with_a_bad_gift_or_points_is_refused(hr, change, field):
    with pytest.raises(ValidationFailed) as refused:
        awards.create_award(award_data(**change), actor=hr)
    assert refused.value.details["field"] == field


def test_a_perk_that_is_not_a_gift_cannot_be_an_awards_gift(hr):
    with pytest.raises(ValidationFailed):
        awards.create_award(
            award_data(perk_id=PerkFactory(kind=PerkKind.INTERNAL_VOUCHER).id), actor=hr
        )


# --- nominating -----------------------------------------------------------------------------


def test_a_manager_nominates_a_person_of_their_team_audited(hr, manager):
    nomination = nominated(hr, manager)
    assert nomination.state is N.PENDING
    assert nomination.nominator_id == manager.id
    assert actions()[-1] == "recognition.nomination_made"


def test_a_manager_cannot_nominate_someone_outside_their_team_or_inactive(hr, manager):
    award = awards.create_award(award_data(), actor=hr)
    stranger = UserFactory(manager=UserFactory(roles={Role.MANAGER}))
    gone = UserFactory(manager=manager, active=False)
    for person in (stranger, gone, manager):
        with pytest.raises(NotPermitted):
            awards.nominate(award.id, person.id, "Great work", actor=manager)
    assert db.session.scalar(select(func.count()).select_from(Nomination)) == 0


def test_someone_who_is_not_a_manager_cannot_nominate(hr):
    award = awards.create_award(award_data(), actor=hr)
    boss = UserFactory()
    member = UserFactory(manager=boss)
    with pytest.raises(NotPermitted):
        awards.nominate(award.id, member.id, "Great work", actor=boss)


def test_a_nomination_needs_a_reason_and_an_active_award(hr, manager):
    award = awards.create_award(award_data(), actor=hr)
    member = UserFactory(manager=manager)
    with pytest.raises(ValidationFailed) as refused:
        awards.nominate(award.id, member.id, "   ", actor=manager)
    assert refused.value.details["field"] == "reason"
    awards.update_award(award.id, award_data(active=False), actor=hr)
    with pytest.raises(ValidationFailed) as refused:
        awards.nominate(award.id, member.id, "Great work", actor=manager)
    assert refused.value.details["field"] == "award_id"


def test_a_second_nomination_while_the_first_is_pending_is_refused(hr, manager):
    """A manager who sent the form twice put the same person in HR's queue twice for one
    award, and approving both would grant the award's gift and points twice."""
    award = awards.create_award(award_data(), actor=hr)
    member = UserFactory(manager=manager, name="Phan Ngọc Tâm")
    first = awards.nominate(award.id, member.id, "Great work", actor=manager)

    with pytest.raises(ValidationFailed) as refused:
        awards.nominate(award.id, member.id, "Great work", actor=manager)

    assert refused.value.details["field"] == "nominee_id"
    assert "Phan Ngọc Tâm is already nominated for this award" in refused.value.message
    other = awards.create_award(award_data(name_en="Idea of the quarter"), actor=hr)
    awards.nominate(other.id, member.id, "A good idea", actor=manager)  # another award
    awards.approve(first.id, actor=hr)
    again = awards.nominate(award.id, member.id, "Again, next month", actor=manager)
    assert again.state is N.PENDING  # once HR has decided, a new nomination is welcome


# --- the state machine ----------------------------------------------------------------------


def test_the_transitions_are_exactly_pending_to_approved_declined_or_withdrawn():
    allowed = {(source, target) for target, sources in TRANSITIONS.items() for source in sources}
    assert allowed == {(N.PENDING, N.APPROVED), (N.PENDING, N.DECLINED), (N.PENDING, N.WITHDRAWN)}


@pytest.mark.parametrize(("source", "target"), list(product(N, N)))
def test_every_transition_is_allowed_or_refused_as_the_table_says(source, target):
    nomination = Nomination(state=source)
    if source is N.PENDING and target is not N.PENDING:
        awards.move(nomination, target)
        assert nomination.state is target
    else:
        with pytest.raises(NominationRefused):
            awards.move(nomination, target)
        assert nomination.state is source


@pytest.mark.parametrize("first", ["approve", "decline", "withdraw"])
@pytest.mark.parametrize("then", ["approve", "decline", "withdraw"])
def test_a_settled_nomination_cannot_be_settled_again(hr, manager, first, then):
    nomination = nominated(hr, manager)
    steps = {
        "approve": lambda: awards.approve(nomination.id, actor=hr),
        "decline": lambda: awards.decline(nomination.id, "Not this time", actor=hr),
        "withdraw": lambda: awards.withdraw(nomination.id, actor=manager),
    }
    steps[first]()
    # another reason: the same decline sent again is that decline (a double tap), not refused
    steps["decline"] = lambda: awards.decline(nomination.id, "Another reason", actor=hr)
    before = actions()
    with pytest.raises(NominationRefused):
        steps[then]()
    assert actions() == before
    assert db.session.scalar(select(func.count()).select_from(Claim)) == 0


# --- deciding -------------------------------------------------------------------------------


def test_approval_grants_the_gift_records_the_points_and_tells_both_people(hr, manager):
    perk = gift_perk(code_mode=CodeMode.POOL, codes=["STAR-1"])
    nomination = nominated(hr, manager, perk_id=perk.id, points=150)
    approved = awards.approve(nomination.id, actor=hr, today=date(2027, 1, 5))
    assert approved.state is N.APPROVED
    assert approved.points == 150
    assert approved.decided_by_id == hr.id
    assert approved.decided_on is not None
    claim = db.session.get(Claim, approved.claim_id)
    assert (claim.user_id, claim.code, claim.source) == (approved.nominee_id, "STAR-1", "gift")
    mail = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [m.recipient for m in mail] == [approved.nominee.email, manager.email]
    assert "STAR-1" in mail[0].body_text
    assert "Nhân viên xuất sắc tháng" in mail[0].subject
    assert "STAR-1" not in mail[1].body_text
    assert told() == [
        (approved.nominee_id, "award_received"),
        (manager.id, "nomination_approved"),
    ]
    assert awards.awards_of(approved.nominee) == [approved]
    assert actions()[-1] == "recognition.nomination_approved"
    # the points are the nominee's to spend, through the points ledger
    assert points.received_balance(approved.nominee_id) == 150
    (entry,) = points.history_page(approved.nominee_id, 1).items
    assert (entry.kind, entry.nomination_id) == (PointsEntryKind.AWARD, approved.id)
    assert verify_points().ok


def test_an_award_without_a_gift_is_approved_with_its_points_only(hr, manager):
    nomination = awards.approve(nominated(hr, manager, points=40).id, actor=hr)
    assert (nomination.claim_id, nomination.points) == (None, 40)
    assert points.received_balance(nomination.nominee_id) == 40
    # the winner's e-mail links to their points (it named them and no way to see them)
    mail = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert "Kèm theo 40 điểm thưởng." in mail[0].body_text  # in the winner's language
    assert "Xem điểm thưởng và các phần thưởng: http" in mail[0].body_text
    assert "/points" in mail[0].body_text
    assert "/points" not in mail[1].body_text  # the nominator's has none


def test_an_award_without_points_writes_no_ledger_entry(hr, manager):
    nomination = awards.approve(nominated(hr, manager, points=0).id, actor=hr)
    assert points.history_page(nomination.nominee_id, 1).items == []
    assert verify_points().ok


def test_approval_is_refused_whole_when_the_gift_is_sold_out(hr, manager):
    perk = gift_perk(code_mode=CodeMode.POOL, codes=[])
    nomination = nominated(hr, manager, perk_id=perk.id)
    with pytest.raises(SoldOut):
        awards.approve(nomination.id, actor=hr)
    db.session.expire_all()
    assert db.session.get(Nomination, nomination.id).state is N.PENDING
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_a_decline_needs_a_reason_and_tells_only_the_nominator_why(hr, manager):
    nomination = nominated(hr, manager)
    with pytest.raises(ValidationFailed):
        awards.decline(nomination.id, "  ", actor=hr)
    awards.decline(nomination.id, "Nominate again next quarter", actor=hr)
    assert nomination.state is N.DECLINED
    assert nomination.decision_reason == "Nominate again next quarter"
    mail = db.session.scalars(select(OutboxMessage)).all()
    assert [m.recipient for m in mail] == [manager.email]
    assert "Nominate again next quarter" in mail[0].body_text
    assert told() == [(manager.id, "nomination_declined")]
    assert awards.awards_of(nomination.nominee) == []


def test_only_hr_other_than_the_nominator_or_nominee_decides(hr, manager):
    nomination = nominated(hr, manager)
    hr_manager = UserFactory(roles={Role.HR, Role.MANAGER})
    own = awards.nominate(
        nomination.award_id, UserFactory(manager=hr_manager).id, "Great", actor=hr_manager
    )
    with pytest.raises(NotPermitted):
        awards.approve(nomination.id, actor=manager)
    with pytest.raises(NotPermitted):
        awards.approve(own.id, actor=hr_manager)
    with pytest.raises(NotPermitted):
        awards.decline(own.id, "No", actor=hr_manager)
    awards.approve(own.id, actor=hr)


def test_only_the_nominator_withdraws_and_only_while_pending(hr, manager):
    nomination = nominated(hr, manager)
    with pytest.raises(NotFound):
        awards.withdraw(nomination.id, actor=UserFactory(roles={Role.MANAGER}))
    awards.withdraw(nomination.id, actor=manager)
    assert nomination.state is N.WITHDRAWN
    assert actions()[-1] == "recognition.nomination_withdrawn"
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_no_award_for_someone_whose_leaving_date_has_come(hr, manager):
    """Still active until the leavers' task deactivates them (for good as the last
    administrator): approving gave someone who has left the award's code and points, and
    their manager could nominate them on their last day's evening."""
    from perks.errors import Conflict
    from perks.i18n import company_today

    nomination = nominated(hr, manager, perk_id=gift_perk().id, points=500)
    nomination.nominee.leaving_date = company_today()
    db.session.commit()

    with pytest.raises(Conflict, match="has left the company"):
        awards.approve(nomination.id, actor=hr)
    db.session.rollback()
    assert points.received_balance(nomination.nominee_id) == 0
    assert db.session.scalar(select(func.count()).select_from(Claim)) == 0

    another = awards.create_award(award_data(name_vi="Giải khác", name_en="Another"), actor=hr)
    with pytest.raises(NotPermitted):
        awards.nominate(another.id, nomination.nominee_id, "Một năm tuyệt vời.", actor=manager)
    assert nomination.nominee not in awards.team(manager)


def test_a_missing_nomination_is_not_found(hr):
    with pytest.raises(NotFound):
        awards.approve(999_999, actor=hr)


def test_a_nomination_of_someone_who_left_is_not_approved(hr, manager):
    """The nominee was deactivated while the nomination waited; approving it gave them the
    award's code and points all the same."""
    from perks.errors import Conflict
    from perks.people.services import deactivate_person

    nomination = nominated(hr, manager, perk_id=gift_perk().id, points=500)
    deactivate_person(nomination.nominee, actor=hr)

    with pytest.raises(Conflict, match="has left the company"):
        awards.approve(nomination.id, actor=hr)

    db.session.rollback()
    assert db.session.get(Nomination, nomination.id).state is NominationState.PENDING
    assert points.received_balance(nomination.nominee_id) == 0
    assert db.session.scalar(select(func.count()).select_from(Claim)) == 0
    awards.decline(nomination.id, "Đã nghỉ việc.", actor=hr)  # what is left to do


@pytest.mark.parametrize("gone", ["deactivated", "leaving date come"])
def test_a_nominator_who_has_left_is_not_told_of_the_decision(hr, manager, gone):
    """The manager left while their nomination waited: HR's reason for declining it (about a
    colleague still with the company) was e-mailed to them all the same, and so was the
    approval, though they can no longer sign in to read either."""
    from perks.i18n import company_today
    from perks.people.services import deactivate_person

    declined, approved = nominated(hr, manager), nominated(hr, manager)
    if gone == "deactivated":
        deactivate_person(manager, actor=hr)
    else:
        manager.leaving_date = company_today()
        db.session.commit()

    awards.decline(declined.id, "Không đủ tiêu chí về hiệu suất", actor=hr)
    awards.approve(approved.id, actor=hr)

    recipients = db.session.scalars(select(OutboxMessage.recipient)).all()
    assert manager.email not in recipients
    assert recipients == [approved.nominee.email]  # the winner is told, as ever
    assert [kind for person, kind in told() if person == manager.id] == []


def test_no_nomination_of_someone_who_has_not_started_yet(hr, manager):
    """HR imports a new hire ahead of their first day, their manager already set: the
    nomination form offered them, and HR's approval e-mailed them "Congratulations!" with the
    award's points before they had worked a day (kudos, gifts and surveys all count people
    from their hire date)."""
    from datetime import timedelta

    from perks.i18n import company_today

    award = awards.create_award(award_data(), actor=hr)
    newcomer = UserFactory(manager=manager, hire_date=company_today() + timedelta(days=10))
    assert newcomer not in awards.team(manager)
    with pytest.raises(NotPermitted):
        awards.nominate(award.id, newcomer.id, "Đã hỗ trợ bàn giao rất tốt.", actor=manager)
    assert db.session.scalar(select(func.count()).select_from(Nomination)) == 0
    starts_today = UserFactory(manager=manager, hire_date=company_today())
    assert starts_today in awards.team(manager)
