"""The award pages end to end: HR defines an award (400 with the reason on bad input), a
manager nominates a person of their team from their home's team card, HR declines one with a
reason (none: refused) and approves another from the queue, the winner sees the award on
their home, the manager withdraws a pending one; HR's fairness report in both languages."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from perks.catalog.models import CodeMode, PerkKind
from perks.extensions import db
from perks.people.models import Role
from perks.recognition.models import Award, Nomination, NominationState
from tests.factories import DepartmentFactory, PerkFactory, UserFactory
from tests.helpers import login
from tests.unit.recognition.helpers import idea_nominated_by


def _award_form(perk_id: int = 0, **changes: object) -> dict[str, object]:
    return {
        "name_vi": "Nhân viên xuất sắc tháng",
        "name_en": "Employee of the month",
        "description_vi": "Đóng góp nổi bật nhất tháng.",
        "description_en": "The month's outstanding contribution.",
        "perk_id": str(perk_id),
        "points": "100",
        "active": "y",
        **changes,
    }


def test_an_award_from_definition_to_the_winners_home(client):
    hr = UserFactory(roles={Role.HR}, locale="en")
    manager = UserFactory(roles={Role.MANAGER}, locale="en")
    winner = UserFactory(manager=manager, name="Phạm Thị Thắng", locale="en")
    other = UserFactory(manager=manager, name="Đỗ Văn Khác", locale="en")
    perk = PerkFactory(
        kind=PerkKind.GIFT, per_person_limit=None, code_mode=CodeMode.POOL, codes=["STAR-9"]
    )

    login(client, hr)
    assert client.post("/manage/awards/new", data=_award_form(name_en="")).status_code == 400
    assert client.post("/manage/awards/new", data=_award_form(perk.id)).status_code == 303
    award = db.session.scalars(select(Award)).one()
    edit = client.get(f"/manage/awards/{award.id}/edit").get_data(as_text=True)
    assert "Nhân viên xuất sắc tháng" in edit
    client.post("/logout")

    login(client, manager)
    home = client.get("/").get_data(as_text=True)
    assert f"/awards/nominate?person={winner.id}" in home
    form = client.get(f"/awards/nominate?person={winner.id}&award={award.id}")
    assert form.status_code == 200
    refused = client.post(
        "/awards/nominate", data={"award_id": award.id, "nominee_id": hr.id, "reason": "x"}
    )
    assert refused.status_code == 400  # not a person of their team: not even a choice
    for person in (winner, other):
        response = client.post(
            "/awards/nominate",
            data={"award_id": award.id, "nominee_id": person.id, "reason": "Great quarter"},
        )
        assert response.status_code == 303
    assert client.get("/awards/nominations").get_data(as_text=True).count(">Pending<") == 2
    client.post("/logout")

    won, declined = db.session.scalars(select(Nomination).order_by(Nomination.id)).all()
    login(client, hr)
    queue = client.get("/manage/nominations").get_data(as_text=True)
    assert "Phạm Thị Thắng" in queue
    assert "Great quarter" in queue
    assert (  # approving grants at once what cannot be taken back: the button asks first
        'data-confirm="Approve? Phạm Thị Thắng receives “Employee of the month” with its gift'
        ' and 100 points, at once; it cannot be undone."' in queue
    )
    client.post(f"/manage/nominations/{declined.id}/decline", data={"reason": ""})
    db.session.expire_all()
    assert declined.state is NominationState.PENDING
    client.post(f"/manage/nominations/{declined.id}/decline", data={"reason": "Next time"})
    assert client.post(f"/manage/nominations/{won.id}/approve").status_code == 303
    db.session.expire_all()
    assert (won.state, declined.state) == (NominationState.APPROVED, NominationState.DECLINED)
    again = client.post(f"/manage/nominations/{won.id}/approve", follow_redirects=True)
    assert "cannot become" in again.get_data(as_text=True)
    client.post("/logout")

    login(client, winner)
    home = client.get("/").get_data(as_text=True)
    assert 'data-testid="my-award"' in home
    assert "Employee of the month" in home
    assert f"/my-perks/{won.claim_id}" in home
    client.post("/logout")

    login(client, manager)
    mine = client.get("/awards/nominations").get_data(as_text=True)
    assert "Next time" in mine


def test_a_decline_reason_too_long_comes_back_saying_so_with_the_text_kept(client):
    # it redirected saying "Say why the nomination is declined." and the typed reason was lost
    award = Award(name_vi="Sáng kiến", name_en="Idea", points=10)
    db.session.add(award)
    db.session.commit()
    manager = UserFactory(roles={Role.MANAGER})
    nominations = [
        Nomination(
            award_id=award.id,
            nominee_id=UserFactory(manager=manager).id,
            nominator_id=manager.id,
            reason="Idea",
        )
        for _ in range(2)
    ]
    db.session.add_all(nominations)
    db.session.commit()
    chosen, other = nominations
    login(client, UserFactory(roles={Role.HR}, locale="vi"))
    reason = "Chưa đủ căn cứ. " * 130  # 2080 characters
    refused = client.post(f"/manage/nominations/{chosen.id}/decline", data={"reason": reason})
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    form = page.split(f'data-testid="decline-{chosen.id}"')[1].split("</form>")[0]
    assert "Trường này không được dài quá 2.000 ký tự." in form
    assert reason.strip() in form
    assert "Trường này" not in page.split(f'data-testid="decline-{other.id}"')[1]
    refused = client.post(f"/manage/nominations/{chosen.id}/decline", data={"reason": "  "})
    assert refused.status_code == 400
    assert "Hãy cho biết lý do từ chối đề cử." in refused.get_data(as_text=True)
    db.session.expire_all()
    assert chosen.state is NominationState.PENDING


def test_the_queue_says_when_the_nominee_already_received_the_award(client):
    # HR approved "Employee of the month" for the same person twice, with nothing to tell them
    award = Award(name_vi="Nhân viên xuất sắc tháng", name_en="Employee of the month", points=10)
    other_award = Award(name_vi="Sáng kiến", name_en="Idea", points=10)
    db.session.add_all([award, other_award])
    db.session.commit()
    manager = UserFactory(roles={Role.MANAGER})
    again, newcomer = UserFactory(manager=manager), UserFactory(manager=manager)

    def nominated(award_id: int, nominee_id: int, **decided: object) -> Nomination:
        nomination = Nomination(
            award_id=award_id,
            nominee_id=nominee_id,
            nominator_id=manager.id,
            reason="Great month",
            **decided,
        )
        db.session.add(nomination)
        db.session.commit()
        return nomination

    for day in (date(2026, 9, 30), date(2026, 10, 30)):
        nominated(award.id, again.id, state=NominationState.APPROVED, decided_on=day)
    nominated(award.id, newcomer.id, state=NominationState.DECLINED, decided_on=date(2026, 10, 30))
    nominated(
        other_award.id, newcomer.id, state=NominationState.APPROVED, decided_on=date(2026, 10, 30)
    )
    twice = nominated(award.id, again.id)
    first = nominated(award.id, newcomer.id)
    login(client, UserFactory(roles={Role.HR}, locale="en"))
    for locale, said in (
        ("en", f"{again.name} already received this award on 30 Oct 2026."),
        ("vi", f"{again.name} đã nhận danh hiệu này ngày 30 tháng 10, 2026."),
    ):
        client.post("/language", data={"locale": locale})
        queue = client.get("/manage/nominations").get_data(as_text=True)
        card = queue.split(f'data-testid="nomination-{twice.id}"')[1].split("</form>")[0]
        assert said in " ".join(card.split())
        # declined for this award, or approved for another: nothing to warn of
        assert f'data-testid="already-received-{first.id}"' not in queue


def test_a_manager_withdraws_a_pending_nomination_and_nobody_else_can(client):
    manager = UserFactory(roles={Role.MANAGER}, locale="en")
    award = Award(name_vi="Sáng kiến", name_en="Idea", points=10)
    db.session.add(award)
    db.session.commit()
    person = UserFactory(manager=manager)
    nomination = Nomination(
        award_id=award.id, nominee_id=person.id, nominator_id=manager.id, reason="Idea"
    )
    db.session.add(nomination)
    db.session.commit()
    login(client, UserFactory(roles={Role.MANAGER}))
    assert client.post(f"/awards/nominations/{nomination.id}/withdraw").status_code == 404
    client.post("/logout")
    login(client, manager)
    assert client.post(f"/awards/nominations/{nomination.id}/withdraw").status_code == 303
    db.session.expire_all()
    assert nomination.state is NominationState.WITHDRAWN


def test_the_fairness_report_merges_small_groups_in_both_languages(client, login_as):
    sales, legal = DepartmentFactory(name="Kinh doanh"), DepartmentFactory(name="Pháp chế")
    for _ in range(6):
        UserFactory(department=sales)
    UserFactory(department=legal, name="Lê Một Mình")
    login_as(Role.HR, department=sales)
    for locale, other in (("vi", "Các nhóm khác"), ("en", "Other groups")):
        client.post("/language", data={"locale": locale})
        page = client.get("/manage/fairness?year=2027").get_data(as_text=True)
        assert other in page
        assert (
            "Pháp chế"
            not in page.split('data-testid="dimension-department"')[1].split("</section>")[0]
        )
        assert "Lê Một Mình" in page  # received nothing: listed for HR
    narrowed = client.get(f"/manage/fairness?year=2027&department_id={legal.id}")
    assert 'data-testid="too-few"' in narrowed.get_data(as_text=True)


def test_the_fairness_report_downloads_as_csv_without_the_people_who_received_nothing(
    client, login_as
):
    sales = DepartmentFactory(name="Kinh doanh")
    for _ in range(6):
        UserFactory(department=sales, name="Người Chưa Nhận")
    login_as(Role.HR, department=sales, locale="en")
    client.post("/language", data={"locale": "en"})
    response = client.get("/manage/fairness.csv?year=2027")
    assert response.mimetype == "text/csv"
    assert "perks-fairness-2027.csv" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"  # HR's figures: kept by no cache
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")  # a BOM: Excel reads the Vietnamese names
    rows = body.decode("utf-8-sig").splitlines()
    assert rows[0] == "Dimension,Group,People,Gifts,Gift cost,Currency,Awards,Points"
    assert "Department,Kinh doanh,7,0,0,,0,0" in rows
    assert "Người Chưa Nhận" not in response.get_data(as_text=True)


def test_an_hr_person_nominated_by_their_manager_never_reads_their_own_nomination(client):
    # the queue showed an HR nominee their manager's reason while it waited, and the reason
    # another HR person gave for declining it: the nominee, who may not know of a nomination,
    # is never told of a decline
    award = Award(name_vi="Sáng kiến", name_en="Idea", points=10)
    db.session.add(award)
    db.session.commit()
    manager = UserFactory(roles={Role.MANAGER})
    nominee = UserFactory(roles={Role.HR}, manager=manager, locale="en")
    colleague = UserFactory(manager=manager)
    theirs = Nomination(
        award_id=award.id, nominee_id=nominee.id, nominator_id=manager.id, reason="Quiet hero"
    )
    other = Nomination(
        award_id=award.id, nominee_id=colleague.id, nominator_id=manager.id, reason="Big deal"
    )
    db.session.add_all([theirs, other])
    db.session.commit()

    login(client, nominee)
    queue = client.get("/manage/nominations").get_data(as_text=True)
    assert "Quiet hero" not in queue
    assert f'data-testid="nomination-{theirs.id}"' not in queue
    assert "Big deal" in queue  # the colleague's they decide as usual
    client.post("/logout")

    login(client, UserFactory(roles={Role.HR}))
    declined = client.post(
        f"/manage/nominations/{theirs.id}/decline", data={"reason": "Not this quarter"}
    )
    assert declined.status_code == 303
    client.post("/logout")

    login(client, nominee)
    assert "Not this quarter" not in client.get("/manage/nominations").get_data(as_text=True)


def test_a_manager_tells_two_namesakes_of_their_team_apart_when_nominating(client):
    # both read "Nguyễn Văn An" in the list: the manager could nominate the wrong one
    import re

    db.session.add(Award(name_vi="Sáng kiến", name_en="Idea", points=10))
    db.session.commit()
    manager = UserFactory(roles={Role.MANAGER}, locale="en")
    sales = DepartmentFactory(name="Sales")
    first = UserFactory(manager=manager, name="Nguyễn Văn An", department=sales)
    second = UserFactory(manager=manager, name="Nguyễn Văn An")
    UserFactory(manager=manager, name="Trần Thị Bình")

    login(client, manager)
    page = client.get("/awards/nominate").get_data(as_text=True)

    select = page.split('name="nominee_id"')[1].split("</select>")[0]
    labels = dict(re.findall(r'<option[^>]*value="(\d+)"[^>]*>([^<]*)</option>', select))
    assert labels[str(first.id)] != labels[str(second.id)]
    assert first.email in labels[str(first.id)]
    assert second.email in labels[str(second.id)]
    assert "Trần Thị Bình" in labels.values()  # nobody else's label grows


def test_an_hr_manager_is_offered_no_decision_on_their_own_nomination(client):
    # Approve and Decline were offered, and each answered "Another HR person decides"
    award = Award(name_vi="Sáng kiến", name_en="Idea", points=10)
    db.session.add(award)
    db.session.commit()
    hr_manager = UserFactory(roles={Role.HR, Role.MANAGER}, locale="en")
    mine = Nomination(
        award_id=award.id,
        nominee_id=UserFactory(manager=hr_manager).id,
        nominator_id=hr_manager.id,
        reason="Quiet hero",
    )
    manager = UserFactory(roles={Role.MANAGER})
    theirs = Nomination(
        award_id=award.id,
        nominee_id=UserFactory(manager=manager).id,
        nominator_id=manager.id,
        reason="Big deal",
    )
    db.session.add_all([mine, theirs])
    db.session.commit()

    login(client, hr_manager)
    page = client.get("/manage/nominations").get_data(as_text=True)

    own_card = page.split(f'data-testid="nomination-{mine.id}"')[1].split('class="col"')[0]
    assert "Quiet hero" in own_card
    assert f'data-testid="approve-{mine.id}"' not in page
    assert f'data-testid="decline-{mine.id}"' not in page
    assert "Another HR person decides on a nomination you are part of." in own_card
    assert f'data-testid="approve-{theirs.id}"' in page
    assert f'data-testid="decline-{theirs.id}"' in page


def test_a_nominator_no_longer_a_manager_opens_the_decision_on_their_nomination(client):
    """A manager nominated someone, then stopped being a manager; HR's decision told them in
    their notifications, whose link answered 403 with the reason nowhere to be read."""
    from perks.notifications.models import Notification
    from perks.people.models import UserRole

    manager = UserFactory(roles={Role.MANAGER}, locale="en")
    nomination = idea_nominated_by(manager)
    db.session.execute(
        UserRole.__table__.delete().where(
            UserRole.user_id == manager.id, UserRole.role == Role.MANAGER
        )
    )
    db.session.commit()
    login(client, UserFactory(roles={Role.HR}))
    declined = client.post(
        f"/manage/nominations/{nomination.id}/decline", data={"reason": "Not this quarter"}
    )
    assert declined.status_code in (302, 303)
    client.post("/logout")
    told = db.session.scalars(select(Notification).where(Notification.user_id == manager.id)).one()
    login(client, manager)
    client.post("/language", data={"locale": "en"})
    page = client.post(f"/notifications/{told.id}/open", follow_redirects=True)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'data-testid="nomination-{nomination.id}"' in html
    assert "Not this quarter" in html
    assert 'data-testid="new-nomination"' not in html  # no longer theirs to make


def test_an_approval_never_grants_more_than_the_queue_offered(client):
    """The queue asked "Approve? … receives “Idea” and 100 points"; another HR person raised
    the award to 5,000 points before the click, and the click granted 5,000: nothing the page
    sent said what the approver agreed to give."""
    hr = UserFactory(roles={Role.HR}, locale="en")
    manager = UserFactory(roles={Role.MANAGER})
    nomination = idea_nominated_by(manager, points=100)
    award = nomination.award
    login(client, hr)
    queue = client.get("/manage/nominations").get_data(as_text=True)
    assert "receives “Idea” and 100 points" in queue
    offered = queue.split('name="offered" value="')[1].split('"')[0]

    award.points = 5_000  # another HR person's change of the award, in between
    db.session.commit()
    refused = client.post(f"/manage/nominations/{nomination.id}/approve", data={"offered": offered})

    assert refused.status_code == 303
    db.session.expire_all()
    assert nomination.state is NominationState.PENDING
    queue = client.get("/manage/nominations").get_data(as_text=True)
    assert "“Idea” changed after this page showed it" in queue
    assert "receives “Idea” and 5,000 points" in queue
    offered = queue.split('name="offered" value="')[1].split('"')[0]
    client.post(f"/manage/nominations/{nomination.id}/approve", data={"offered": offered})
    db.session.expire_all()
    assert (nomination.state, nomination.points) == (NominationState.APPROVED, 5_000)


def test_the_approval_asks_with_one_point_or_none_as_it_reads(client):
    """An award of 1 point asked "… and 1 points", one of no points "… and 0 points", and one
    with a gift and no points "… with its gift and 0 points"."""
    manager = UserFactory(roles={Role.MANAGER})
    perk = PerkFactory(kind=PerkKind.GIFT, per_person_limit=None, code_mode=CodeMode.POOL)
    cases = {
        "One": (1, None, "Approve? {} receives “One” and 1 point, at once; it cannot be undone."),
        "None": (0, None, "Approve? {} receives “None” at once; it cannot be undone."),
        "Gift": (
            0,
            perk.id,
            "Approve? {} receives “Gift” with its gift, at once; it cannot be undone.",
        ),
        "Both": (
            1,
            perk.id,
            "Approve? {} receives “Both” with its gift and 1 point, at once; it cannot be undone.",
        ),
    }
    expected = []
    for name, (points, perk_id, said) in cases.items():
        award = Award(name_vi=name, name_en=name, points=points, perk_id=perk_id)
        nominee = UserFactory(manager=manager)
        db.session.add(award)
        db.session.commit()
        db.session.add(
            Nomination(
                award_id=award.id, nominee_id=nominee.id, nominator_id=manager.id, reason="Yes"
            )
        )
        db.session.commit()
        expected.append(said.format(nominee.name))
    login(client, UserFactory(roles={Role.HR}, locale="en"))
    queue = client.get("/manage/nominations").get_data(as_text=True)
    for said in expected:
        assert f'data-confirm="{said}"' in queue
    assert " 0 points" not in queue
    assert " 1 points" not in queue
    client.post("/language", data={"locale": "vi"})
    queue = client.get("/manage/nominations").get_data(as_text=True)
    assert " 0 điểm" not in queue


def test_a_past_years_fairness_report_says_its_year_not_this_year(client, login_as):
    """The 2025 report read "no gift, no award and no points this year" above its list of
    who received nothing in 2025: this year is another one."""
    for _ in range(6):
        UserFactory(hire_date=date(2020, 1, 1))
    login_as(Role.HR, locale="en")
    client.post("/language", data={"locale": "en"})
    page = client.get("/manage/fairness?year=2025").get_data(as_text=True)
    assert "no gift, no award and no points in 2025." in page
    assert "this year" not in page
    client.post("/language", data={"locale": "vi"})
    page = client.get("/manage/fairness?year=2025").get_data(as_text=True)
    assert "năm nay" not in page
    assert "trong năm 2025." in page


def test_a_decline_sent_twice_is_the_first_not_a_refusal(client):
    """A double tap on Decline (the button asks nothing first) sent the reason twice: the
    second answered "A nomination that is Declined cannot become Declined." beside the
    first's success, as if the decline had failed."""
    from perks.mail import OutboxMessage

    manager = UserFactory(roles={Role.MANAGER})
    nomination = idea_nominated_by(manager)
    hr = UserFactory(roles={Role.HR}, locale="en")
    login(client, hr)
    url = f"/manage/nominations/{nomination.id}/decline"
    client.post(url, data={"reason": "Next quarter"})
    again = client.post(url, data={"reason": "Next quarter"}, follow_redirects=True)
    page = again.get_data(as_text=True)
    assert "cannot become" not in page
    assert "The nomination is declined; the nominator is told why." in page
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 1
    # another HR person's decline, or another reason, is still refused
    other = client.post(url, data={"reason": "Another reason"}, follow_redirects=True)
    assert "cannot become" in other.get_data(as_text=True)
