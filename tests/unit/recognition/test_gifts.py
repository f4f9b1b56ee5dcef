"""Gift programmes (perks.recognition.gifts): who is in an audience, budgets never exceeded
(the programme's and each department's), one gift per programme, person and occasion year
however many runs, missed days caught up, the e-mail in the outbox, HR's changes audited.
Two years of daily runs on the demo company: tests/functional/test_gift_year.py."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from perks.audit import AuditEvent
from perks.catalog.models import Claim, CodeMode, PerkCode, PerkStatus
from perks.errors import Conflict, ValidationFailed
from perks.extensions import db
from perks.mail import OutboxMessage
from perks.money import Money
from perks.notifications.models import Notification
from perks.notifications.rendering import render
from perks.people.models import EmploymentType, Gender, Role, User
from perks.recognition import gifts, services
from perks.recognition.models import Gift, OccasionKind
from tests.factories import DepartmentFactory, PerkFactory, UserFactory
from tests.unit.recognition.helpers import gift_perk, occasion, programme_data


@pytest.fixture(autouse=True)
def _in_english(app):  # type: ignore[no-untyped-def]
    with force_locale("en"):
        yield


@pytest.fixture
def hr():  # type: ignore[no-untyped-def]
    return UserFactory(roles={Role.HR})


def granted() -> list[tuple[int, int]]:
    return list(db.session.execute(select(Gift.user_id, Gift.occasion_year).order_by(Gift.id)))


def test_a_programme_grants_its_audience_once_on_the_day_with_a_code_and_an_email(hr):
    # named: the gifts go in the order of the names (random names sorted either way)
    women = [UserFactory(name=name, gender=Gender.FEMALE, locale="vi") for name in ("An", "Bình")]
    UserFactory(gender=Gender.MALE)
    UserFactory()  # nothing recorded: not in an audience that asks for a gender
    perk = gift_perk(code_mode=CodeMode.POOL, codes=["HOA-1", "HOA-2", "HOA-3"])
    programme = gifts.create_programme(
        programme_data(occasion("womens_day").id, perk.id, gender=Gender.FEMALE, days_ahead=1),
        actor=hr,
    )
    assert gifts.grant_due_gifts(date(2027, 3, 6)) == 0  # two days ahead: not yet
    assert gifts.grant_due_gifts(date(2027, 3, 7)) == 2
    assert gifts.grant_due_gifts(date(2027, 3, 7)) == 0
    assert gifts.grant_due_gifts(date(2027, 3, 8)) == 0
    assert sorted(granted()) == sorted((w.id, 2027) for w in women)
    claims = db.session.scalars(select(Claim).order_by(Claim.id)).all()
    assert [(c.user_id, c.code, c.source) for c in claims] == [
        (women[0].id, "HOA-1", "gift"),
        (women[1].id, "HOA-2", "gift"),
    ]
    mail = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [m.recipient for m in mail] == [w.email for w in women]
    assert "Chúc mừng ngày Quốc tế Phụ nữ!" in mail[0].body_text
    assert "HOA-1" in mail[0].body_text
    assert f"/my-perks/{claims[0].id}" in mail[0].body_text
    assert [g.occasion_on for g in db.session.scalars(select(Gift))] == [date(2027, 3, 8)] * 2
    # the next year's 8/3 is another gift
    assert gifts.grant_due_gifts(date(2028, 3, 7)) == 1  # the pool had one code left
    assert programme.id == db.session.scalars(select(Gift.programme_id)).first()


def test_the_audience_follows_the_perk_eligibility_rules_and_recorded_children(hr):
    sales, support = DepartmentFactory(name="Sales"), DepartmentFactory(name="Support")
    parent = UserFactory(department=sales, children_under_15=2, location="Hà Nội")
    UserFactory(department=sales, children_under_15=0)  # no children under 15
    UserFactory(department=support, children_under_15=1)  # another department
    UserFactory(department=sales, children_under_15=1, location="Đà Nẵng")  # another place
    UserFactory(
        department=sales, children_under_15=1, employment_type=EmploymentType.SUPPLIER
    )  # a supplier
    UserFactory(department=sales, children_under_15=1, hire_date=date(2026, 5, 1))  # too new
    UserFactory(department=sales, children_under_15=1, active=False)
    perk = gift_perk()
    gifts.create_programme(
        programme_data(
            occasion("childrens_day").id,
            perk.id,
            department_ids=(sales.id,),
            locations=("Hà Nội",),
            employment_types=("staff", "contractor"),
            min_tenure_days=90,
            requires_children=True,
        ),
        actor=hr,
    )
    assert gifts.grant_due_gifts(date(2026, 6, 1)) == 1
    assert granted() == [(parent.id, 2026)]


def test_a_lunar_occasion_is_granted_on_its_solar_day_and_missed_days_are_caught_up(hr):
    people = [hr, *(UserFactory() for _ in range(2))]  # HR receive gifts too
    gifts.create_programme(
        programme_data(occasion("tet").id, gift_perk().id, days_ahead=3, name_en="Tết gift"),
        actor=hr,
    )
    # Tết 2027 is 6 February; granted from 3 February
    assert gifts.grant_due_gifts(date(2027, 2, 2)) == 0
    # the job was down from 3 to 9 February: the run on the 10th catches up
    assert gifts.grant_due_gifts(date(2027, 2, 10)) == 3
    assert sorted(granted()) == sorted((p.id, 2027) for p in people)
    assert {g.occasion_on for g in db.session.scalars(select(Gift))} == {date(2027, 2, 6)}


def test_a_lunar_occasion_that_falls_twice_in_a_solar_year_is_granted_both_times(hr):
    """Lunar 15/11 falls on 3 January 2026 (the lunar year 2025's) and on 23 December 2026
    (2026's): counted by solar year, the December gift was taken for a second one in 2026
    and never granted."""
    person = UserFactory()
    winter = services.create_occasion(
        services.OccasionData(
            "Rằm tháng Một", "Full moon of the 11th month", OccasionKind.LUNAR, month=11, day=15
        ),
        actor=hr,
    )
    gifts.create_programme(programme_data(winter.id, gift_perk().id), actor=hr)

    assert gifts.grant_due_gifts(date(2026, 1, 3)) == 2
    assert gifts.grant_due_gifts(date(2026, 12, 23)) == 2
    assert gifts.grant_due_gifts(date(2026, 12, 24)) == 0  # once each

    mine = db.session.scalars(select(Gift).where(Gift.user_id == person.id).order_by(Gift.id))
    assert [(g.occasion_on, g.occasion_year) for g in mine] == [
        (date(2026, 1, 3), 2025),
        (date(2026, 12, 23), 2026),
    ]


def test_a_day_missed_beyond_the_catch_up_window_is_not_granted_late(hr):
    UserFactory()
    gifts.create_programme(programme_data(occasion("womens_day").id, gift_perk().id), actor=hr)
    late = date(2027, 3, 8) + timedelta(days=gifts.CATCH_UP_DAYS + 1)
    assert gifts.grant_due_gifts(late) == 0


def test_birthdays_and_work_anniversaries_are_per_person(hr):
    born = UserFactory(birth_month=7, birth_day=14)
    UserFactory(birth_month=7, birth_day=20)
    hired = UserFactory(hire_date=date(2023, 7, 15))  # 3 years on 15/07/2026
    UserFactory(hire_date=date(2024, 7, 15))  # 2 years: not a milestone
    gifts.create_programme(programme_data(occasion("birthday").id, gift_perk().id), actor=hr)
    gifts.create_programme(
        programme_data(occasion("work_anniversary").id, gift_perk().id), actor=hr
    )
    assert gifts.grant_due_gifts(date(2026, 7, 15)) == 2
    assert sorted(granted()) == sorted([(born.id, 2026), (hired.id, 2026)])


def at_300_000(perk_id: int | None, budget: int) -> gifts.ProgrammeData:
    """The 8/3 programme at 300,000 đồng a gift, with a ``budget`` in đồng."""
    return programme_data(
        occasion("womens_day").id,
        perk_id,
        unit_cost=Money(300_000, "VND"),
        budget=Money(budget, "VND"),
    )


def test_the_programme_budget_is_never_exceeded(hr):
    for _ in range(4):
        UserFactory()  # and HR: five people
    programme = gifts.create_programme(at_300_000(gift_perk().id, 1_000_000), actor=hr)
    assert gifts.grant_due_gifts(date(2026, 3, 8)) == 3
    assert gifts.grant_due_gifts(date(2026, 3, 9)) == 0
    assert gifts.spent_this_year(programme, 2026) == Money(900_000, "VND")
    # HR raises the budget: the next run catches up one more
    gifts.update_programme(programme.id, at_300_000(programme.perk_id, 1_200_000), actor=hr)
    assert gifts.grant_due_gifts(date(2026, 3, 10)) == 1


def test_a_budget_short_of_everyone_grants_by_name_as_people_alphabetise_vietnamese(hr):
    # One day for everyone and a budget for three of four: the rule the programmes page states
    # (by date, then by name alphabetically) decides, not code points ("Ánh" and "Đức" would
    # follow "Yến" there)
    hr.name = "Xuân"
    people = {name: UserFactory(name=name) for name in ("Yến", "Đức", "Ánh")}
    people["Xuân"] = hr
    db.session.commit()
    gifts.create_programme(at_300_000(gift_perk().id, 900_000), actor=hr)
    preview = gifts.preview(date(2026, 3, 1))
    assert [(line.due.person.name, line.over_budget) for line in preview.lines] == [
        ("Ánh", False),
        ("Đức", False),
        ("Xuân", False),
        ("Yến", True),
    ]
    assert gifts.grant_due_gifts(date(2026, 3, 8)) == 3
    assert sorted(granted()) == sorted((people[name].id, 2026) for name in ("Ánh", "Đức", "Xuân"))


def test_a_department_budget_is_never_exceeded_and_others_are_not_held_back(hr):
    sales, support = DepartmentFactory(name="Sales"), DepartmentFactory(name="Support")
    for _ in range(3):
        UserFactory(department=sales)
    for _ in range(2):
        UserFactory(department=support)
    hr.department = support
    db.session.commit()
    perk = gift_perk()
    gifts.create_programme(
        programme_data(
            occasion("womens_day").id,
            perk.id,
            department_budgets={sales.id: Money(400_000, "VND")},
        ),
        actor=hr,
    )
    preview = gifts.preview(date(2026, 3, 1))
    assert [line.over_budget for line in preview.lines].count(True) == 1
    assert preview.totals == {"VND": Money(1_000_000, "VND")}
    assert gifts.grant_due_gifts(date(2026, 3, 8)) == 5
    per_department = dict(
        db.session.execute(
            select(Gift.department_id, func.count()).group_by(Gift.department_id)
        ).all()
    )
    assert per_department == {sales.id: 2, support.id: 3}


def test_a_paused_programme_grants_nothing_and_catches_up_when_resumed(hr):
    programme = gifts.create_programme(
        programme_data(occasion("womens_day").id, gift_perk().id), actor=hr
    )
    gifts.set_programme_active(programme.id, False, actor=hr)
    with pytest.raises(Conflict):
        gifts.set_programme_active(programme.id, False, actor=hr)
    assert gifts.grant_due_gifts(date(2026, 3, 8)) == 0
    assert gifts.preview(date(2026, 3, 1)).lines == []
    gifts.set_programme_active(programme.id, True, actor=hr)
    assert gifts.grant_due_gifts(date(2026, 3, 9)) == 1
    actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert [a for a in actions if a.startswith("recognition.programme")] == [
        "recognition.programme_created",
        "recognition.programme_paused",
        "recognition.programme_resumed",
    ]


def test_a_gift_without_codes_left_is_not_granted_and_waits(hr):
    UserFactory()  # and HR
    perk = gift_perk(code_mode=CodeMode.POOL, codes=["ONLY-1"])
    gifts.create_programme(programme_data(occasion("womens_day").id, perk.id), actor=hr)
    assert gifts.grant_due_gifts(date(2026, 3, 8)) == 1
    db.session.add(PerkCode(perk_id=perk.id, code="MORE-1"))
    db.session.commit()
    assert gifts.grant_due_gifts(date(2026, 3, 9)) == 1
    assert db.session.scalar(select(func.count()).select_from(Gift)) == 2


def gifts_stopped_notices() -> list[Notification]:
    return list(
        db.session.scalars(
            select(Notification)
            .where(Notification.kind == "gifts_stopped")
            .order_by(Notification.id)
        )
    )


def test_hr_is_told_once_a_week_of_the_gifts_not_given_and_why(hr):
    other_hr = UserFactory(roles={Role.HR}, locale="vi")
    UserFactory()  # three people, one code
    perk = gift_perk(code_mode=CodeMode.POOL, codes=["ONLY-1"])
    programme = gifts.create_programme(programme_data(occasion("womens_day").id, perk.id), actor=hr)

    assert gifts.grant_due_gifts(date(2026, 3, 8)) == 1
    assert gifts.grant_due_gifts(date(2026, 3, 8)) == 0  # a later run that day tells nobody

    first = gifts_stopped_notices()
    assert sorted(n.user_id for n in first) == sorted([hr.id, other_hr.id])
    assert render(first[0].kind, first[0].params).title == "Gifts not given: 8 March gift"
    assert render(first[0].kind, first[0].params).body == (
        "2 gifts due were not given: its gift perk has no codes or stock left. A gift more "
        "than 7 days late is never given: add codes, extend the gift or raise the budget "
        "before then."
    )
    with force_locale("vi"):
        assert render(first[0].kind, first[0].params).title == ("Quà tặng chưa được tặng: Quà 8/3")
    [event] = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "recognition.gifts_stopped")
    )
    assert (event.target_id, event.details["stopped_by"], event.details["count"]) == (
        str(programme.id),
        "stock",
        2,
    )

    gifts.grant_due_gifts(date(2026, 3, 14))  # still stopped: said already this week
    assert len(gifts_stopped_notices()) == 2
    gifts.grant_due_gifts(date(2026, 3, 15))  # a week on, the last day they can be given
    assert len(gifts_stopped_notices()) == 4


def test_hr_is_told_of_gifts_the_budget_stops(hr):
    for _ in range(2):
        UserFactory()  # and HR: three people, a budget for two
    gifts.create_programme(at_300_000(gift_perk().id, 600_000), actor=hr)

    assert gifts.grant_due_gifts(date(2026, 3, 8)) == 2

    [notice] = gifts_stopped_notices()
    assert (
        "1 gift due was not given: the programme's budget is spent."
        in render(notice.kind, notice.params).body
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name_en": " "}, "name_en"),
        ({"message_vi": ""}, "message_vi"),
        ({"days_ahead": 61}, "days_ahead"),
        ({"budget": Money(5, "USD")}, "budget"),
        ({"budget": Money(199_999, "VND")}, "budget"),
        ({"budget": Money(0, "VND")}, "budget"),
        ({"unit_cost": Money(-1, "VND")}, "unit_cost"),
        ({"occasion_id": 999}, "occasion_id"),
        ({"employment_types": ("pirate",)}, "employment_types"),
    ],
)
def test_bad_programmes_are_refused_naming_the_field(hr, change, field):
    ids = {"occasion_id": occasion("tet").id, "perk_id": gift_perk().id}
    with pytest.raises(ValidationFailed) as refused:
        gifts.create_programme(programme_data(**(ids | change)), actor=hr)
    assert refused.value.details["field"] == field


def test_a_budget_must_pay_for_one_gift_of_points_or_of_a_department(hr):
    """A budget smaller than one gift stops every gift: refused, for a gift of points at the
    point value too, and for a department's budget; one gift exactly is enough."""
    sales = DepartmentFactory(name="Sales")
    tet = occasion("tet").id
    with pytest.raises(ValidationFailed) as refused:
        gifts.create_programme(
            programme_data(tet, None, points=300, budget=Money(299_999, "VND")), actor=hr
        )  # 300 points at 1,000 VND a point
    assert refused.value.details["field"] == "budget"
    with pytest.raises(ValidationFailed) as refused:
        gifts.create_programme(
            programme_data(
                tet, gift_perk().id, department_budgets={sales.id: Money(100_000, "VND")}
            ),
            actor=hr,
        )
    assert "Sales" in refused.value.message
    programme = gifts.create_programme(
        programme_data(
            tet,
            gift_perk().id,
            budget=Money(200_000, "VND"),
            department_budgets={sales.id: Money(200_000, "VND")},
        ),
        actor=hr,
    )
    assert programme.budget_amount == 200_000
    free = gifts.create_programme(
        programme_data(tet, gift_perk().id, unit_cost=Money(0, "VND"), budget=Money(0, "VND")),
        actor=hr,
    )
    assert free.budget_amount == 0


def test_only_a_published_gift_perk_can_be_a_programme_gift(hr):
    with pytest.raises(ValidationFailed) as refused:
        gifts.create_programme(programme_data(occasion("tet").id, PerkFactory().id), actor=hr)
    assert refused.value.details["field"] == "perk_id"


def test_privacy_choices_do_not_stop_the_gift(hr):
    person = UserFactory(birth_month=5, birth_day=2, hide_personal_dates=True)
    person.public_celebration = False
    db.session.commit()
    gifts.create_programme(programme_data(occasion("birthday").id, gift_perk().id), actor=hr)
    assert gifts.grant_due_gifts(date(2026, 5, 2)) == 1
    assert db.session.get(User, person.id) is not None
    assert gifts.greetings(person, date(2026, 5, 2))[0].user_id == person.id
    assert gifts.greetings(person, date(2026, 5, 3)) == []


def test_a_programmes_places_are_kept_once_each_in_vietnamese_alphabetical_order(hr):
    places = ("Hà Nội", " Đà Nẵng ", "Đà Nẵng", "An Giang")
    programme = gifts.create_programme(
        programme_data(occasion("childrens_day").id, gift_perk().id, locations=places), actor=hr
    )
    db.session.expire_all()
    assert programme.locations == ["An Giang", "Đà Nẵng", "Hà Nội"]


@pytest.mark.parametrize(
    ("fields", "run_on", "days_ahead"),
    [
        # hired on 10/3: the catch-up run of 10/3 gave them the 8/3 gift
        ({"hire_date": date(2027, 3, 10)}, date(2027, 3, 10), 0),
        # imported ahead of a start on 1/4
        ({"hire_date": date(2027, 4, 1)}, date(2027, 3, 8), 0),
        # leaving on 7/3, set ahead by HR: the gift granted 3 days ahead, on 5/3
        ({"leaving_date": date(2027, 3, 7)}, date(2027, 3, 5), 3),
    ],
    ids=["hired-after", "starts-next-month", "gone-by-then"],
)
def test_no_gift_for_an_occasion_the_person_is_not_with_the_company_on(
    hr, fields, run_on, days_ahead
):
    away = UserFactory(gender=Gender.FEMALE, **fields)
    here = UserFactory(gender=Gender.FEMALE, hire_date=date(2020, 1, 6))
    gifts.create_programme(
        programme_data(
            occasion("womens_day").id,
            gift_perk().id,
            gender=Gender.FEMALE,
            days_ahead=days_ahead,
        ),
        actor=hr,
    )
    gifts.grant_due_gifts(run_on)
    receivers = set(db.session.scalars(select(Gift.user_id)))
    assert here.id in receivers
    assert away.id not in receivers


@pytest.mark.parametrize(
    "budgets",
    [
        {"budget": Money(400_000, "VND")},
        {"department_budgets": "one"},
    ],
    ids=["programme", "department"],
)
def test_a_budget_needs_the_cost_of_one_gift(hr, budgets):
    """The cost is optional (empty: 0 for a perk), and a budget of 400.000 ₫ with it never
    stopped a gift (0 + 0 ≤ 400.000): every woman of the company got one."""
    if budgets.get("department_budgets") == "one":
        budgets = {"department_budgets": {DepartmentFactory().id: Money(400_000, "VND")}}
    data = programme_data(
        occasion("womens_day").id, gift_perk().id, unit_cost=Money(0, "VND"), **budgets
    )
    with pytest.raises(ValidationFailed, match="cost of one gift") as refused:
        gifts.create_programme(data, actor=hr)
    assert refused.value.details["field"] == "unit_cost"
    # without a budget, a gift of no stated cost is still allowed
    no_budget = programme_data(occasion("womens_day").id, gift_perk().id, unit_cost=Money(0, "VND"))
    assert gifts.create_programme(no_budget, actor=hr).unit_cost_amount == 0


def test_a_gift_perk_that_has_ended_gives_no_expired_code(hr):
    """A gift perk whose vouchers ended on 31/12 gave, in the new year, codes that were no
    longer valid on the day they came: the e-mail said "your gift", the page "no longer
    valid". It gives nothing and waits (HR extends the perk or chooses another)."""
    UserFactory()  # and HR
    perk = gift_perk(ends_on=date(2026, 12, 31))
    gifts.create_programme(programme_data(occasion("womens_day").id, perk.id), actor=hr)
    assert gifts.grant_due_gifts(date(2027, 3, 8)) == 0
    assert db.session.scalar(select(func.count()).select_from(Claim)) == 0
    perk.ends_on = date(2027, 12, 31)
    db.session.commit()
    assert gifts.grant_due_gifts(date(2027, 3, 9)) == 2
    expiries = set(db.session.scalars(select(Claim.expires_on)))
    assert expiries == {date(2027, 12, 31)}


def test_the_preview_marks_the_gifts_the_perk_cannot_give(hr):
    """The preview promised every gift its budget allowed, and its cost, while the job would
    stop at the last code of the pool, at a perk archived or ended: HR planned Tết on a
    list the job would not grant. Those gifts are marked and cost nothing, in the order the
    job would grant them (one pool shared by two programmes)."""
    hr.name = "Xuân"
    for name in ("Yến", "Ánh", "Đức"):
        UserFactory(name=name)
    db.session.commit()
    pool = gift_perk(code_mode=CodeMode.POOL, codes=["A-1", "A-2", "A-3"])
    womens_day = gifts.create_programme(
        programme_data(occasion("womens_day").id, pool.id), actor=hr
    )
    gifts.create_programme(
        programme_data(occasion("labour_day").id, pool.id, name_vi="Quà 1/5", name_en="1 May gift"),
        actor=hr,
    )
    preview = gifts.preview(date(2026, 3, 1), days=70)
    assert [
        (line.due.programme.id == womens_day.id, line.due.person.name, bool(line.no_gift))
        for line in preview.lines
    ] == [
        (True, "Ánh", False),
        (True, "Đức", False),
        (True, "Xuân", False),
        (True, "Yến", True),
        *((False, name, True) for name in ("Ánh", "Đức", "Xuân", "Yến")),
    ]
    assert "No codes or stock left" in preview.lines[3].no_gift
    assert preview.totals == {"VND": Money(600_000, "VND")}
    # what the preview said is what the job does
    assert gifts.grant_due_gifts(date(2026, 3, 8)) == 3

    stock = gift_perk(total_stock=1, ends_on=date(2026, 5, 31))
    gifts.create_programme(
        programme_data(
            occasion("childrens_day").id, stock.id, name_vi="Quà 1/6", name_en="1 June gift"
        ),
        actor=hr,
    )
    reasons = [line.no_gift for line in gifts.preview(date(2026, 5, 25)).lines]
    assert len(reasons) == 4
    assert all("ended on" in reason for reason in reasons)
    stock.ends_on = None
    stock.status = PerkStatus.ARCHIVED
    db.session.commit()
    reasons = [line.no_gift for line in gifts.preview(date(2026, 5, 25)).lines]
    assert all("not published" in reason for reason in reasons)
    stock.status = PerkStatus.PUBLISHED
    db.session.commit()
    reasons = [line.no_gift for line in gifts.preview(date(2026, 5, 25)).lines]
    assert [bool(reason) for reason in reasons] == [False, True, True, True]
