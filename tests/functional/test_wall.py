"""The recognition wall (``/wall``): the company's kudos, approved awards and the coming days'
birthdays and work anniversaries, in the reader's language; what people chose to hide stays
off it; one department's; a page at a time, newest first; linked from home."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from perks.extensions import db
from perks.finance.periods import company_today
from perks.people.models import Role, User
from perks.recognition import awards, kudos, wall
from perks.recognition import services as occasions
from perks.recognition.awards import AwardData
from perks.recognition.models import Nomination
from perks.recognition.points_models import CompanyValue, Kudos
from tests.factories import CompanyValueFactory, DepartmentFactory, UserFactory
from tests.helpers import counting_statements, login


@pytest.fixture
def hr() -> User:
    return UserFactory(roles={Role.HR}, name="Trần HR")


@pytest.fixture
def value() -> CompanyValue:
    return CompanyValueFactory(name_vi="Tận tâm", name_en="Care")


def _award(hr: User, nominee: User, *, approve: bool = True) -> Nomination:
    manager = UserFactory(roles={Role.MANAGER}, name="Lê Quản Lý")
    nominee.manager = manager
    db.session.commit()
    award = awards.create_award(
        AwardData("Nhân viên xuất sắc", "Employee of the month", "Mô tả", "Description", None, 10),
        actor=hr,
    )
    nomination = awards.nominate(award.id, nominee.id, "Lý do riêng tư của quản lý", actor=manager)
    return awards.approve(nomination.id, actor=hr) if approve else nomination


def _wall(client, viewer: User, query: str = "") -> str:  # type: ignore[no-untyped-def]
    login(client, viewer)
    response = client.get(f"/wall{query}")
    assert response.status_code == 200
    html: str = response.get_data(as_text=True)
    return html


def test_the_wall_shows_kudos_awards_and_celebrations(client, hr, value):
    occasions.add_vietnamese_calendar(actor=hr)
    today = company_today()
    giver = UserFactory(name="Ngô Văn Tặng")
    recipient = UserFactory(name="Phạm Thị Nhận")
    kudos.give_kudos(giver, recipient.id, 5, value.id, "Cảm ơn bạn đã giúp!", today=today)
    winner = UserFactory(name="Đỗ Văn Thắng")
    _award(hr, winner)
    UserFactory(name="Vũ Sinh Nhật", birth_month=today.month, birth_day=today.day)
    soon = today + timedelta(days=3)
    UserFactory(
        name="Hoàng Kỷ Niệm",
        hire_date=date(soon.year - 3, soon.month, min(soon.day, 28)),
    )

    html = _wall(client, UserFactory(locale="en"))
    assert "Ngô Văn Tặng → Phạm Thị Nhận" in html
    assert "5 points" in html
    assert "Care" in html
    assert "Cảm ơn bạn đã giúp!" in html
    assert "Đỗ Văn Thắng received the award Employee of the month" in html
    # the nominator and their reason are theirs and HR's, not the company's
    assert "Lý do riêng tư" not in html
    assert "Lê Quản Lý" not in html
    assert "Vũ Sinh Nhật" in html
    assert "Birthday" in html
    if soon.day <= 28:
        assert "Hoàng Kỷ Niệm" in html
        assert "3 years" in html
    assert html.index('data-testid="wall-award"') < html.index('data-testid="wall-kudos"')


def test_the_wall_in_vietnamese(client, hr, value):
    occasions.add_vietnamese_calendar(actor=hr)
    today = company_today()
    giver, recipient = UserFactory(name="Ngô Văn Tặng"), UserFactory(name="Phạm Thị Nhận")
    kudos.give_kudos(giver, recipient.id, 5, value.id, "Cảm ơn!", today=today)
    _award(hr, UserFactory(name="Đỗ Văn Thắng"))
    UserFactory(name="Vũ Sinh Nhật", birth_month=today.month, birth_day=today.day)

    html = _wall(client, UserFactory(locale="vi"))
    assert "Bảng vinh danh" in html
    assert "5 điểm" in html
    assert "Tận tâm" in html
    assert "Care" not in html
    assert "Đỗ Văn Thắng nhận danh hiệu Nhân viên xuất sắc" in html
    assert "Employee of the month" not in html
    assert "Sinh nhật" in html
    # dates through the locale's formatters: the Vietnamese moment is the hour, then the day
    assert f"{today:%d/%m/%Y}" in html


def test_people_who_opt_out_of_public_celebration_are_not_on_the_wall(client, hr, value):
    occasions.add_vietnamese_calendar(actor=hr)
    today = company_today()
    shy = UserFactory(
        name="Kín Đáo",
        public_celebration=False,
        birth_month=today.month,
        birth_day=today.day,
    )
    giver, recipient = UserFactory(name="Người Tặng"), UserFactory(name="Người Nhận")
    kudos.give_kudos(giver, shy.id, 3, value.id, "Gửi người kín đáo", today=today)
    kudos.give_kudos(shy, recipient.id, 3, value.id, "Từ người kín đáo", today=today)
    kudos.give_kudos(giver, recipient.id, 3, value.id, "Giữa hai người", today=today)
    _award(hr, shy)

    html = _wall(client, UserFactory())
    assert "Kín Đáo" not in html  # not their birthday, kudos to or from them, nor award
    assert "Gửi người kín đáo" not in html
    assert "Từ người kín đáo" not in html
    assert 'data-testid="wall-award"' not in html
    assert "Giữa hai người" in html


def test_hidden_personal_dates_hide_the_celebration_not_the_kudos(client, hr, value):
    occasions.add_vietnamese_calendar(actor=hr)
    today = company_today()
    private = UserFactory(
        name="Riêng Tư",
        hide_personal_dates=True,
        birth_month=today.month,
        birth_day=today.day,
        hire_date=date(today.year - 1, today.month, min(today.day, 28)),
    )
    kudos.give_kudos(UserFactory(), private.id, 3, value.id, "Giỏi lắm", today=today)

    html = _wall(client, UserFactory())
    assert 'data-testid="wall-celebration"' not in html
    assert "Riêng Tư" in html
    assert "Giỏi lắm" in html


def test_only_approved_nominations_are_on_the_wall(client, hr):
    _award(hr, UserFactory(name="Chờ Duyệt"), approve=False)
    declined = _award(hr, UserFactory(name="Bị Từ Chối"), approve=False)
    awards.decline(declined.id, "Chưa đủ", actor=hr)

    html = _wall(client, UserFactory())
    assert "Chờ Duyệt" not in html
    assert "Bị Từ Chối" not in html
    assert 'data-testid="wall-empty"' in html


def test_one_departments_wall(client, hr, value):
    occasions.add_vietnamese_calendar(actor=hr)
    today = company_today()
    sales, support = DepartmentFactory(name="Kinh doanh"), DepartmentFactory(name="Hỗ trợ")
    seller = UserFactory(name="Bán Hàng", department=sales)
    helper = UserFactory(
        name="Hỗ Trợ Viên", department=support, birth_month=today.month, birth_day=today.day
    )
    kudos.give_kudos(helper, seller.id, 3, value.id, "Cho kinh doanh", today=today)
    kudos.give_kudos(seller, helper.id, 3, value.id, "Cho hỗ trợ", today=today)
    _award(hr, seller)

    viewer = UserFactory()
    html = _wall(client, viewer, f"?department_id={sales.id}")
    assert "Cho kinh doanh" in html
    assert "Cho hỗ trợ" not in html
    assert 'data-testid="wall-award"' in html
    assert 'data-testid="wall-celebration"' not in html  # the birthday is support's
    html = client.get(f"/wall?department_id={support.id}").get_data(as_text=True)
    assert "Cho hỗ trợ" in html
    assert "Cho kinh doanh" not in html
    assert 'data-testid="wall-award"' not in html
    assert 'data-testid="wall-celebration"' in html
    # an unknown department is no filter: everyone's wall
    everyone = client.get("/wall?department_id=999999")
    assert everyone.status_code == 200
    assert "Cho hỗ trợ" in everyone.get_data(as_text=True)


def test_a_department_with_nothing_on_the_wall_says_so_not_that_the_wall_is_empty(
    client, hr, value
):
    """Choosing a department with no kudos nor award said "Nothing on the wall yet." while
    the wall held the company's kudos: the reader took the wall for empty."""
    today = company_today()
    sales, legal = DepartmentFactory(name="Kinh doanh"), DepartmentFactory(name="Pháp chế")
    seller = UserFactory(department=sales)
    kudos.give_kudos(UserFactory(), seller.id, 3, value.id, "Cho kinh doanh", today=today)

    html = _wall(client, UserFactory(), f"?department_id={legal.id}")
    assert 'data-testid="wall-empty"' in html
    assert "Nothing on the wall yet." not in html
    assert "Nothing on the wall for this department yet." in html
    assert "Nothing on the wall yet." not in client.get("/wall").get_data(as_text=True)


