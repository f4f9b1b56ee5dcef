"""Kudos and points pages: giving kudos from the form (400 with the reason when refused), my
points showing only the viewer's own balances and history, spending points on a reward, HR's
settings and values, a programme of points from HR's form, and the navigation's links."""

from __future__ import annotations

from datetime import date

import pytest
from babel.dates import format_date
from sqlalchemy import select

from perks.catalog.models import Claim
from perks.extensions import db
from perks.i18n import company_today
from perks.mail import OutboxMessage
from perks.money import Money
from perks.people.models import Role, User
from perks.recognition import awards, gifts, kudos, points, services
from perks.recognition.awards import AwardData
from perks.recognition.gifts import Due, ProgrammeData
from perks.recognition.models import GiftProgramme, Occasion
from perks.recognition.points_models import CompanyValue
from tests.factories import CompanyValueFactory, DepartmentFactory, PerkFactory, UserFactory


def test_a_person_gives_kudos_from_the_form(client, login_as):
    me = login_as(Role.EMPLOYEE, locale="en")
    colleague = UserFactory(name="Trần Thị Đồng")
    value = CompanyValueFactory(name_en="Teamwork")

    page = client.get("/kudos/new").get_data(as_text=True)
    assert "Teamwork" in page
    assert me.name not in page.split('data-testid="kudos-form"')[1]  # not to oneself

    form = {"colleague": "tran thi dong", "points": "20", "value": value.id, "message": "Cảm ơn!"}
    response = client.post("/kudos/new", data=form)
    assert response.status_code == 303
    assert points.received_balance(colleague.id) == 20
    assert "You gave Trần Thị Đồng 20 points." in client.get(response.headers["Location"]).text
    # the same form sent again (a double tap) gives nothing more
    again = client.post("/kudos/new", data=form, follow_redirects=True)
    assert "You gave Trần Thị Đồng 20 points." in again.text
    assert points.received_balance(colleague.id) == 20
    one = client.post("/kudos/new", data={**form, "points": "1"}, follow_redirects=True)
    assert "You gave Trần Thị Đồng 1 point." in one.text

    too_many = client.post("/kudos/new", data={**form, "points": "80"})
    assert too_many.status_code == 400
    assert "79 points left" in too_many.get_data(as_text=True)
    over_pair = client.post("/kudos/new", data={**form, "points": "30"})
    assert "you can give Trần Thị Đồng 29 more" in over_pair.get_data(as_text=True)


def test_the_kudos_form_lists_nobody_until_a_colleague_is_searched(client, login_as):
    login_as(Role.EMPLOYEE, locale="en")
    UserFactory(name="Trần Thị Đồng")
    CompanyValueFactory(name_en="Teamwork")

    page = client.get("/kudos/new").get_data(as_text=True)

    assert "Trần Thị Đồng" not in page  # no list of the whole company, nobody preselected
    assert 'name="colleague"' in page
    assert 'type="radio"' not in page
    assert "selected" not in page.split('name="value"')[0]


def test_namesakes_are_told_apart_by_department_and_nobody_is_chosen_for_the_giver(
    client, login_as
):
    login_as(Role.EMPLOYEE, locale="en")
    sales, support = DepartmentFactory(name="Kinh doanh"), DepartmentFactory(name="Hỗ trợ")
    first = UserFactory(name="Nguyễn Văn An", department=sales, email="an.kd@example.com")
    second = UserFactory(name="Nguyễn Văn An", department=support, email="an.ht@example.com")
    value = CompanyValueFactory()
    form = {"colleague": "NGUYEN VAN AN", "points": "5", "value": value.id, "message": "Cảm ơn!"}

    several = client.post("/kudos/new", data=form)

    assert several.status_code == 400
    page = several.get_data(as_text=True)
    assert "Several colleagues match “NGUYEN VAN AN”: choose one below." in page
    choices = page.split('data-testid="colleague-choices"')[1]
    assert "Nguyễn Văn An · Kinh doanh · an.kd@example.com" in choices
    assert "Nguyễn Văn An · Hỗ trợ · an.ht@example.com" in choices
    assert "checked" not in choices
    assert points.received_balance(first.id) == points.received_balance(second.id) == 0

    chosen = client.post("/kudos/new", data={**form, "recipient": second.id})

    assert chosen.status_code == 303
    assert points.received_balance(second.id) == 5
    assert points.received_balance(first.id) == 0


