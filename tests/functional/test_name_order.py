"""Lists of people are in the order people alphabetise Vietnamese names ("Đặng" among the
Ds, "Ánh" among the As), on both databases: by code point, the databases' own order, "Ánh",
"Đặng" and "Ý" came after "Zoe" in finance's, HR's and managers' lists."""

from __future__ import annotations

import random
import re

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from perks.catalog import admin_queries
from perks.catalog import queries as catalog_queries
from perks.catalog.models import Perk
from perks.commissions import queries as commission_queries
from perks.commissions.models import CommissionGroup
from perks.extensions import db
from perks.feedback import items as feedback_items
from perks.feedback import ratings, ratings_queries
from perks.finance import reports
from perks.i18n import company_today
from perks.people.models import Role, User
from perks.recognition import awards
from perks.referrals import stats
from tests import factories
from tests.unit.feedback.helpers import used_claim

NAMES = ["An Phạm", "Ánh Lê", "Bảo Trần", "Đặng Thu Hà", "Đỗ Minh", "dũng Võ", "Ý Nhi", "Zoe Hồ"]


def _team(manager: User) -> None:
    for name in random.Random(3).sample(NAMES, len(NAMES)):
        factories.UserFactory(name=name, manager=manager)


def _ours(names: list[str]) -> list[str]:
    return [name for name in names if name in NAMES]


LISTS = {
    "finance's adjustment choices": lambda manager: [
        label.split(" <")[0] for _id, label in commission_queries.people_choices()
    ],
    "feedback owners to choose from": lambda manager: [
        p.name for p in feedback_items.possible_owners()
    ],
    "a manager's team to nominate": lambda manager: [p.name for p in awards.team(manager)],
    "a manager's team's referral figures": lambda manager: [
        row.name for row in stats.team_people(manager, stats.window_from_args(None, None))
    ],
}


@pytest.mark.parametrize("listed", LISTS.values(), ids=LISTS.keys())
def test_people_are_listed_alphabetically(app, listed):
    manager = factories.UserFactory(name="Quản Lý", roles={Role.EMPLOYEE, Role.MANAGER})
    _team(manager)
    assert _ours(listed(manager)) == NAMES


def test_the_tax_profiles_page_lists_people_alphabetically(client, login_as):
    login_as(Role.FINANCE, name="Kế Toán")
    _team(factories.UserFactory(name="Quản Lý"))
    page = client.get("/finance/tax").get_data(as_text=True)
    rows = re.findall(r'data-testid="tax-profile-row">\s*<td>([^<]+)<', page)
    assert _ours(rows) == NAMES


#: perk titles (Vietnamese, English), and their alphabetical order in each language
TITLES = [("Ăn trưa", "Lunch"), ("Đêm Hội An", "Hoi An by night"), ("Zumba", "Zumba class")]
IN_ORDER = {
    "vi": ["Ăn trưa", "Đêm Hội An", "Zumba"],
    "en": ["Hoi An by night", "Lunch", "Zumba class"],
}


def _perks() -> None:
    for title_vi, title_en in random.Random(5).sample(TITLES, len(TITLES)):
        factories.PerkFactory(title_vi=title_vi, title_en=title_en)


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_the_catalog_lists_perks_alphabetically_in_the_readers_language(app, locale):
    _perks()
    person = factories.UserFactory()
    cards = catalog_queries.catalog_cards(person, "", None, False, company_today(), locale=locale)
    assert [card.perk.localized("title", locale) for card in cards] == IN_ORDER[locale]


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_the_rules_page_lists_perks_alphabetically_in_the_readers_language(app, locale):
    _perks()
    rules = catalog_queries.published_rules(locale)
    assert [rule.perk.localized("title", locale) for rule in rules] == IN_ORDER[locale]


def test_a_commission_groups_members_and_a_perks_departments_are_listed_alphabetically(app):
    # loaded fresh, in the order the relationships give
    shuffled = random.Random(7).sample(NAMES, len(NAMES))
    group = CommissionGroup(
        name="Đại lý", members=[factories.UserFactory(name=n) for n in shuffled]
    )
    perk = factories.PerkFactory(
        departments=[factories.DepartmentFactory(name=n) for n in shuffled]
    )
    db.session.add(group)
    db.session.commit()
    group_id, perk_id = group.id, perk.id
    db.session.expunge_all()
    assert [p.name for p in db.session.get_one(CommissionGroup, group_id).members] == NAMES
    assert [d.name for d in db.session.get_one(Perk, perk_id).departments] == NAMES


def test_the_places_to_choose_from_are_alphabetised_with_those_a_rule_keeps(app):
    for place in ("Vũng Tàu", "Đà Nẵng", "Hà Nội", "Hà Nội"):
        factories.UserFactory(location=place)
    factories.UserFactory(location="Ấp Bắc", active=False)  # nobody works there any more
    assert admin_queries.staff_locations() == ["Đà Nẵng", "Hà Nội", "Vũng Tàu"]
    assert admin_queries.staff_locations(["Ấp Bắc", "Hà Nội"]) == [
        "Ấp Bắc",
        "Đà Nẵng",
        "Hà Nội",
        "Vũng Tàu",
    ]


def test_the_reports_products_and_the_ratings_of_a_day_are_alphabetised(app):
    _perks()
    rater = factories.UserFactory()
    for perk in db.session.scalars(select(Perk)):
        ratings.rate_claim(used_claim(rater, perk).id, rater, 4, "Tốt", show_name=True)
    for title_vi, _title_en in TITLES:
        factories.ProductFactory(name_vi=title_vi, name_en=title_vi)
    with force_locale("vi"):
        listed = ratings_queries.moderation_page(False, 1).items
        assert [rating.perk.title for rating in listed] == IN_ORDER["vi"]
    products = [name for _id, name in reports.filter_choices("VND").products]
    assert products == IN_ORDER["vi"]