def test_the_wall_pages_newest_first(client, value):
    giver, recipient = UserFactory(), UserFactory()
    start = datetime(2026, 1, 1, 9, tzinfo=UTC)
    count = wall.PER_PAGE + 5
    for n in range(count):
        db.session.add(
            Kudos(
                giver_id=giver.id,
                recipient_id=recipient.id,
                value_id=value.id,
                points=1,
                message=f"Lời khen số {n:02d}",
                month="2026-01",
                given_at=start + timedelta(hours=n),
            )
        )
    db.session.commit()

    first = _wall(client, UserFactory())
    assert first.count('data-testid="wall-kudos"') == wall.PER_PAGE
    assert first.index(f"số {count - 1:02d}") < first.index(f"số {count - 2:02d}")
    assert "số 04" not in first
    assert 'href="/wall?page=2"' in first
    second = client.get("/wall?page=2").get_data(as_text=True)
    assert second.count('data-testid="wall-kudos"') == 5
    assert "số 04" in second
    assert "số 00" in second
    assert f"số {count - 1:02d}" not in second
    # a page past the last shows the last, as every other list does (``perks.db.paginate``)
    past = client.get("/wall?page=9").get_data(as_text=True)
    assert past.count('data-testid="wall-kudos"') == 5
    assert "số 00" in past
    assert 'href="/wall?page=2"' not in past


