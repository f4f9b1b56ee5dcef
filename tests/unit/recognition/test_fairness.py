"""HR's fairness report (perks.recognition.fairness): gifts and awards per group of active
people, per head; groups under five merged into "Other groups" (also when a filter narrows a
group below five); a population under five shows no group; who received nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from flask_babel import force_locale

from perks.catalog.claims import grant_gift
from perks.catalog.models import PerkKind
from perks.extensions import db
from perks.i18n import company_today
from perks.money import Money
from perks.people.models import EmploymentType, Gender, Role
from perks.recognition import awards, fairness, kudos
from perks.recognition.fairness import Filters, Tally, merge_small
from perks.recognition.models import (
    Award,
    Gift,
    GiftDepartmentBudget,
    GiftProgramme,
    Nomination,
    NominationState,
    Occasion,
    OccasionKind,
)
from tests.factories import CompanyValueFactory, DepartmentFactory, PerkFactory, UserFactory

YEAR = 2027


@pytest.fixture(autouse=True)
def _in_english(app):  # type: ignore[no-untyped-def]
    with force_locale("en"):
        yield


def tallies(**headcounts: int) -> dict[str, Tally]:
    return {label: Tally(headcount=count, gifts=count) for label, count in headcounts.items()}


def lines(result: list[fairness.Line]) -> list[tuple[str, int]]:
    return [(line.label, line.tally.headcount) for line in result]


def test_groups_under_five_are_merged_into_other_groups():
    result = merge_small(tallies(Sales=12, Support=5, Legal=2, Design=3))
    assert lines(result) == [("Sales", 12), ("Support", 5), ("Other groups", 5)]
    assert result[-1].merged
    assert result[-1].tally.gifts == 5


def test_an_other_groups_line_under_five_takes_the_smallest_group_too():
    result = merge_small(tallies(Sales=12, Support=6, Legal=2))
    assert lines(result) == [("Sales", 12), ("Other groups", 8)]


def test_groups_of_five_or_more_stay_and_no_other_line_is_added():
    assert lines(merge_small(tallies(Sales=5, Support=9))) == [("Sales", 5), ("Support", 9)]


def _programme(hr_id: int, department_id: int) -> GiftProgramme:
    occasion = Occasion(kind=OccasionKind.SOLAR, name_vi="Tết", name_en="Tet", month=1, day=1)
    db.session.add(occasion)
    db.session.flush()
    programme = GiftProgramme(
        name_vi="Quà Tết",
        name_en="Tet gift",
        occasion_id=occasion.id,
        perk_id=PerkFactory(kind=PerkKind.GIFT, per_person_limit=None).id,
        message_vi="Chúc mừng",
        message_en="Happy new year",
        unit_cost_amount=100_000,
        budget_amount=2_000_000,
        created_by_id=hr_id,
        department_budgets=[GiftDepartmentBudget(department_id=department_id, amount=900_000)],
    )
    db.session.add(programme)
    db.session.commit()
    return programme


def _gift(programme: GiftProgramme, person, year: int = YEAR) -> None:  # type: ignore[no-untyped-def]
    claim = grant_gift(programme.perk, person, today=date(year, 1, 1))
    db.session.add(
        Gift(
            programme_id=programme.id,
            user_id=person.id,
            occasion_year=year,
            occasion_on=date(year, 1, 1),
            department_id=person.department_id,
            currency="VND",
            cost_amount=100_000,
            claim_id=claim.id,
            granted_at=datetime.now(UTC),
        )
    )
    db.session.commit()


def _award(person, manager, on: date) -> None:  # type: ignore[no-untyped-def]
    award = Award(name_vi="Xuất sắc", name_en="Star", points=10)
    db.session.add(award)
    db.session.flush()
    db.session.add(
        Nomination(
            award_id=award.id,
            nominee_id=person.id,
            nominator_id=manager.id,
            reason="x",
            state=NominationState.APPROVED,
            decided_on=on,
        )
    )
    db.session.commit()


@pytest.fixture
def company():  # type: ignore[no-untyped-def]
    """Sales: 6 women in Hà Nội; Legal: 2 partners in Đà Nẵng; Support: 4 in Hà Nội, 3 in
    Huế."""
    hr = UserFactory(roles={Role.HR}, active=False)
    sales, legal, support = (DepartmentFactory(name=n) for n in ("Sales", "Legal", "Support"))
    people = {
        "sales": [UserFactory(department=sales, gender=Gender.FEMALE) for _ in range(6)],
        "legal": [
            UserFactory(
                department=legal, location="Đà Nẵng", employment_type=EmploymentType.PARTNER
            )
            for _ in range(2)
        ],
        "support": [UserFactory(department=support) for _ in range(4)]
        + [UserFactory(department=support, location="Huế") for _ in range(3)],
    }
    UserFactory(department=sales, active=False)  # a leaver: not counted
    programme = _programme(hr.id, sales.id)
    for person in people["sales"][:4] + people["legal"][:1]:
        _gift(programme, person)
    _gift(programme, people["support"][0], year=YEAR - 1)  # another year: not counted
    _award(people["support"][1], hr, date(YEAR, 6, 1))
    _award(people["support"][2], hr, date(YEAR - 1, 12, 31))  # another year
    return people, programme


def _dimension(report: fairness.Report, key: str) -> list[tuple[str, int, int, int]]:
    found = next(d for d in report.dimensions if d.key == key)
    return [(ln.label, ln.tally.headcount, ln.tally.gifts, ln.tally.awards) for ln in found.lines]


def test_the_report_counts_gifts_and_awards_of_the_year_per_group(company):
    report = fairness.report(YEAR)
    assert report.total.tally.headcount == 15
    assert (report.total.tally.gifts, report.total.tally.awards) == (5, 1)
    assert report.total.gift_cost == [Money(500_000, "VND")]
    # Legal (2) is too small alone; Sales (4 of 6 received something) and Support (1 of 7)
    # are too, since the page names who received nothing: their lines would be those few's
    assert _dimension(report, "department") == [("Other groups", 15, 5, 1)]
    # Hà Nội: 5 of 10 received something; Đà Nẵng and Huế (1 of 5) join the smallest group
    assert _dimension(report, "location") == [("Other groups", 15, 5, 1)]
    assert _dimension(report, "gender") == [("Other groups", 15, 5, 1)]
    assert report.total.tally.points == 0  # no kudos, gifts of points or awards' points in 2027
    budget = report.programmes[0]
    assert (budget.gifts, budget.spent) == (5, Money(500_000, "VND"))
    assert budget.departments == [("Sales", Money(900_000, "VND"), Money(400_000, "VND"))]


def test_a_groups_figures_per_head():
    women = fairness.Line("Female", Tally(headcount=6, receivers=4, gifts=4, cost={"VND": 400_000}))
    assert women.cost_per_head == [Money(66_666, "VND")]  # 400.000 / 6, rounded down
    assert str(women.gifts_per_head) == "0.67"


def test_a_group_with_fewer_than_five_who_received_anything_is_merged():
    """The page names who received nothing: a group of 7 where one received an award showed
    "1 award", and the one person not on the list was its receiver."""
    groups = {
        "Sales": Tally(headcount=9, receivers=6, gifts=6),
        "Support": Tally(headcount=7, receivers=1, awards=1),
        "Legal": Tally(headcount=6, receivers=0),
        "Design": Tally(headcount=5, receivers=5, gifts=5),
    }
    # Support alone would still be its one receiver's: the smallest group joins it
    assert lines(merge_small(groups)) == [("Legal", 6), ("Sales", 9), ("Other groups", 12)]
    assert lines(merge_small({**groups, "Support": Tally(headcount=7, receivers=5)})) == [
        ("Design", 5),
        ("Legal", 6),
        ("Sales", 9),
        ("Support", 7),
    ]


def test_points_received_this_year_count_per_group_and_a_person_with_points_got_something():
    """Kudos received, a gift of points and an award's points are counted; the points a
    person gave are not theirs."""
    hr = UserFactory(roles={Role.HR}, active=False)
    sales = DepartmentFactory(name="Sales")
    team = [UserFactory(department=sales) for _ in range(10)]
    value = CompanyValueFactory()
    today = company_today()
    kudos.give_kudos(team[0], team[1].id, 30, value.id, "Cảm ơn", today=today)
    kudos.give_kudos(team[2], team[1].id, 20, value.id, "Giỏi lắm", today=today)
    for colleague in team[5:8]:
        kudos.give_kudos(team[0], colleague.id, 5, value.id, "Cảm ơn", today=today)
    award = awards.create_award(
        awards.AwardData("Xuất sắc", "Star", "Mô tả", "Description", None, 40), actor=hr
    )
    manager = UserFactory(roles={Role.MANAGER}, active=False)
    team[3].manager_id = manager.id
    db.session.commit()
    awards.approve(awards.nominate(award.id, team[3].id, "Great", actor=manager).id, actor=hr)
    report = fairness.report(today.year)
    (line,) = next(d for d in report.dimensions if d.key == "department").lines
    assert (line.label, line.tally.points) == ("Sales", 105)
    assert {p.id for p in report.nothing} == {team[n].id for n in (0, 2, 4, 8, 9)}
    assert fairness.points_received(today.year - 1, [p.id for p in team]) == {}


def test_people_who_received_nothing_this_year_are_listed(company):
    people, _ = company
    nothing = {p.id for p in fairness.report(YEAR).nothing}
    expected = {p.id for p in people["sales"][4:] + people["legal"][1:] + people["support"]}
    expected.discard(people["support"][1].id)  # their award
    assert nothing == expected


def test_a_filter_that_leaves_out_too_few_of_a_broader_report_shows_no_figures(company):
    """Hà Nội leaves out 5 people, of whom one received a gift: the whole company's figures
    less Hà Nội's were that one person's."""
    report = fairness.report(YEAR, Filters(location="Hà Nội"))
    assert report.total.tally.headcount == 10
    assert report.narrows_too_little
    assert report.withheld
    assert report.dimensions == []


def test_two_reports_cannot_single_out_one_person():
    """A department of 5 people in Hà Nội and 1 in Đà Nẵng: the department's report and the
    department in Hà Nội's both had 5 or more people; their difference was the one person in
    Đà Nẵng's points."""
    department = DepartmentFactory(name="D")
    here = [UserFactory(department=department, location="Hà Nội") for _ in range(5)]
    alone = UserFactory(department=department, location="Đà Nẵng")
    today = company_today()
    value = CompanyValueFactory()
    for person in [*here, alone]:
        kudos.give_kudos(UserFactory(), person.id, 37, value.id, "Giỏi!", today=today)

    whole = fairness.report(today.year, Filters(department_id=department.id))
    but_one = fairness.report(today.year, Filters(department_id=department.id, location="Hà Nội"))

    assert not whole.withheld  # everyone but the department: many more than five
    assert but_one.withheld
    assert but_one.dimensions == []