@pytest.mark.parametrize("recipient", ["abc", "-1", "0", str(2**31), str(2**63)])
def test_a_kudos_recipient_no_person_can_have_is_refused_not_an_error(client, login_as, recipient):
    """The recipient's number went to the database as it came: on PostgreSQL, any from
    2**31 up failed the statement ("integer out of range", a 500)."""
    login_as(Role.EMPLOYEE, locale="en")
    form = {"colleague": "", "points": "5", "value": CompanyValueFactory().id, "message": "Hi"}
    refused = client.post("/kudos/new", data={**form, "recipient": recipient})
    assert refused.status_code == 400
    assert "Choose a colleague" in refused.get_data(as_text=True)


def test_the_kudos_form_says_in_the_readers_language_when_nobody_matches(client, login_as):
    login_as(Role.EMPLOYEE, locale="vi")
    value = CompanyValueFactory()
    form = {"colleague": "Không Ai Cả", "points": "5", "value": value.id, "message": "Cảm ơn!"}

    nobody = client.post("/kudos/new", data=form).get_data(as_text=True)
    empty = client.post("/kudos/new", data={**form, "colleague": ""}).get_data(as_text=True)

    assert "Không đồng nghiệp nào khớp với “Không Ai Cả”" in nobody
    assert "Hãy chọn một đồng nghiệp: gõ một phần tên rồi chọn người đó." in empty


def test_kudos_search_lists_a_few_and_finds_by_email_and_never_oneself(client, login_as):
    me = login_as(Role.EMPLOYEE, locale="en", name="Lê Thị Mai")
    for n in range(kudos.COLLEAGUES_SHOWN + 2):
        UserFactory(name=f"Lê Thị Mai {n:02d}", email=f"mai{n:02d}@example.com")
    UserFactory(name="Lê Thị Mai Rời", active=False)
    value = CompanyValueFactory()
    form = {"colleague": "le thi mai", "points": "5", "value": value.id, "message": "Cảm ơn!"}

    page = client.post("/kudos/new", data=form).get_data(as_text=True)

    choices = page.split('data-testid="colleague-choices"')[1]
    assert choices.count('type="radio"') == kudos.COLLEAGUES_SHOWN
    assert 'data-testid="more-colleagues"' in choices
    assert me.email not in choices
    assert "Rời" not in choices

    by_email = client.post("/kudos/new", data={**form, "colleague": "MAI03@example.com"})
    assert by_email.status_code == 303
    assert (
        points.received_balance(
            db.session.scalar(select(User.id).where(User.email == "mai03@example.com"))
        )
        == 5
    )


def test_the_kudos_form_names_the_colleague_back_when_another_field_is_wrong(client, login_as):
    login_as(Role.EMPLOYEE, locale="en")
    UserFactory(name="Trần Thị Đồng", email="dong@example.com")
    value = CompanyValueFactory()
    form = {"colleague": "đồng", "points": "5", "value": value.id, "message": ""}

    page = client.post("/kudos/new", data=form).get_data(as_text=True)

    assert 'value="Trần Thị Đồng &lt;dong@example.com&gt;"' in page
    again = client.post(
        "/kudos/new",
        data={**form, "colleague": "Trần Thị Đồng <dong@example.com>", "message": "Cảm ơn!"},
    )
    assert again.status_code == 303


