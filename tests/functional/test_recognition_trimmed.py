"""Recognition forms take names, greetings, messages and reasons without the spaces and
invisible characters (zero-width space, byte order mark, word joiner) around them: one made
only of them is refused as empty (400, the field marked), one with them around is saved
without them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from perks.catalog.models import PerkKind
from perks.errors import ValidationFailed
from perks.extensions import db
from perks.people.models import Role, User
from perks.recognition import awards, services
from perks.recognition.models import Award, GiftProgramme, Nomination, Occasion
from perks.recognition.points_models import CompanyValue, Kudos
from tests.factories import CompanyValueFactory, PerkFactory, UserFactory
from tests.helpers import login

INVISIBLE = "\u200b\ufeff\u2060"


def _occasion_form() -> dict[str, object]:
    return {
        "name_vi": "Tất niên",
        "name_en": "Year-end party",
        "kind": "lunar",
        "day": "23",
        "month": "12",
    }


def _programme_form() -> dict[str, object]:
    services.add_vietnamese_calendar(actor=None)
    birthday = db.session.scalars(select(Occasion).where(Occasion.key == "birthday")).one()
    perk = PerkFactory(kind=PerkKind.GIFT, per_person_limit=None)
    return {
        "name_vi": "Quà sinh nhật",
        "name_en": "Birthday gift",
        "occasion_id": str(birthday.id),
        "perk_id": str(perk.id),
        "days_ahead": "0",
        "message_vi": "Chúc mừng sinh nhật!",
        "message_en": "Happy birthday!",
        "unit_cost": "200.000",
        "budget": "",
        "min_tenure_days": "0",
        "gender": "",
    }


def _award_form() -> dict[str, object]:
    return {
        "name_vi": "Nhân viên xuất sắc tháng",
        "name_en": "Employee of the month",
        "description_vi": "Đóng góp nổi bật nhất tháng.",
        "description_en": "The month's outstanding contribution.",
        "perk_id": "0",
        "points": "0",
        "active": "y",
    }


def _value_form() -> dict[str, object]:
    return {"name_vi": "Sáng tạo", "name_en": "Creativity", "active": "y"}


def _kudos_form() -> dict[str, object]:
    colleague = UserFactory(name="Trần Thị Đồng")
    value = CompanyValueFactory()
    return {"colleague": colleague.email, "points": "5", "value": value.id, "message": "Cảm ơn!"}


def _nomination_form() -> dict[str, object]:
    me = db.session.scalars(select(User).where(User.email == "hr-manager@example.com")).one()
    person = UserFactory(manager=me)
    award = awards.create_award(
        awards.AwardData("Ngôi sao", "Star", "Tháng tốt", "A good month", None, 0), actor=me
    )
    return {"award_id": award.id, "nominee_id": person.id, "reason": "Great quarter"}


#: (url, who posts, the form, the field, what was saved: that field's value)
CASES: list[tuple[str, set[Role], Callable[[], dict[str, object]], str, Callable[[], Any]]] = [
    (
        "/manage/occasions/new",
        {Role.HR},
        _occasion_form,
        "name_vi",
        lambda: db.session.scalars(select(Occasion.name_vi).where(Occasion.key.is_(None))).all(),
    ),
    (
        "/manage/occasions/new",
        {Role.HR},
        _occasion_form,
        "name_en",
        lambda: db.session.scalars(select(Occasion.name_en).where(Occasion.key.is_(None))).all(),
    ),
    (
        "/manage/gifts/new",
        {Role.HR},
        _programme_form,
        "name_vi",
        lambda: db.session.scalars(select(GiftProgramme.name_vi)).all(),
    ),
    (
        "/manage/gifts/new",
        {Role.HR},
        _programme_form,
        "name_en",
        lambda: db.session.scalars(select(GiftProgramme.name_en)).all(),
    ),
    (
        "/manage/gifts/new",
        {Role.HR},
        _programme_form,
        "message_vi",
        lambda: db.session.scalars(select(GiftProgramme.message_vi)).all(),
    ),
    (
        "/manage/gifts/new",
        {Role.HR},
        _programme_form,
        "message_en",
        lambda: db.session.scalars(select(GiftProgramme.message_en)).all(),
    ),
    (
        "/manage/awards/new",
        {Role.HR},
        _award_form,
        "name_vi",
        lambda: db.session.scalars(select(Award.name_vi)).all(),
    ),
    (
        "/manage/awards/new",
        {Role.HR},
        _award_form,
        "name_en",
        lambda: db.session.scalars(select(Award.name_en)).all(),
    ),
    (
        "/manage/awards/new",
        {Role.HR},
        _award_form,
        "description_vi",
        lambda: db.session.scalars(select(Award.description_vi)).all(),
    ),
    (
        "/manage/points/values/new",
        {Role.HR},
        _value_form,
        "name_vi",
        lambda: db.session.scalars(select(CompanyValue.name_vi)).all(),
    ),
    (
        "/manage/points/values/new",
        {Role.HR},
        _value_form,
        "name_en",
        lambda: db.session.scalars(select(CompanyValue.name_en)).all(),
    ),
    (
        "/kudos/new",
        {Role.EMPLOYEE},
        _kudos_form,
        "message",
        lambda: db.session.scalars(select(Kudos.message)).all(),
    ),
    (
        "/awards/nominate",
        {Role.MANAGER},
        _nomination_form,
        "reason",
        lambda: db.session.scalars(select(Nomination.reason)).all(),
    ),
]


@pytest.mark.parametrize(
    ("url", "roles", "form", "field", "saved"),
    CASES,
    ids=[f"{case[0]}:{case[3]}" for case in CASES],
)
def test_an_invisible_value_is_refused_and_invisible_ends_are_not_kept(
    client, url, roles, form, field, saved
):
    login(client, UserFactory(roles=roles, email="hr-manager@example.com", locale="en"))
    data = form()
    before = saved()

    refused = client.post(url, data={**data, field: INVISIBLE})

    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert f'name="{field}"' in page
    assert "is-invalid" in page
    assert saved() == before

    response = client.post(url, data={**data, field: f" {INVISIBLE}Cảm ơn nhé\u200b "})

    assert response.status_code == 303, response.get_data(as_text=True)[:3000]
    assert saved() == [*before, "Cảm ơn nhé"]


def test_the_services_trim_the_same_way_for_other_callers(app):
    with pytest.raises(ValidationFailed) as refused:
        services.both_languages("Tết", INVISIBLE, "name")
    assert refused.value.details["field"] == "name_en"
    assert services.both_languages("\ufeffTết ", " New year\u200b", "name") == ("Tết", "New year")