def test_a_population_under_five_shows_no_group(company):
    report = fairness.report(YEAR, Filters(location="Đà Nẵng"))
    assert report.too_few
    assert report.dimensions == []


def test_the_csv_file_opens_in_excel_with_exact_costs_and_no_formula():
    groups = [
        fairness.Line('=HYPERLINK("http://x")', Tally(headcount=5, gifts=1, cost={"USD": 1250})),
        fairness.Line("Chăm sóc khách hàng", Tally(headcount=6, gifts=2, cost={"VND": 700000})),
    ]
    total = fairness.Line("Everyone", Tally(headcount=11, gifts=3, cost={"VND": 700000}))
    report = fairness.Report(
        year=YEAR,
        filters=Filters(),
        total=total,
        dimensions=[fairness.Dimension("department", "Department", groups)],
        programmes=[],
        nothing=[],
    )
    text = fairness.to_csv(report)
    assert text.startswith("\ufeffDimension,")  # Excel reads UTF-8 (Vietnamese) after a BOM
    rows = text.removeprefix("\ufeff").split("\r\n")
    assert rows[1] == 'Department,"\'=HYPERLINK(""http://x"")",5,1,12.50,USD,0,'
    assert rows[2] == "Department,Chăm sóc khách hàng,6,2,700000,VND,0,"


def test_people_not_with_the_company_in_the_year_are_not_counted_nor_listed(company):
    # imported ahead of their start: one joins after the year, one after today; neither
    # could have received anything in the year, nor is in its head count
    after_the_year = UserFactory(hire_date=date(YEAR + 1, 1, 5))
    not_yet = UserFactory(hire_date=company_today() + timedelta(days=10))
    report = fairness.report(YEAR)
    nothing = {p.id for p in report.nothing}
    assert after_the_year.id not in nothing
    assert not_yet.id not in nothing
    assert report.total.tally.headcount == 15