def test_my_points_shows_only_my_own_balances_and_history(client, login_as):
    me = login_as(Role.EMPLOYEE, locale="en")
    value = CompanyValueFactory()
    giver, stranger, other = UserFactory(name="Người Tặng"), UserFactory(), UserFactory()
    today = company_today()
    kudos.give_kudos(giver, me.id, 15, value.id, "Cảm ơn bạn nhiều", today=today)
    kudos.give_kudos(stranger, other.id, 40, value.id, "Bí mật của người khác", today=today)

    page = client.get("/points").get_data(as_text=True)

    assert 'data-testid="received-balance">15<' in page
    assert "Cảm ơn bạn nhiều" in page
    assert "Người Tặng" in page
    assert "Bí mật của người khác" not in page
    history = page.split('data-testid="points-history"')[1].split("</table>")[0]
    assert "40" not in history
    # no page takes another person's id
    assert client.get(f"/points?user_id={other.id}").get_data(as_text=True).count("+40") == 0


def test_a_person_spends_points_on_a_reward(client, login_as):
    me = login_as(Role.EMPLOYEE, locale="en")
    kudos.give_kudos(
        UserFactory(), me.id, 50, CompanyValueFactory().id, "Giỏi!", today=company_today()
    )
    reward = PerkFactory(points_price=40, title_en="Coffee for the team", per_person_limit=None)
    dear = PerkFactory(points_price=400, title_en="A trip")

    page = client.get("/rewards").get_data(as_text=True)
    assert "Coffee for the team" in page
    assert "350 more points needed" in page

    response = client.post(f"/rewards/{reward.id}/spend")
    assert response.status_code == 303
    assert "/my-perks/" in response.headers["Location"]
    assert points.received_balance(me.id) == 10

    refused = client.post(f"/rewards/{reward.id}/spend", follow_redirects=True)
    assert "costs 40 points; you have 10" in refused.get_data(as_text=True)
    assert client.post(f"/rewards/{PerkFactory().id}/spend").status_code == 404
    assert client.post(f"/rewards/{dear.id}/spend").status_code == 303
    assert points.received_balance(me.id) == 10


def test_a_reward_the_person_cannot_buy_now_says_why_instead_of_offering_to_spend(client, login_as):
    """The page offered "Spend 150 points" on a reward whose monthly limit the person had
    used, or that was sold out, and said why only after they confirmed spending."""
    me = login_as(Role.EMPLOYEE, locale="en")
    kudos.give_kudos(
        UserFactory(), me.id, 50, CompanyValueFactory().id, "Giỏi!", today=company_today()
    )
    once = PerkFactory(points_price=10, title_en="Afternoon off", per_person_limit=1)
    PerkFactory(points_price=10, title_en="Tea", total_stock=1, remaining_stock=0)
    client.post(f"/rewards/{once.id}/spend")

    page = client.get("/rewards").get_data(as_text=True)

    assert points.received_balance(me.id) == 40
    assert 'data-testid="spend"' not in page
    assert page.count('data-testid="reward-reason"') == 2
    assert "Limit reached." in page
    client.post("/language", data={"locale": "vi"})
    assert "Đã hết suất." in client.get("/rewards").get_data(as_text=True)


def test_a_reward_that_ends_says_its_last_day_and_that_its_points_are_not_given_back(
    client, login_as
):
    """A reward's code ends with its perk and the points it cost are not given back: the
    page said neither, so a person could spend 150 points on a reward ending tomorrow."""
    me = login_as(Role.EMPLOYEE, locale="en")
    kudos.give_kudos(
        UserFactory(), me.id, 50, CompanyValueFactory().id, "Giỏi!", today=company_today()
    )
    PerkFactory(points_price=40, title_en="Coffee", ends_on=date(2099, 1, 31))
    PerkFactory(points_price=30, title_en="Tea", ends_on=None)

    page = client.get("/rewards").get_data(as_text=True)

    assert page.count('data-testid="reward-ends"') == 1
    assert (
        "Use it by 31 Jan 2099. Points spent on a reward not used by then are not given back."
        in page
    )
    assert "Use it by 31 Jan 2099: the points are not given back after that day." in page
    client.post("/language", data={"locale": "vi"})
    page = client.get("/rewards").get_data(as_text=True)
    assert "Dùng trước hết ngày 31 tháng 1, 2099." in page