def test_home_links_to_the_wall(client):
    login(client, UserFactory())
    html = client.get("/").get_data(as_text=True)
    assert 'data-testid="home-wall-link"' in html
    assert 'href="/wall"' in html


def test_the_wall_lists_a_few_celebrations_and_links_to_the_rest(client, hr):
    occasions.add_vietnamese_calendar(actor=hr)
    today = company_today()
    for n in range(wall.CELEBRATIONS_SHOWN + 4):
        UserFactory(name=f"Sinh Nhật {n:02d}", birth_month=today.month, birth_day=today.day)

    html = _wall(client, UserFactory(locale="vi"))

    assert html.count('data-testid="wall-celebration"') == wall.CELEBRATIONS_SHOWN
    assert "và 4 người nữa trên lịch công ty" in html
    assert 'href="/occasions#celebrations"' in html


def test_the_walls_statements_do_not_grow_with_the_celebrations(client, hr):
    occasions.add_vietnamese_calendar(actor=hr)
    today = company_today()
    viewer = UserFactory(locale="en")
    login(client, viewer)

    def statements_with(people: int) -> int:
        for _ in range(people):
            UserFactory(
                birth_month=today.month, birth_day=today.day, department=DepartmentFactory()
            )
        db.session.commit()
        with counting_statements() as statements:
            assert client.get("/wall").status_code == 200
            assert client.get("/occasions").status_code == 200
        return len(statements)

    assert statements_with(3) == statements_with(30)
