"""A staff create form sent twice (a double click on Save, the answer reloaded) makes one
thing: the second sending goes where the first went. On PostgreSQL, also when both arrive at
the same moment."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from perks.catalog.models import Perk
from perks.commissions.models import CommissionRule
from perks.extensions import db
from perks.feedback.surveys_models import Survey
from perks.people.models import Role
from perks.recognition.models import Award, GiftProgramme
from perks.shop.models import Product, ProductCategory
from tests.factories import UserFactory
from tests.functional import test_recognition_trimmed as recognition
from tests.helpers import login
from tests.racing import all_at_once
from tests.submissions import perk_form, product_form, rule_form

CASES: list[tuple[str, set[Role], Callable[[], dict[str, object]], type[Any]]] = [
    ("/manage/products/new", {Role.ADMIN}, product_form, Product),
    ("/admin/perks/new", {Role.HR}, perk_form, Perk),
    (
        "/manage/categories/new",
        {Role.ADMIN},
        lambda: {"name_vi": "Du lịch", "name_en": "Tours", "slug": ""},
        ProductCategory,
    ),
    ("/finance/commission-rules/new", {Role.FINANCE}, rule_form, CommissionRule),
    ("/manage/gifts/new", {Role.HR}, recognition._programme_form, GiftProgramme),
    ("/manage/awards/new", {Role.HR}, recognition._award_form, Award),
    (
        "/manage/surveys/new",
        {Role.HR},
        lambda: {
            "title_vi": "Khảo sát quý",
            "title_en": "Quarterly survey",
            "min_tenure_days": "0",
        },
        Survey,
    ),
]
IDS = [case[0] for case in CASES]


def count(model: type[Any]) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def sending_of(page: str) -> str:
    found = re.search(r'name="sending"[^>]*value="([0-9a-f]{32})"', page) or re.search(
        r'value="([0-9a-f]{32})"[^>]*name="sending"', page
    )
    assert found, "the form carries no token"
    return found.group(1)


@pytest.mark.parametrize(("url", "roles", "form", "model"), CASES, ids=IDS)
def test_a_form_sent_twice_makes_one_thing(client, url, roles, form, model):
    login(client, UserFactory(roles=roles, email="hr-manager@example.com", locale="en"))
    data = {**form(), "sending": sending_of(client.get(url).get_data(as_text=True))}
    before = count(model)

    first = client.post(url, data=data)
    again = client.post(url, data=data)

    assert first.status_code in (302, 303), first.get_data(as_text=True)[:2000]
    assert (again.status_code, again.headers["Location"]) == (
        first.status_code,
        first.headers["Location"],
    )
    assert count(model) == before + 1
    # a page opened anew is a new form: it makes another
    other = {**data, "sending": sending_of(client.get(url).get_data(as_text=True))}
    assert other["sending"] != data["sending"]
    if model is not CommissionRule:  # two default rules from the same day overlap
        assert client.post(url, data=other).status_code in (302, 303)
        assert count(model) == before + 2


def test_a_refused_form_keeps_its_token_and_then_makes_one_thing(client):
    login(client, UserFactory(roles={Role.ADMIN}, locale="en"))
    token = sending_of(client.get("/manage/products/new").get_data(as_text=True))
    refused = client.post("/manage/products/new", data=product_form(price="", sending=token))
    assert refused.status_code == 400
    assert sending_of(refused.get_data(as_text=True)) == token
    for _ in range(2):
        assert (
            client.post("/manage/products/new", data=product_form(sending=token)).status_code == 303
        )
    assert count(Product) == 1


def test_another_persons_token_makes_nothing(client):
    login(client, UserFactory(roles={Role.ADMIN}, locale="en"))
    token = sending_of(client.get("/manage/products/new").get_data(as_text=True))
    client.post("/manage/products/new", data=product_form(sending=token))
    client.post("/logout")
    login(client, UserFactory(roles={Role.ADMIN}, locale="en"))
    refused = client.post("/manage/products/new", data=product_form(sending=token))
    assert refused.status_code == 400
    assert "This form was sent already" in refused.get_data(as_text=True)
    assert count(Product) == 1


@pytest.mark.postgres_only
@pytest.mark.parametrize(
    ("url", "roles", "form", "model"), [CASES[0], CASES[3], CASES[4]], ids=IDS[:1] + IDS[3:5]
)
def test_a_form_sent_twice_at_once_makes_one_thing(app: Flask, url, roles, form, model):
    person = UserFactory(roles=roles, email="hr-manager@example.com", locale="en")
    data = form()
    db.session.commit()
    clients = [app.test_client() for _ in range(2)]
    for each in clients:
        login(each, person)
    token = sending_of(clients[0].get(url).get_data(as_text=True))

    outcome = all_at_once(
        app,
        clients,
        lambda each: each.post(url, data={**data, "sending": token}),
        requests=True,
    )

    assert outcome.errors == []
    assert sorted(r.status_code for r in outcome.results) in ([302, 302], [303, 303])
    assert len({r.headers["Location"] for r in outcome.results}) == 1
    assert count(model) == 1