def test_a_reward_is_not_claimed_free_from_the_catalog(client, login_as):
    me = login_as(Role.EMPLOYEE, locale="en")
    kudos.give_kudos(
        UserFactory(), me.id, 50, CompanyValueFactory().id, "Giỏi!", today=company_today()
    )
    reward = PerkFactory(points_price=40, title_en="Coffee for the team", per_person_limit=None)

    listing = client.get("/perks").get_data(as_text=True)
    assert "Reward: 40 points" in listing
    page = client.get(f"/perks/{reward.id}").get_data(as_text=True)
    assert "it costs 40 points" in page
    assert 'data-testid="claim"' not in page
    assert 'href="/rewards"' in page

    refused = client.post(f"/perks/{reward.id}/claim")
    assert refused.status_code == 403
    assert "spend your points on it on the Rewards page" in refused.get_data(as_text=True)
    assert db.session.scalars(select(Claim).where(Claim.user_id == me.id)).all() == []
    assert points.received_balance(me.id) == 50


def test_hr_sets_the_allowances_and_the_values(client, login_as):
    login_as(Role.HR, locale="en")
    form = {
        "monthly_allowance": "120",
        "pair_monthly_limit": "40",
        "point_value": "2000",
        "role_manager": "250",
        "role_employee": "",
    }
    assert client.get("/manage/points").status_code == 200
    form["shown"] = kudos.shown_points_fingerprint(services.current_settings())
    assert client.post("/manage/points", data=form).status_code == 303
    saved = services.current_settings()
    assert (saved.monthly_allowance, saved.pair_monthly_limit, saved.point_value) == (120, 40, 2000)
    assert saved.role_allowances == {"manager": 250}
    assert (
        client.post("/manage/points", data={**form, "pair_monthly_limit": "0"}).status_code == 400
    )

    assert (
        client.post(
            "/manage/points/values/new",
            data={"name_vi": "Sáng tạo", "name_en": "Creativity", "active": "y"},
        ).status_code
        == 303
    )
    value = db.session.scalars(select(CompanyValue)).one()
    assert (
        client.post(
            f"/manage/points/values/{value.id}/edit",
            data={
                "name_vi": "Sáng tạo",
                "name_en": "",
                "shown": kudos.shown_value_fingerprint(value),
            },
        ).status_code
        == 400
    )
    assert (
        client.post(
            f"/manage/points/values/{value.id}/edit",
            data={
                "name_vi": "Sáng tạo",
                "name_en": "Ideas",
                "shown": kudos.shown_value_fingerprint(value),
            },
        ).status_code
        == 303
    )
    db.session.refresh(value)
    assert (value.name_en, value.active) == ("Ideas", False)
    assert "Ideas" in client.get("/manage/points").get_data(as_text=True)


def test_hr_makes_a_programme_of_points(client, login_as):
    login_as(Role.HR, locale="en")
    services.add_vietnamese_calendar(actor=None)
    birthday = db.session.scalars(select(Occasion).where(Occasion.key == "birthday")).one()
    form = {
        "name_vi": "Điểm sinh nhật",
        "name_en": "Birthday points",
        "occasion_id": str(birthday.id),
        "perk_id": "",
        "points": "150",
        "days_ahead": "0",
        "message_vi": "Chúc mừng sinh nhật!",
        "message_en": "Happy birthday!",
        "unit_cost": "",
        "budget": "",
        "min_tenure_days": "0",
        "gender": "",
    }
    assert client.post("/manage/gifts/new", data={**form, "points": ""}).status_code == 400
    assert client.post("/manage/gifts/new", data=form).status_code == 303
    programme = db.session.scalars(select(GiftProgramme)).one()
    assert (programme.perk_id, programme.points, programme.unit_cost_amount) == (None, 150, 150_000)
    assert "150 points" in client.get("/manage/gifts").get_data(as_text=True)
    assert client.get(f"/manage/gifts/{programme.id}/edit").status_code == 200

    # a new worth of a point applies to a programme when it is saved again, and the
    # settings page says so (HR took it for every programme's budget at once)
    settings_page = client.get("/manage/points").get_data(as_text=True)
    assert "A programme keeps the worth it was saved with: save it again" in settings_page
    client.post(
        "/manage/points",
        data={
            "monthly_allowance": "100",
            "pair_monthly_limit": "50",
            "point_value": "2000",
            "shown": kudos.shown_points_fingerprint(services.current_settings()),
        },
    )
    db.session.refresh(programme)
    assert programme.unit_cost_amount == 150_000
    saved_again = {**form, "row_version": str(programme.row_version)}
    assert client.post(f"/manage/gifts/{programme.id}/edit", data=saved_again).status_code == 303
    db.session.refresh(programme)
    assert programme.unit_cost_amount == 300_000


def test_everyone_finds_the_points_pages_in_the_navigation(client, login_as):
    login_as(Role.EMPLOYEE)
    assert 'href="/points"' in client.get("/").get_data(as_text=True)


def test_verify_points_agrees_then_names_a_forged_entry(runner):
    from perks.recognition.points_models import PointsEntryKind

    value = CompanyValueFactory()
    giver, colleague = UserFactory(), UserFactory()
    given = kudos.give_kudos(giver, colleague.id, 25, value.id, "Cảm ơn!", today=company_today())

    agreed = runner.invoke(args=["perks", "verify-points"])
    assert agreed.exit_code == 0, agreed.output
    assert "Checked 3 points entries, 1 kudos, 2 people." in agreed.output

    points.append_entry(
        user_id=colleague.id, kind=PointsEntryKind.RECEIVED, points=25, kudos_id=given.id
    )
    db.session.commit()
    forged = runner.invoke(args=["perks", "verify-points"])
    assert forged.exit_code == 1
    assert f"person {colleague.id}: received entries sum to 50" in forged.output


def test_my_points_history_names_the_month_the_reward_and_the_award_in_my_language(
    client, login_as
):
    hr = UserFactory(roles={Role.HR})
    manager = UserFactory(roles={Role.MANAGER})
    me = login_as(Role.EMPLOYEE, locale="en", manager=manager)
    today = company_today()
    kudos.give_kudos(me, UserFactory().id, 5, CompanyValueFactory().id, "Cảm ơn!", today=today)
    kudos.give_kudos(UserFactory(), me.id, 50, CompanyValueFactory().id, "Giỏi!", today=today)
    reward = PerkFactory(points_price=40, title_vi="Cà phê cả nhóm", title_en="Team coffee")
    kudos.spend_points(reward.id, me, today=today)
    award = awards.create_award(
        AwardData("Sáng kiến của quý", "Idea of the quarter", "Mô tả", "Description", None, 10),
        actor=hr,
    )
    nominated = awards.nominate(award.id, me.id, "Lý do", actor=manager)
    awards.approve(nominated.id, actor=hr)

    page = client.get("/points").get_data(as_text=True)

    month_en = format_date(today, "MMMM y", locale="en_GB")
    assert f'data-testid="points-month">{month_en}<' in page
    assert f"{today:%Y-%m}" not in page.split('data-testid="points-history"')[1]
    assert 'data-testid="points-reward">Team coffee<' in page
    assert 'data-testid="points-award">Idea of the quarter<' in page
    client.post("/language", data={"locale": "vi"})
    page = client.get("/points").get_data(as_text=True)
    assert f'data-testid="points-month">Tháng {today.month}/{today.year}<' in page
    assert 'data-testid="points-reward">Cà phê cả nhóm<' in page
    assert 'data-testid="points-award">Sáng kiến của quý<' in page


def test_my_points_history_names_the_programme_of_a_gift_of_points(client, login_as):
    """A gift of points said only "Gift of points": which programme's, the person could not
    tell (a birthday's, Tết's)."""
    hr = UserFactory(roles={Role.HR})
    me = login_as(Role.EMPLOYEE, locale="en")
    services.add_vietnamese_calendar(actor=None)
    tet = db.session.scalars(select(Occasion).where(Occasion.key == "tet")).one()
    programme = gifts.create_programme(
        ProgrammeData(
            name_vi="Lì xì Tết",
            name_en="Tết lucky money",
            occasion_id=tet.id,
            perk_id=None,
            points=88,
            days_ahead=0,
            message_vi="Chúc mừng năm mới!",
            message_en="Happy new year!",
            unit_cost=Money(0, "VND"),
            budget=None,
        ),
        actor=hr,
    )
    on = date(2027, 2, 6)
    assert gifts._grant(Due(programme, me, on), on)

    page = client.get("/points").get_data(as_text=True)

    assert 'data-testid="points-gift">Tết lucky money<' in page
    client.post("/language", data={"locale": "vi"})
    page = client.get("/points").get_data(as_text=True)
    assert 'data-testid="points-gift">Lì xì Tết<' in page


def test_my_points_history_goes_back_page_by_page(client, login_as):
    """The history showed the latest 50 entries and nothing older, with no word of it: the
    rows no longer added up to the balance."""
    from perks.recognition.points_models import PointsEntryKind

    me = login_as(Role.EMPLOYEE, locale="en")
    for n in range(points.HISTORY_LENGTH + 3):
        points.append_entry(
            user_id=me.id,
            kind=PointsEntryKind.ALLOWANCE,
            points=n + 1,
            month=f"{2000 + n // 12:04d}-{n % 12 + 1:02d}",
        )
    db.session.commit()

    first = client.get("/points").get_data(as_text=True)
    assert first.count('data-testid="points-entry"') == points.HISTORY_LENGTH
    assert "Page 1 of 2" in first
    assert 'href="/points?page=2"' in first
    second = client.get("/points?page=2").get_data(as_text=True)
    assert second.count('data-testid="points-entry"') == 3
    assert ">+1<" in second  # the oldest


def test_colleagues_to_choose_from_are_in_vietnamese_order(client, login_as):
    """Đ among the Ds, not after Z (the list offers the first few: an Đặng fell off it)."""
    login_as(Role.EMPLOYEE, locale="en")
    for name in ("Nguyễn Zung An", "Nguyễn Đức An", "Nguyễn Bảo An"):
        UserFactory(name=name)
    form = {"colleague": "an", "points": "5", "value": CompanyValueFactory().id, "message": "!"}

    page = client.post("/kudos/new", data=form).get_data(as_text=True)

    choices = page.split('data-testid="colleague-choices"')[1]
    places = [choices.index(name) for name in ("Nguyễn Bảo An", "Nguyễn Đức An", "Nguyễn Zung An")]
    assert places == sorted(places)


def test_points_are_written_with_the_readers_digit_grouping(client, login_as):
    """1500 points read "1500" on every page and e-mail, in either language; the fairness
    report alone wrote "1,500" (English) or "1.500" (Vietnamese)."""
    hr = UserFactory(roles={Role.HR})
    manager = UserFactory(roles={Role.MANAGER})
    me = login_as(Role.EMPLOYEE, locale="en", manager=manager)
    colleague = UserFactory(locale="vi", manager=manager)
    award = awards.create_award(
        AwardData("Sáng kiến của năm", "Idea of the year", "Mô tả", "Description", None, 1500),
        actor=hr,
    )
    for person in (me, colleague):
        awards.approve(awards.nominate(award.id, person.id, "Lý do", actor=manager).id, actor=hr)
    afternoon = PerkFactory(points_price=1200, title_en="Afternoon off", per_person_limit=None)
    PerkFactory(points_price=2500, title_en="A trip")

    mine = client.get("/points").get_data(as_text=True)
    rewards = client.get("/rewards").get_data(as_text=True)

    assert 'data-testid="received-balance">1,500<' in mine
    assert ">+1,500<" in mine.split('data-testid="points-history"')[1]
    assert "You have 1,500 points to spend." in rewards
    assert "2,500 points" in rewards
    assert "Spend 1,200 points" in rewards
    assert "1,000 more points needed." in rewards
    (mail,) = db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == me.email))
    assert "1,500 points come with it." in mail.body_text
    assert "1,500 points come with it." in mail.body_html
    (mail_vi,) = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.recipient == colleague.email)
    )
    assert "Kèm theo 1.500 điểm thưởng." in mail_vi.body_text

    client.post("/language", data={"locale": "vi"})
    mine = client.get("/points").get_data(as_text=True)
    rewards = client.get("/rewards").get_data(as_text=True)
    assert 'data-testid="received-balance">1.500<' in mine
    assert ">+1.500<" in mine.split('data-testid="points-history"')[1]
    assert "Bạn có 1.500 điểm để đổi." in rewards
    assert "Đổi 1.200 điểm" in rewards
    assert "Cần thêm 1.000 điểm." in rewards
    client.post(f"/rewards/{afternoon.id}/spend")
    history = client.get("/points").get_data(as_text=True).split('data-testid="points-history"')[1]
    assert ">-1.200<" in history
    assert ">+1.500<" in history


def test_a_reward_never_costs_more_than_the_page_offered(client, login_as):
    """The page offered "Spend 40 points"; HR raised the price to 90 before the click, and
    the click charged 90: nothing the page sent said what the person agreed to pay."""
    me = login_as(Role.EMPLOYEE, locale="en")
    today = company_today()
    for _ in range(2):
        kudos.give_kudos(UserFactory(), me.id, 50, CompanyValueFactory().id, "Giỏi!", today=today)
    reward = PerkFactory(points_price=40, per_person_limit=None)
    page = client.get("/rewards").get_data(as_text=True)
    assert "Spend 40 points" in page
    assert 'name="price" value="40"' in page

    reward.points_price = 90  # HR's change in the catalog, in between
    db.session.commit()
    refused = client.post(f"/rewards/{reward.id}/spend", data={"price": "40"})

    assert refused.status_code == 303
    assert points.received_balance(me.id) == 100
    shown = client.get("/rewards").get_data(as_text=True)
    assert "This reward now costs 90 points, not 40: nothing was spent." in shown
    assert client.post(f"/rewards/{reward.id}/spend", data={"price": "90"}).status_code == 303
    assert points.received_balance(me.id) == 10


def test_one_point_is_one_point_not_one_points(client, login_as):
    """A balance or a price of 1 read "You have 1 points to spend.", "Spend 1 points" and
    "1 more points needed.", where every other count of points on the site agrees."""
    me = login_as(Role.EMPLOYEE, locale="en")
    today = company_today()
    hr = UserFactory(roles={Role.HR})
    kudos.update_points_settings(kudos.PointsSettingsData(1, {}, 50, 1_000), actor=hr)
    kudos.give_kudos(UserFactory(), me.id, 1, CompanyValueFactory().id, "Giỏi!", today=today)
    PerkFactory(points_price=1, title_en="A sticker", per_person_limit=None)
    PerkFactory(points_price=2, title_en="Two stickers", per_person_limit=None)

    rewards = client.get("/rewards").get_data(as_text=True)
    give = client.get("/kudos/new").get_data(as_text=True)

    assert "You have 1 point to spend." in rewards
    assert "Spend 1 point<" in rewards
    assert "Spend 1 point on “A sticker”?" in rewards
    assert "1 more point needed." in rewards
    assert "You have 1 point left to give this month" in give
    assert " points" not in give.split('data-testid="allowance-left"')[1].split("</p>")[0]
    assert not [line for line in rewards.splitlines() if " 1 points" in line]


def test_a_reward_archived_after_the_page_opened_says_so_and_spends_nothing(client, login_as):
    """HR archived the reward between the page and the click: the person got a bare "Not
    found" page, not knowing whether their points were spent."""
    from perks.catalog.services import archive_perk

    me = login_as(Role.EMPLOYEE, locale="en")
    kudos.give_kudos(
        UserFactory(), me.id, 50, CompanyValueFactory().id, "Giỏi!", today=company_today()
    )
    reward = PerkFactory(points_price=40, title_en="Coffee", per_person_limit=None)
    assert "Spend 40 points" in client.get("/rewards").get_data(as_text=True)
    archive_perk(reward.id, actor=UserFactory(roles={Role.HR}))

    response = client.post(f"/rewards/{reward.id}/spend", data={"price": "40"})

    assert response.status_code == 303
    shown = client.get("/rewards").get_data(as_text=True)
    assert "This reward is no longer offered: nothing was spent." in shown
    assert points.received_balance(me.id) == 50
