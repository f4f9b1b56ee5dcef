"""The JSON API (``/api/v1``): tokens, scopes, a person's own data, idempotent redemption,
the batch upsert against the CSV import, and a property-based run over its OpenAPI document."""

from __future__ import annotations

import csv
import io
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import schemathesis
from flask import Flask, current_app
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select

from perks.api import idempotency, tokens
from perks.api.models import ApiToken, IdempotencyKey, Scope
from perks.api.views import bp
from perks.audit import AuditEvent
from perks.catalog.models import Claim, ClaimStatus
from perks.commissions.models import Commission
from perks.extensions import db
from perks.people import imports
from perks.people.models import Role, User
from perks.shop.models import Order
from tests import factories
from tests.helpers import clean_database, counting_statements, login

IN_90_DAYS = datetime.now(UTC).date() + timedelta(days=90)


def bearer(secret: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}", **headers}


def service_token(*scopes: Scope, admin: User | None = None) -> str:
    admin = admin or factories.UserFactory(roles={Role.ADMIN})
    return tokens.create_service_token("Hệ thống HR", scopes, IN_90_DAYS, actor=admin).secret


def paid_order() -> Order:
    order = factories.OrderFactory(customer_name="Nguyễn Thị Lan", locale="vi")
    order.paid_at = datetime.now(UTC)
    order.paid_amount = order.total_amount
    order.payment_intent_id = f"pi_test_{order.id:06d}"
    order.refresh_status()
    db.session.commit()
    return order


def a_claim(user: User) -> Claim:
    perk = factories.PerkFactory()
    claim = Claim(
        perk_id=perk.id,
        user_id=user.id,
        code="",
        period_key="ever",
        claimed_at=datetime.now(UTC),
        status=ClaimStatus.CLAIMED,
    )
    db.session.add(claim)
    db.session.commit()
    return claim


# --- the document -------------------------------------------------------------------------------


def test_the_openapi_document_validates_and_the_docs_page_needs_no_other_site(
    client: FlaskClient,
) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    validate(document)
    assert document["openapi"].startswith("3.1")
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in html
    assert "https://" not in html
    assert "<script>" not in html
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]


def test_the_document_is_written_when_first_read_not_when_the_app_is_made(app_factory) -> None:
    """Writing it cost a third of ``create_app``: every worker, every ``flask`` command
    and every app a test makes paid it, though few serve the document."""
    made = app_factory()
    api = made.extensions["flask-smorest"]["apis"][""]["ext_obj"]
    assert api._undocumented  # nothing written yet
    document = made.test_client().get("/api/v1/openapi.json").get_json()
    assert not api._undocumented
    assert "/api/v1/people/{employee_number}" in document["paths"]
    assert document["tags"] == [{"name": "api", "description": bp.description}]
    assert made.test_client().get("/api/v1/openapi.json").get_json() == document  # once


def test_threads_reading_the_document_first_at_once_all_read_it_whole(app_factory) -> None:
    """A worker's threads may serve the first reads together: one writes the document, the
    others wait for it rather than serialising a half-written one."""
    made = app_factory()
    api = made.extensions["flask-smorest"]["apis"][""]["ext_obj"]
    whole = len(app_factory().test_client().get("/api/v1/openapi.json").get_json()["paths"])
    start = threading.Barrier(8)

    def read(_n: int) -> int:
        start.wait(timeout=30)
        return len(api.spec.to_dict()["paths"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(read, range(8))) == [whole] * 8


def test_the_document_names_the_idempotency_key_of_every_write(client: FlaskClient) -> None:
    """The README told integrators to send an Idempotency-Key on every redemption, but the
    document, which client generators read, named neither the header nor the replay mark."""
    document = client.get("/api/v1/openapi.json").get_json()
    writes = [
        (path, method, operation)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if method in ("post", "put")
    ]
    assert len(writes) == 5
    for path, method, operation in writes:
        headers = {
            parameter["name"]: parameter
            for parameter in operation.get("parameters", [])
            if parameter["in"] == "header"
        }
        key = headers.get("Idempotency-Key")
        assert key is not None, (method, path)
        assert key["schema"]["maxLength"] == idempotency.MAX_KEY_LENGTH
        assert "Idempotent-Replayed" in operation["responses"]["200"]["headers"], (method, path)


def test_the_document_shows_what_an_order_line_at_the_counter_holds(
    client: FlaskClient,
) -> None:
    """The lines of an order at the counter were documented as objects of anything, so a
    generated client could not read their product and quantity."""
    order = paid_order()
    secret = service_token(Scope.REDEMPTIONS_WRITE)
    answer = client.get(f"/api/v1/counters/orders/{order.redemption_code}", headers=bearer(secret))
    assert answer.status_code == 200, answer.get_data(as_text=True)
    sent = answer.get_json()["lines"]
    assert sent
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    for name in ("CounterOrder", "RedeemedOrder"):
        items = schemas[name]["properties"]["lines"]["items"]
        line = schemas[items["$ref"].rsplit("/", 1)[-1]]
        assert line["properties"]["quantity"]["type"] == "integer"
        assert set(line["required"]) == set(sent[0]) == {"product", "quantity"}


def test_every_field_an_answer_always_sends_is_required_in_the_document(
    client: FlaskClient,
) -> None:
    """A person's department, location, dates and employee number are always sent (null
    when there are none) but were not marked required: a client generated from the document
    made them optional, to be checked for absence as well as null. Every successful answer's
    fields are always sent, so each is required (a problem's extensions are not)."""
    document = client.get("/api/v1/openapi.json").get_json()
    schemas = document["components"]["schemas"]

    def named(schema: dict[str, Any]) -> set[str]:
        refs = [schema.get("$ref"), schema.get("items", {}).get("$ref")]
        return {ref.rsplit("/", 1)[-1] for ref in refs if ref}

    answered: set[str] = set()
    for operations in document["paths"].values():
        for operation in operations.values():
            if not isinstance(operation, dict):  # the path's parameters
                continue
            for status, response in operation.get("responses", {}).items():
                if status.startswith("2"):
                    for content in response.get("content", {}).values():
                        answered |= named(content["schema"])
    seen: set[str] = set()
    while answered - seen:
        name = (answered - seen).pop()
        seen.add(name)
        properties = schemas[name].get("properties", {})
        for field in properties.values():
            answered |= named(field)
        assert set(schemas[name].get("required", [])) == set(properties), name
    assert "PersonOut" in seen

    # And a person with none of them gets each as null, which the document allows.
    factories.UserFactory(employee_number="NV620", department=None, location="", hire_date=None)
    secret = service_token(Scope.PEOPLE_READ)
    person = client.get("/api/v1/people/NV620", headers=bearer(secret)).get_json()
    shown = schemas["PersonOut"]
    assert set(person) == set(shown["required"])
    for name, value in person.items():
        if value is None:
            assert "null" in shown["properties"][name]["type"], name


# --- tokens -------------------------------------------------------------------------------------


def test_no_token_a_wrong_one_an_expired_or_revoked_one_get_401_as_problem_json(
    client: FlaskClient,
) -> None:
    secret = service_token(Scope.PEOPLE_READ)
    assert client.get("/api/v1/people", headers=bearer(secret)).status_code == 200
    answer = client.get("/api/v1/people", headers={"Accept-Language": "vi"})
    assert answer.status_code == 401
    assert answer.mimetype == "application/problem+json"
    assert answer.get_json()["status"] == 401
    assert "Bearer" in answer.get_json()["detail"]
    assert client.get("/api/v1/people", headers=bearer("pk_" + "x" * 43)).status_code == 401

    token = db.session.scalar(select(ApiToken))
    assert token is not None
    token.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    db.session.commit()
    assert client.get("/api/v1/people", headers=bearer(secret)).status_code == 401

    token.expires_at = datetime.now(UTC) + timedelta(days=1)
    db.session.commit()
    assert client.get("/api/v1/people", headers=bearer(secret)).status_code == 200
    tokens.revoke_token(token.id, actor=token.user)
    assert client.get("/api/v1/people", headers=bearer(secret)).status_code == 401


def test_every_401_names_the_bearer_scheme_it_wants(client: FlaskClient) -> None:
    """A 401 must carry ``WWW-Authenticate`` (RFC 9110, RFC 6750): without it some HTTP
    clients (Java's HttpURLConnection) fail on the answer instead of reading the problem,
    and none is told which scheme to use."""
    secret = service_token(Scope.PEOPLE_READ)
    token = db.session.scalars(select(ApiToken)).one()
    tokens.revoke_token(token.id, actor=token.user)
    for headers in ({}, bearer("pk_" + "x" * 43), bearer(secret), {"Authorization": "Basic eA=="}):
        answer = client.get("/api/v1/people", headers=headers)
        assert answer.status_code == 401
        assert answer.headers.get("WWW-Authenticate", "").startswith("Bearer"), headers
    document = client.get("/api/v1/openapi.json").get_json()
    assert (
        "WWW-Authenticate"
        in document["paths"]["/api/v1/people"]["get"]["responses"]["401"]["headers"]
    )


def test_a_service_token_stops_while_its_maker_is_no_longer_an_admin(
    client: FlaskClient,
) -> None:
    maker = factories.UserFactory(roles={Role.EMPLOYEE, Role.ADMIN})
    other_admin = factories.UserFactory(roles={Role.ADMIN})
    secret = service_token(Scope.PEOPLE_READ, admin=maker)
    assert client.get("/api/v1/people", headers=bearer(secret)).status_code == 200

    maker.set_roles({Role.EMPLOYEE})  # another admin takes the admin role away
    db.session.commit()
    refused = client.get("/api/v1/people", headers=bearer(secret, **{"Accept-Language": "en"}))
    assert refused.status_code == 401
    assert "no longer an admin" in refused.get_json()["detail"]
    # The other admins see it stopped, and may still revoke it.
    login(client, other_admin)
    page = client.get("/admin/api-tokens").get_data(as_text=True)
    assert 'data-testid="token-stopped"' in page
    assert "/revoke" in page

    maker.set_roles({Role.EMPLOYEE, Role.ADMIN})  # given back: it works again
    db.session.commit()
    assert client.get("/api/v1/people", headers=bearer(secret)).status_code == 200


def test_a_token_whose_owner_left_says_so_not_expired_or_revoked(client: FlaskClient) -> None:
    """A personal token of a deactivated person answered "expired or was revoked": the
    person, or whoever supports them, looked for an expiry or a revocation that never was."""
    person = factories.UserFactory(employee_number="NV510")
    secret = tokens.create_personal_token(
        "Điện thoại", [Scope.PERKS_READ], IN_90_DAYS, person=person
    ).secret
    assert client.get("/api/v1/claims", headers=bearer(secret)).status_code == 200
    person.active = False
    db.session.commit()
    english = client.get("/api/v1/claims", headers=bearer(secret, **{"Accept-Language": "en"}))
    assert english.status_code == 401
    detail = english.get_json()["detail"]
    assert "account is no longer active" in detail
    assert "expired" not in detail
    assert "revoked" not in detail
    vietnamese = client.get("/api/v1/claims", headers=bearer(secret, **{"Accept-Language": "vi"}))
    assert vietnamese.status_code == 401
    assert vietnamese.get_json()["detail"] != detail


def test_a_token_works_through_the_whole_of_its_last_day(client: FlaskClient) -> None:
    from perks.errors import ValidationFailed
    from perks.i18n import company_today, day_start

    admin = factories.UserFactory(roles={Role.ADMIN})
    last = company_today() + timedelta(days=30)
    made = tokens.create_service_token("Két", [Scope.PEOPLE_READ], last, actor=admin).token
    assert tokens.is_live(made, day_start(last) + timedelta(hours=23, minutes=59))
    assert not tokens.is_live(made, day_start(last + timedelta(days=1)))
    assert tokens.last_day(made) == last

    login(client, admin)
    page = client.get("/admin/api-tokens", headers={"Accept-Language": "en"})
    assert last.strftime("%d/%m/%Y") in page.get_data(as_text=True)
    # At most 366 days from today (company days), and after today.
    farthest = company_today() + timedelta(days=tokens.MAX_DAYS)
    tokens.create_service_token("Xa", [Scope.PEOPLE_READ], farthest, actor=admin)
    for day in (farthest + timedelta(days=1), company_today()):
        with pytest.raises(ValidationFailed):
            tokens.create_service_token("x", [Scope.PEOPLE_READ], day, actor=admin)


def test_a_token_without_the_scope_gets_403_in_the_callers_language(client: FlaskClient) -> None:
    secret = service_token(Scope.PERKS_READ)
    english = client.get("/api/v1/people", headers=bearer(secret, **{"Accept-Language": "en"}))
    assert english.status_code == 403
    assert english.mimetype == "application/problem+json"
    assert "people:read" in english.get_json()["detail"]
    vietnamese = client.get("/api/v1/people", headers=bearer(secret, **{"Accept-Language": "vi"}))
    assert vietnamese.status_code == 403
    assert vietnamese.get_json()["detail"] != english.get_json()["detail"]
    post = client.post("/api/v1/counters/claims/ABC/redeem", headers=bearer(secret), json={})
    assert post.status_code == 403


def test_the_document_names_the_permission_each_operation_needs(client: FlaskClient) -> None:
    """The document said only "a bearer token" for every operation: an integrator could not
    tell which permission to give a token before it was refused (403). Each operation's
    security requirement names the one permission whose lack refuses it."""
    admin = factories.UserFactory(roles={Role.ADMIN}, employee_number="NV1")
    lacking = {scope: service_token(*(set(Scope) - {scope}), admin=admin) for scope in Scope}
    document = client.get("/api/v1/openapi.json").get_json()
    for path, operations in document["paths"].items():
        url = path.replace("{employee_number}", "NV1").replace("{code}", "X")
        url = url.replace("{reference}", "R")
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "security" not in operation:
                continue
            refused = [
                scope.value
                for scope, secret in lacking.items()
                if client.open(
                    url, method=method.upper(), headers=bearer(secret), json={}
                ).status_code
                == 403
            ]
            assert operation["security"] == [{"bearer": refused}], (method, path)


def test_the_secret_is_stored_hashed_and_only_admins_make_service_tokens(app: Flask) -> None:
    admin = factories.UserFactory(roles={Role.ADMIN})
    made = tokens.create_service_token("Két", [Scope.PERKS_READ], IN_90_DAYS, actor=admin)
    assert made.secret not in str(made.token.secret_sha256)
    assert made.token.secret_sha256 == tokens.secret_hash(made.secret)
    hr = factories.UserFactory(roles={Role.HR})
    from perks.errors import NotPermitted

    with pytest.raises(NotPermitted):
        tokens.create_service_token("x", [Scope.PERKS_READ], IN_90_DAYS, actor=hr)


def test_revoking_a_token_says_which_one_stopped(client: FlaskClient) -> None:
    """The page came back with the token's row marked and no word of what happened."""
    admin = factories.UserFactory(roles={Role.ADMIN, Role.EMPLOYEE}, locale="vi")
    made = tokens.create_service_token(
        "Máy tính tiền 3", [Scope.PERKS_READ], IN_90_DAYS, actor=admin
    )
    mine = tokens.create_personal_token(
        "Bảng tính của tôi", [Scope.PERKS_READ], IN_90_DAYS, person=admin
    )
    login(client, admin)
    for url, label in (
        (f"/admin/api-tokens/{made.token.id}/revoke", "Máy tính tiền 3"),
        (f"/account/api-tokens/{mine.token.id}/revoke", "Bảng tính của tôi"),
    ):
        page = client.post(url, follow_redirects=True)
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert f"Đã thu hồi token “{label}”" in html, html


def test_the_audit_log_says_what_a_personal_token_may_do_and_until_when(app) -> None:  # type: ignore[no-untyped-def]
    """Only the service token's event named its label, permissions and last day: a token
    someone made for themselves was "created", with nothing to tell what it could read."""
    me = factories.UserFactory()
    made = tokens.create_personal_token(
        "Bảng tính", [Scope.COMMISSIONS_READ.value], IN_90_DAYS, person=me
    )
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "api.personal_token_created")
    ).one()
    assert event.details == {
        "label": "Bảng tính",
        "scopes": made.token.scopes,
        "expires_on": IN_90_DAYS.isoformat(),
    }


def test_a_persons_token_reads_their_own_data_and_never_anothers(client: FlaskClient) -> None:
    me = factories.UserFactory(employee_number="NV001")
    other = factories.UserFactory(employee_number="NV002")
    mine, theirs = a_claim(me), a_claim(other)
    secret = tokens.create_personal_token(
        "Bảng tính", [Scope.PERKS_READ.value, Scope.COMMISSIONS_READ.value], IN_90_DAYS, person=me
    ).secret

    own = client.get("/api/v1/claims", headers=bearer(secret)).get_json()
    assert [claim["reference"] for claim in own["items"]] == [mine.reference]
    asked = client.get("/api/v1/claims?person=NV002", headers=bearer(secret))
    assert asked.status_code == 404
    assert theirs.reference not in asked.get_data(as_text=True)
    assert client.get("/api/v1/commissions?person=NV002", headers=bearer(secret)).status_code == 404
    assert client.get("/api/v1/perks?person=NV002", headers=bearer(secret)).status_code == 404
    assert client.get("/api/v1/people", headers=bearer(secret)).status_code == 403
    from perks.errors import ValidationFailed

    with pytest.raises(ValidationFailed):  # a person cannot give themselves more
        tokens.create_personal_token("x", [Scope.PEOPLE_READ.value], IN_90_DAYS, person=me)


def test_a_leaver_can_claim_no_perk_and_the_catalog_says_why(client: FlaskClient) -> None:
    """``GET /perks?person=`` said a deactivated person could claim what they could before."""
    factories.PerkFactory()
    leaver = factories.UserFactory(employee_number="NV009", active=False)
    secret = service_token(Scope.PERKS_READ)
    answer = client.get(
        f"/api/v1/perks?person={leaver.employee_number}",
        headers=bearer(secret, **{"Accept-Language": "en"}),
    ).get_json()
    assert answer["items"]
    for item in answer["items"]:
        assert item["can_claim"] is False
        assert {"code": "inactive", "message": "No longer with the company."} in item["reasons"]


def test_a_read_only_service_token_reads_claims_without_their_voucher_codes(
    client: FlaskClient,
) -> None:
    claims = [a_claim(factories.UserFactory()) for _ in range(2)]
    reader = service_token(Scope.PERKS_READ)
    read = client.get("/api/v1/claims", headers=bearer(reader)).get_json()["items"]
    assert [item["id"] for item in read] == [claim.id for claim in claims]
    assert [item["reference"] for item in read] == [None, None]
    assert all(claim.reference not in str(read) for claim in claims)

    till = service_token(Scope.PERKS_READ, Scope.REDEMPTIONS_WRITE)
    items = client.get("/api/v1/claims", headers=bearer(till)).get_json()["items"]
    assert [item["reference"] for item in items] == [claim.reference for claim in claims]


# --- counters -----------------------------------------------------------------------------------


def test_the_same_idempotency_key_twice_redeems_once(client: FlaskClient) -> None:
    order = paid_order()
    secret = service_token(Scope.REDEMPTIONS_WRITE)
    url = f"/api/v1/counters/orders/{order.redemption_code}/redeem"
    headers = bearer(secret, **{"Idempotency-Key": "till-7-0001"})

    first = client.post(url, headers=headers)
    second = client.post(url, headers=headers)
    assert first.status_code == second.status_code == 200
    assert second.headers["Idempotent-Replayed"] == "true"
    assert first.get_json() == second.get_json()
    assert first.get_json()["redeemed"] is True  # success, never "not redeemable"
    assert "redeemable" not in first.get_json()
    assert "problem" not in first.get_json()
    assert first.get_json()["redeemed_by"]
    redeemed = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "shop.order_redeemed")
    ).all()
    assert len(redeemed) == 1
    api_events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "api.order_redeemed")
    ).all()
    assert [event.details["token"] for event in api_events] == ["Hệ thống HR"]

    other_body = client.post(url + "?x=1", headers=headers)  # same key, another request
    assert other_body.status_code in (409, 422)
    again = client.post(url, headers=bearer(secret))  # no key: the counter's answer
    assert again.status_code == 409
    assert "Already redeemed" in again.get_json()["detail"]


def _claimed_key(key: str, url: str, age: timedelta) -> IdempotencyKey:
    """The row a request with ``key`` leaves while it is still being answered, ``age`` old."""
    token = db.session.scalars(select(ApiToken)).one()
    with current_app.test_request_context(url, method="POST"):
        digest = idempotency.request_hash()
    claim = IdempotencyKey(
        token_id=token.id,
        key=key,
        request_sha256=digest,
        created_at=datetime.now(UTC) - age,
    )
    db.session.add(claim)
    db.session.commit()
    return claim


def test_a_twin_request_while_the_first_is_answered_gets_409_and_writes_nothing(
    client: FlaskClient,
) -> None:
    order = paid_order()
    secret = service_token(Scope.REDEMPTIONS_WRITE)
    url = f"/api/v1/counters/orders/{order.redemption_code}/redeem"
    _claimed_key("till-7-0002", url, timedelta(seconds=3))

    twin = client.post(url, headers=bearer(secret, **{"Idempotency-Key": "till-7-0002"}))
    assert twin.status_code == 409
    assert twin.mimetype == "application/problem+json"
    assert "still being answered" in twin.get_json()["detail"]
    in_vietnamese = client.post(
        url,
        headers=bearer(secret, **{"Idempotency-Key": "till-7-0002", "Accept-Language": "vi"}),
    )
    assert "vẫn đang được xử lý" in in_vietnamese.get_json()["detail"]
    db.session.refresh(order)
    assert order.redeemed_at is None


def test_of_two_twins_claiming_a_key_at_once_only_the_first_wins(client: FlaskClient) -> None:
    # The claim is the insert itself: the loser's insert does nothing, and it must know (on
    # PostgreSQL the driver's row count of an insert was -1, which read as a win).
    service_token(Scope.REDEMPTIONS_WRITE)
    token = db.session.scalars(select(ApiToken)).one()
    assert idempotency._claimed(token, "till-7-0009", "digest") is True
    assert idempotency._claimed(token, "till-7-0009", "digest") is False
    assert db.session.scalars(select(IdempotencyKey.key)).all() == ["till-7-0009"]


def test_a_claim_left_by_a_process_that_died_is_taken_over(client: FlaskClient) -> None:
    order = paid_order()
    secret = service_token(Scope.REDEMPTIONS_WRITE)
    url = f"/api/v1/counters/orders/{order.redemption_code}/redeem"
    _claimed_key("till-7-0003", url, idempotency.ABANDONED_AFTER + timedelta(seconds=1))
    headers = bearer(secret, **{"Idempotency-Key": "till-7-0003"})

    first = client.post(url, headers=headers)
    assert first.status_code == 200
    again = client.post(url, headers=headers)
    assert again.headers["Idempotent-Replayed"] == "true"
    kept = db.session.scalars(select(IdempotencyKey)).one()
    assert kept.status_code == 200


def test_a_write_that_fails_gives_its_key_back(client: FlaskClient) -> None:
    order = paid_order()
    secret = service_token(Scope.REDEMPTIONS_WRITE)
    url = f"/api/v1/counters/orders/{order.redemption_code}/redeem"
    client.post(url, headers=bearer(secret))  # redeemed without a key
    headers = bearer(secret, **{"Idempotency-Key": "till-7-0004"})

    refused = client.post(url, headers=headers)
    assert refused.status_code == 409
    assert "Already redeemed" in refused.get_json()["detail"]
    assert db.session.scalars(select(IdempotencyKey)).all() == []
    assert client.post(url, headers=headers).status_code == 409  # not "still being answered"


def test_answers_older_than_a_day_are_forgotten_by_the_scheduled_task(app: Flask) -> None:
    from perks.jobs import BEAT_SCHEDULE

    service_token(Scope.REDEMPTIONS_WRITE)
    token = db.session.scalars(select(ApiToken)).one()
    now = datetime.now(UTC)
    for key, age in (("old", timedelta(hours=25)), ("new", timedelta(hours=23))):
        db.session.add(
            IdempotencyKey(
                token_id=token.id,
                key=key,
                request_sha256="0" * 64,
                status_code=200,
                body={},
                created_at=now - age,
            )
        )
    db.session.commit()
    entry = BEAT_SCHEDULE["forget-old-idempotency-keys"]
    task = app.extensions["celery"].tasks[entry["task"]]
    assert task.apply().get() == 1
    assert task.apply().get() == 0
    db.session.expire_all()
    assert [k.key for k in db.session.scalars(select(IdempotencyKey))] == ["new"]


def test_answers_with_data_are_kept_out_of_every_cache(client: FlaskClient) -> None:
    """The problems said no-store, the data did not: a till's list of claims (bearer voucher
    codes), a payroll's commissions, a replayed redemption could be kept by a browser or
    a proxy that caches authorised answers."""
    claim = a_claim(factories.UserFactory(employee_number="NV020"))
    secret = service_token(Scope.PERKS_READ, Scope.REDEMPTIONS_WRITE, Scope.PEOPLE_READ)
    listed = client.get("/api/v1/claims", headers=bearer(secret))
    assert listed.get_json()["items"][0]["reference"] == claim.reference
    key = bearer(secret, **{"Idempotency-Key": "till-1-000001"})
    first = client.post(f"/api/v1/counters/claims/{claim.reference}/redeem", headers=key)
    replayed = client.post(f"/api/v1/counters/claims/{claim.reference}/redeem", headers=key)
    assert replayed.headers["Idempotent-Replayed"] == "true"
    for answer in (
        listed,
        client.get("/api/v1/people/NV020", headers=bearer(secret)),
        client.get(f"/api/v1/counters/claims/{claim.reference}", headers=bearer(secret)),
        first,
        replayed,
    ):
        assert answer.status_code == 200, answer.get_data(as_text=True)
        assert answer.headers["Cache-Control"] == "no-store", answer.request.path


def test_a_claim_looked_up_and_redeemed_answers_as_the_counter_page(client: FlaskClient) -> None:
    claim = a_claim(factories.UserFactory())
    secret = service_token(Scope.REDEMPTIONS_WRITE)
    looked = client.get(f"/api/v1/counters/claims/{claim.reference}", headers=bearer(secret))
    assert looked.get_json()["redeemable"] is True
    used = client.post(f"/api/v1/counters/claims/{claim.reference}/redeem", headers=bearer(secret))
    assert used.status_code == 200
    assert used.get_json()["redeemed"] is True
    assert "redeemable" not in used.get_json()
    assert "problem" not in used.get_json()
    assert used.get_json()["used_by"]
    assert used.get_json()["status"] == "used"
    twice = client.post(f"/api/v1/counters/claims/{claim.reference}/redeem", headers=bearer(secret))
    assert twice.status_code == 409
    assert "Already used" in twice.get_json()["detail"]


# --- people -------------------------------------------------------------------------------------


def people_records(count: int) -> list[dict[str, Any]]:
    records = []
    for i in range(count):
        manager = "" if i < 10 else f"quan.ly{i % 10}@congty.example"
        records.append(
            {
                "employee_number": f"NV{i:06d}",
                "email": f"quan.ly{i}@congty.example" if i < 10 else f"nv{i}@congty.example",
                "name": f"Nguyễn Văn {i}",
                "department": f"Phòng {i % 7}",
                "location": "Hà Nội",
                "employment_type": "contractor" if i % 20 == 0 else "staff",
                "hire_date": f"{2010 + i % 15}-{i % 12 + 1:02d}-{i % 28 + 1:02d}",
                "birthday": f"{i % 28 + 1:02d}/{i % 12 + 1:02d}",
                "manager_email": manager or None,
                "leaving_date": "2027-06-30" if i % 50 == 7 else None,
                "language": "en" if i % 10 == 0 else "vi",
                "roles": ["employee", "manager"] if i < 10 else ["employee"],
                "active": True,
            }
        )
    return records


def snapshot() -> list[tuple[Any, ...]]:
    db.session.expire_all()
    return sorted(
        (
            user.employee_number,
            user.email,
            user.name,
            user.department.name if user.department else None,
            user.location,
            user.employment_type.value,
            user.hire_date,
            user.leaving_date,
            user.birth_month,
            user.birth_day,
            user.manager.email if user.manager else None,
            user.locale,
            tuple(sorted(role.value for role in user.roles)),
            user.active,
        )
        for user in db.session.scalars(select(User).where(User.employee_number.is_not(None)))
    )


def test_a_batch_of_1000_people_equals_the_csv_import_of_the_same_rows(
    client: FlaskClient,
) -> None:
    from perks.api.views import people_csv

    admin = factories.UserFactory(roles={Role.ADMIN})
    secret = service_token(Scope.PEOPLE_WRITE, admin=admin)
    records = people_records(1000)

    dry = client.post(
        "/api/v1/people", headers=bearer(secret), json={"people": records, "dry_run": True}
    )
    assert dry.status_code == 200, dry.get_json()
    assert dry.get_json()["created"] == 1000
    assert db.session.scalar(select(User).where(User.employee_number == "NV000001")) is None

    done = client.post("/api/v1/people", headers=bearer(secret), json={"people": records})
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["created"] == 1000
    through_api = snapshot()
    assert sum(1 for person in through_api if person[7] is not None) == 20  # leaving dates

    # The CSV import of the same rows (the same text HR would upload) finds nothing to change,
    # and a fresh directory imported from it holds the very same people.
    text = people_csv(records)
    assert list(csv.reader(io.StringIO(text)))[1][0] == "NV000000"
    again = imports.apply_import(text, actor=admin, filename="people.csv")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1000)
    assert (
        client.post("/api/v1/people", headers=bearer(secret), json={"people": records}).get_json()[
            "unchanged"
        ]
        == 1000
    )
    db.session.execute(User.__table__.update().values(manager_id=None))

    db.session.commit()
    clean_database()
    admin = factories.UserFactory(roles={Role.ADMIN})
    imports.apply_import(text, actor=admin, filename="people.csv")
    assert snapshot() == through_api


def test_every_bad_record_is_named_with_its_reason_and_nothing_is_written(
    client: FlaskClient,
) -> None:
    secret = service_token(Scope.PEOPLE_WRITE)
    records = people_records(3)
    records[1]["email"] = "not an e-mail"
    records[2]["hire_date"] = "32/13/2020"
    answer = client.post("/api/v1/people", headers=bearer(secret), json={"people": records})
    assert answer.status_code == 400
    errors = answer.get_json()["errors"]
    assert [(e["index"], e["employee_number"]) for e in errors] == [
        (1, "NV000001"),
        (2, "NV000002"),
    ]
    assert db.session.scalar(select(User).where(User.employee_number == "NV000000")) is None
    too_many = client.post(
        "/api/v1/people", headers=bearer(secret), json={"people": people_records(1001)}
    )
    assert too_many.status_code == 422


def test_a_batchs_problems_name_records_by_index_never_lines_of_a_file(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = service_token(Scope.PEOPLE_WRITE)
    vi = {"Accept-Language": "vi"}

    def problems(records: list[dict[str, Any]], **headers: str) -> list[dict[str, Any]]:
        answer = client.post(
            "/api/v1/people", headers=bearer(secret, **headers), json={"people": records}
        )
        assert answer.status_code == 400, answer.get_json()
        errors: list[dict[str, Any]] = answer.get_json()["errors"]
        return errors

    records = people_records(3)
    records[2]["employee_number"] = "NV000000"
    records[1]["manager_email"] = "nobody@congty.example"
    assert problems(records, **{"Accept-Language": "en"}) == [
        {
            "index": 1,
            "employee_number": "NV000001",
            "message": "The manager nobody@congty.example is neither in this batch nor in the "
            "directory.",
        },
        {
            "index": 2,
            "employee_number": "NV000000",
            "message": "The employee number NV000000 is already in record 0.",
        },
    ]
    assert problems(records, **vi)[1]["message"] == "Mã nhân viên NV000000 đã có ở bản ghi 0."

    records = people_records(3)
    records[1]["name"] = "Nguyễn\x00An"
    assert problems(records, **{"Accept-Language": "en"}) == [
        {"index": 1, "employee_number": "NV000001", "message": "Record 1 holds a NUL character."}
    ]

    from sqlalchemy.exc import IntegrityError

    from perks.people import imports as people_imports

    def raced(*args: Any, **kwargs: Any) -> Any:
        raise IntegrityError("INSERT INTO department", {}, Exception("duplicate key"))

    monkeypatch.setattr(people_imports, "write_plan", raced)
    answer = client.post(
        "/api/v1/people", headers=bearer(secret, **vi), json={"people": people_records(2)}
    )
    assert answer.status_code == 409
    assert "tệp" not in answer.get_json()["detail"]
    assert "lô" in answer.get_json()["detail"]


BAD_REQUESTS: tuple[tuple[str, str, Any], ...] = (
    ("GET", "/api/v1/people?limit=0", None),
    ("GET", "/api/v1/people?limit=abc", None),
    ("GET", "/api/v1/ledger-entries?from=1800-01-01&kind=gift", None),
    ("GET", "/api/v1/commissions?from=05/12/2026&person=", None),
    # a last day before the first: an empty list would read as "nothing happened"
    ("GET", "/api/v1/claims?from=2026-12-05&to=2026-12-01", None),
    ("GET", "/api/v1/payout-batches?from=2026-12-05&to=2026-12-01", None),
    ("POST", "/api/v1/people", {"people": [], "dry_run": "maybe", "extra": 1}),
    (
        "POST",
        "/api/v1/people",
        {"people": [{"employee_number": "", "email": 7, "name": "x" * 121, "active": "yes"}]},
    ),
    ("PUT", "/api/v1/people/NV1", {"email": None, "roles": "hr"}),
)


@pytest.mark.parametrize(("method", "url", "body"), BAD_REQUESTS)
def test_every_field_error_is_written_in_the_callers_language(
    client: FlaskClient, method: str, url: str, body: Any
) -> None:
    secret = service_token(*Scope)

    def errors(language: str) -> list[dict[str, str]]:
        headers = bearer(secret, **{"Accept-Language": language})
        answer = client.open(url, method=method, headers=headers, json=body)
        assert answer.status_code == 422, answer.get_data(as_text=True)
        assert answer.mimetype == "application/problem+json"
        return sorted(answer.get_json()["errors"], key=lambda e: (e["field"], e["message"]))

    english, vietnamese = errors("en"), errors("vi")
    assert english
    assert [e["field"] for e in english] == [e["field"] for e in vietnamese]
    for in_english, in_vietnamese in zip(english, vietnamese, strict=True):
        assert in_english["message"] != in_vietnamese["message"], in_english


@pytest.mark.parametrize(
    ("language", "limit"), [("en", "1,000"), ("vi", "1.000")], ids=["en", "vi"]
)
def test_a_fields_limit_is_written_as_the_caller_writes_numbers(
    client: FlaskClient, language: str, limit: str
) -> None:
    """Marshmallow printed its limits as Python does: "1000" in Vietnamese too."""
    secret = service_token(Scope.PEOPLE_WRITE)
    answer = client.post(
        "/api/v1/people",
        headers=bearer(secret, **{"Accept-Language": language}),
        json={"people": []},
    )
    assert answer.status_code == 422
    assert answer.mimetype == "application/problem+json"
    body = answer.get_json()
    assert set(body) == {"type", "title", "status", "detail", "errors"}
    assert body["status"] == 422
    [error] = body["errors"]
    assert error["field"] == "people"
    assert error["message"].endswith(f" 1 {'đến' if language == 'vi' else 'and'} {limit}.")


def test_a_batch_over_the_limit_is_refused_for_its_size_before_its_records_are_read(
    client: FlaskClient,
) -> None:
    """Every record was checked before the batch's size: a batch of 1,001 bad records was
    answered with 3,003 record errors and not a word of the limit, and a body of a million
    empty records (3 MB) held a worker for a minute to answer 225 MB of errors."""
    secret = service_token(Scope.PEOPLE_WRITE)
    for count in (1001, 200_000):
        answer = client.post(
            "/api/v1/people",
            headers=bearer(secret, **{"Accept-Language": "en"}),
            data='{"people": [' + ",".join(["{}"] * count) + "]}",
            content_type="application/json",
        )
        assert answer.status_code == 422
        assert answer.get_json()["errors"] == [
            {"field": "people", "message": "Length must be between 1 and 1,000."}
        ]


@pytest.mark.parametrize(
    ("method", "url"), [("POST", "/api/v1/people"), ("PUT", "/api/v1/people/NV001")]
)
def test_a_body_not_sent_as_json_is_refused_as_such_in_the_callers_language(
    client: FlaskClient, method: str, url: str
) -> None:
    """``curl -d`` sends a form unless told otherwise: the body was read as no body at all,
    and the answer named every field as missing (422), though they were all there."""
    secret = service_token(Scope.PEOPLE_WRITE)
    record = {"employee_number": "NV001", "email": "an@example.com", "name": "Nguyễn Văn An"}
    body = json.dumps({"people": [record]} if method == "POST" else record)
    details = {}
    for language in ("en", "vi"):
        for content_type in ("application/x-www-form-urlencoded", "text/plain"):
            answer = client.open(
                url,
                method=method,
                data=body,
                content_type=content_type,
                headers=bearer(secret, **{"Accept-Language": language}),
            )
            assert answer.status_code == 415, answer.get_data(as_text=True)
            assert answer.mimetype == "application/problem+json"
            assert "errors" not in answer.get_json()
            details[language] = answer.get_json()["detail"]
    assert "Content-Type: application/json" in details["en"]
    assert details["vi"] != details["en"]
    assert db.session.scalar(select(User).where(User.email == "an@example.com")) is None
    # The same body as JSON goes through; the document names the 415.
    sent = client.open(
        url,
        method=method,
        data=body,
        headers=bearer(secret),
        content_type="application/json; charset=utf-8",
    )
    assert sent.status_code == 200, sent.get_data(as_text=True)
    document = client.get("/api/v1/openapi.json").get_json()
    path = "/api/v1/people" if method == "POST" else "/api/v1/people/{employee_number}"
    assert "415" in document["paths"][path][method.lower()]["responses"]


#: a record whose name holds a lone surrogate: JSON can write it, no database can store it
LONE_SURROGATE = '{"employee_number": "NV001", "email": "an@example.com", "name": "An \\uD800"}'
#: bodies that Python's JSON parser cannot take, or takes into text no database can store
UNREADABLE_JSON = {
    "nested 100,000 deep": ("POST", "/api/v1/people", "[" * 100_000 + "]" * 100_000),
    "a 5,000-digit number": (
        "POST",
        "/api/v1/people",
        '{"people": [], "dry_run": ' + "9" * 5000 + "}",
    ),
    "a lone surrogate in a batch": ("POST", "/api/v1/people", f'{{"people": [{LONE_SURROGATE}]}}'),
    "a lone surrogate in one record": ("PUT", "/api/v1/people/NV001", LONE_SURROGATE),
}


@pytest.mark.parametrize(
    ("method", "url", "body"), UNREADABLE_JSON.values(), ids=UNREADABLE_JSON.keys()
)
def test_json_the_parser_cannot_take_is_a_400_in_the_callers_language(
    client: FlaskClient, method: str, url: str, body: str
) -> None:
    """These were a 500: Python's JSON parser raised RecursionError or ValueError (a number
    of more than 4,300 digits), which the request validation does not catch, or let a lone
    surrogate through to the database's driver, which cannot encode it."""
    secret = service_token(Scope.PEOPLE_WRITE)
    details = {}
    for language in ("en", "vi"):
        answer = client.open(
            url,
            method=method,
            data=body,
            content_type="application/json",
            headers=bearer(secret, **{"Accept-Language": language}),
        )
        assert answer.status_code == 400, answer.get_data(as_text=True)
        assert answer.mimetype == "application/problem+json"
        details[language] = answer.get_json()["detail"]
    assert details["vi"] != details["en"]
    assert db.session.scalar(select(User).where(User.email == "an@example.com")) is None


def test_a_body_over_the_sites_limit_is_a_documented_413_naming_the_limit(
    app: Flask, app_factory: Any
) -> None:
    """A body over ``MAX_CONTENT_LENGTH`` answered 413 "Too large", a status no operation's
    document names, with nothing said of the limit."""
    secret = service_token(Scope.PEOPLE_WRITE)
    small = app_factory(MAX_CONTENT_LENGTH=2000)
    client = small.test_client()
    record = {"employee_number": "NV001", "email": "an@example.com", "name": "An " * 1000}
    details = {}
    for language in ("en", "vi"):
        answer = client.post(
            "/api/v1/people",
            json={"people": [record]},
            headers=bearer(secret, **{"Accept-Language": language}),
        )
        assert answer.status_code == 413
        assert answer.mimetype == "application/problem+json"
        details[language] = answer.get_json()["detail"]
    assert "2,000 bytes" in details["en"]
    assert "2.000" in details["vi"]
    document = client.get("/api/v1/openapi.json").get_json()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method in ("post", "put"):
                assert "413" in operation["responses"], (method, path)


def test_a_path_or_method_the_api_does_not_have_answers_problem_json(
    client: FlaskClient,
) -> None:
    """Routing fails before the API's blueprint is known, so its own handlers never saw
    these: a till calling a wrong path or method got the HTML error page."""
    secret = service_token(*Scope)
    for method, url, status in (
        ("GET", "/api/v1/no-such-thing", 404),
        ("GET", "/api/v1/counters/claims/", 404),
        ("DELETE", "/api/v1/people", 405),
        ("PATCH", "/api/v1/people/NV1", 405),
        ("GET", "/api/v1/people/NV1/deactivate", 405),
    ):
        for language in ("en", "vi"):
            headers = bearer(secret, **{"Accept-Language": language})
            answer = client.open(url, method=method, headers=headers)
            assert answer.status_code == status, (method, url)
            assert answer.mimetype == "application/problem+json", (method, url)
            assert answer.get_json()["status"] == status
        english = client.open(
            url, method=method, headers=bearer(secret, **{"Accept-Language": "en"})
        )
        vietnamese = client.open(
            url, method=method, headers=bearer(secret, **{"Accept-Language": "vi"})
        )
        assert english.get_json()["detail"] != vietnamese.get_json()["detail"]
    # The pages keep their own error page.
    page = client.get("/no-such-page", headers={"Accept-Language": "en"})
    assert page.status_code == 404
    assert page.mimetype == "text/html"


def test_a_method_the_api_does_not_take_is_answered_with_the_methods_it_does(
    client: FlaskClient,
) -> None:
    """A 405 must name the methods the path takes (RFC 9110, ``Allow``): the problem
    document replaced werkzeug's answer and dropped its header, so a caller could not tell
    which method to use."""
    secret = service_token(*Scope)
    for method, url, allowed in (
        ("DELETE", "/api/v1/people", {"GET", "POST"}),
        ("PATCH", "/api/v1/people/NV1", {"GET", "PUT"}),
        ("GET", "/api/v1/people/NV1/deactivate", {"POST"}),
    ):
        answer = client.open(url, method=method, headers=bearer(secret))
        assert answer.status_code == 405
        assert answer.mimetype == "application/problem+json"
        named = {m.strip() for m in answer.headers.get("Allow", "").split(",") if m.strip()}
        assert allowed <= named, (method, url, named)
        assert method not in named


def test_deactivate_by_employee_number(client: FlaskClient) -> None:
    person = factories.UserFactory(employee_number="NV777")
    secret = service_token(Scope.PEOPLE_WRITE, Scope.PEOPLE_READ)
    answer = client.post("/api/v1/people/NV777/deactivate", headers=bearer(secret))
    assert answer.status_code == 200
    assert answer.get_json()["active"] is False
    db.session.refresh(person)
    assert person.active is False
    assert client.get("/api/v1/people/NV404", headers=bearer(secret)).status_code == 404


def test_a_put_takes_the_employee_number_from_its_path(client: FlaskClient) -> None:
    """The path names the person and wins over the body, yet a body without the employee
    number was refused with 422 "employee_number: This field is required"."""
    secret = service_token(Scope.PEOPLE_WRITE, Scope.PEOPLE_READ)
    record = {"email": "lan.tran@example.com", "name": "Trần Thị Lan"}
    answer = client.put("/api/v1/people/NV030", headers=bearer(secret), json=record)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.get_json()["created"] == 1
    person = client.get("/api/v1/people/NV030", headers=bearer(secret)).get_json()
    assert (person["email"], person["name"]) == (record["email"], record["name"])
    document = client.get("/api/v1/openapi.json").get_json()
    body = document["paths"]["/api/v1/people/{employee_number}"]["put"]["requestBody"]
    shown = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert "employee_number" not in document["components"]["schemas"][shown]["required"]


def test_a_put_whose_body_names_another_employee_number_is_refused(client: FlaskClient) -> None:
    """The path's employee number silently overruled another one in the body: a caller that
    mixed up two people wrote one of them with the other's details, and was told 200."""
    secret = service_token(Scope.PEOPLE_WRITE, Scope.PEOPLE_READ)
    record = {"employee_number": "NV041", "email": "minh.le@example.com", "name": "Lê Văn Minh"}
    for language in ("en", "vi"):
        answer = client.put(
            "/api/v1/people/NV040",
            headers=bearer(secret, **{"Accept-Language": language}),
            json=record,
        )
        assert answer.status_code == 422
        assert answer.mimetype == "application/problem+json"
        errors = answer.get_json()["errors"]
        assert [error["field"] for error in errors] == ["employee_number"]
        assert "NV040" in errors[0]["message"]
        if language == "en":
            english = errors[0]["message"]
            assert "path" in english
        else:
            assert errors[0]["message"] != english
    assert db.session.scalar(select(User).where(User.email == record["email"])) is None
    # The same number as the path's is taken, as is none.
    record["employee_number"] = "NV040"
    answer = client.put("/api/v1/people/NV040", headers=bearer(secret), json=record)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.get_json()["created"] == 1


def test_a_put_whose_path_names_no_employee_number_writes_nobody(client: FlaskClient) -> None:
    """A path of spaces (an HR record without its number: ``PUT /people/%20``) read as a
    record without an employee number, which the import matches by e-mail: it created a
    person no path can name (each PUT again made another), or rewrote whoever had the
    e-mail."""
    factories.UserFactory(employee_number="NV050", email="hoa@example.com", name="Hoa")
    secret = service_token(Scope.PEOPLE_WRITE, Scope.PEOPLE_READ)
    people = db.session.query(User).count()
    for path, record in (
        ("%20", {"email": "moi@example.com", "name": "Người Mới"}),
        ("%C2%A0", {"email": "moi@example.com", "name": "Người Mới"}),
        ("%20", {"email": "hoa@example.com", "name": "Tên Khác"}),
    ):
        details = {}
        for language in ("en", "vi"):
            answer = client.put(
                f"/api/v1/people/{path}",
                headers=bearer(secret, **{"Accept-Language": language}),
                json=record,
            )
            assert answer.status_code == 422, answer.get_data(as_text=True)
            assert answer.mimetype == "application/problem+json"
            [error] = answer.get_json()["errors"]
            assert error["field"] == "employee_number"
            details[language] = error["message"]
        assert details["vi"] != details["en"]
    assert db.session.query(User).count() == people
    db.session.expire_all()
    assert db.session.scalar(select(User.name).where(User.employee_number == "NV050")) == "Hoa"


def test_an_unknown_payout_batch_is_named_as_such(client: FlaskClient) -> None:
    """Every other look-up says what it did not find; this one said only "We could not find
    what you were looking for"."""
    secret = service_token(Scope.PAYOUTS_READ)
    details = {}
    for language in ("en", "vi"):
        answer = client.get(
            "/api/v1/payout-batches/PO-2026-11-Z",
            headers=bearer(secret, **{"Accept-Language": language}),
        )
        assert answer.status_code == 404
        assert answer.mimetype == "application/problem+json"
        details[language] = answer.get_json()["detail"]
    assert details["en"] == "There is no such payout batch."
    assert details["vi"] != details["en"]


def test_an_upsert_cannot_take_the_role_from_the_last_administrator(client: FlaskClient) -> None:
    admin = factories.UserFactory(employee_number="QT001", roles={Role.ADMIN, Role.EMPLOYEE})
    secret = service_token(Scope.PEOPLE_WRITE, admin=admin)
    record = {
        "employee_number": "QT001",
        "email": admin.email,
        "name": admin.name,
        "roles": ["employee"],
    }
    answer = client.put(
        "/api/v1/people/QT001", headers=bearer(secret, **{"Accept-Language": "en"}), json=record
    )
    assert answer.status_code == 400, answer.get_data(as_text=True)
    assert "At least one active administrator must remain" in answer.get_data(as_text=True)
    db.session.refresh(admin)
    assert Role.ADMIN in admin.roles


def _leaving_date_of_the_administrator(
    secret: str, admin: User, client: FlaskClient, language: str, *, batch: bool = False
) -> dict[str, Any]:
    record = {
        "employee_number": "QT001",
        "email": admin.email,
        "name": "Quản Trị",
        "leaving_date": "2031-01-31",
    }
    headers = bearer(secret, **{"Accept-Language": language})
    if batch:
        answer = client.post(
            "/api/v1/people", headers=headers, json={"people": [record], "dry_run": True}
        )
    else:
        answer = client.put("/api/v1/people/QT001", headers=headers, json=record)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    body: dict[str, Any] = answer.get_json()
    return body


def test_a_leaving_date_for_the_last_administrator_is_written_with_a_warning(
    client: FlaskClient,
) -> None:
    """The edit page warns that the only active administrator stays active past the leaving
    date it saves; the API wrote it and said nothing. It still writes it, and warns."""
    admin = factories.UserFactory(employee_number="QT001", roles={Role.ADMIN, Role.EMPLOYEE})
    secret = service_token(Scope.PEOPLE_WRITE, admin=admin)

    dry_run = _leaving_date_of_the_administrator(secret, admin, client, "en", batch=True)
    assert dry_run["dry_run"] is True
    assert dry_run["updated"] == 1
    assert dry_run["warnings"] == [
        {
            "index": 0,
            "employee_number": "QT001",
            "code": "last_administrator_leaving",
            "message": "Quản Trị is the only active administrator: they stay active after "
            "their leaving date until someone else is made an administrator.",
        }
    ]
    written = _leaving_date_of_the_administrator(secret, admin, client, "vi")
    assert written["updated"] == 1
    assert [w["message"] for w in written["warnings"]] == [
        "Quản Trị là quản trị viên duy nhất còn hoạt động: người này vẫn hoạt động sau ngày "
        "nghỉ việc cho đến khi có người khác được cấp quyền quản trị."
    ]
    db.session.refresh(admin)
    assert admin.leaving_date == date(2031, 1, 31)
    assert admin.active
    document = client.get("/api/v1/openapi.json").get_json()
    shown = document["components"]["schemas"]["UpsertResult"]
    assert "warnings" in shown["required"]
    warning = document["components"]["schemas"]["RecordWarning"]
    assert set(warning["required"]) == {"index", "employee_number", "code", "message"}


def test_a_leaving_date_for_an_administrator_with_a_colleague_has_no_warning(
    client: FlaskClient,
) -> None:
    admin = factories.UserFactory(employee_number="QT001", roles={Role.ADMIN, Role.EMPLOYEE})
    factories.UserFactory(roles={Role.ADMIN})
    secret = service_token(Scope.PEOPLE_WRITE, admin=admin)

    for batch in (True, False):
        answer = _leaving_date_of_the_administrator(secret, admin, client, "en", batch=batch)
        assert answer["warnings"] == []


def test_every_kind_state_and_status_the_models_know_is_a_filter(client: FlaskClient) -> None:
    from perks.commissions.models import CommissionState, EntryKind, LedgerEntry
    from perks.finance.models import BatchStatus

    person = factories.UserFactory(employee_number="NV010")
    withheld = LedgerEntry(
        user_id=person.id,
        kind=EntryKind.WITHHOLDING,
        amount=-200_000,
        currency="VND",
        payout_batch_id=1,
    )
    db.session.add(withheld)
    db.session.commit()
    secret = service_token(Scope.COMMISSIONS_READ, Scope.PAYOUTS_READ)
    found = client.get("/api/v1/ledger-entries?kind=withholding", headers=bearer(secret))
    assert found.status_code == 200, found.get_json()
    assert [entry["id"] for entry in found.get_json()["items"]] == [withheld.id]
    for url, values in (
        ("/api/v1/ledger-entries?kind=", EntryKind),
        ("/api/v1/commissions?state=", CommissionState),
        ("/api/v1/payout-batches?status=", BatchStatus),
    ):
        for value in values:
            assert client.get(url + value.value, headers=bearer(secret)).status_code == 200


def test_a_filter_the_list_does_not_have_is_refused_not_ignored(client: FlaskClient) -> None:
    """An unknown query parameter was ignored: payroll asking for the payable commissions
    with the payout batches' ``?status=`` got every commission, pending and voided too, as
    if it were the answer."""
    factories.UserFactory(employee_number="NV011")
    secret = service_token(Scope.COMMISSIONS_READ, Scope.PAYOUTS_READ, Scope.PERKS_READ)
    for url, wrong in (
        ("/api/v1/commissions?status=payable", "status"),
        ("/api/v1/ledger-entries?kind=payout&employee=NV011", "employee"),
        ("/api/v1/payout-batches?state=paid", "state"),
        ("/api/v1/claims?from_date=2026-01-01", "from_date"),
        ("/api/v1/perks?person=NV011&lang=en", "lang"),
    ):
        details = {}
        for language in ("en", "vi"):
            answer = client.get(url, headers=bearer(secret, **{"Accept-Language": language}))
            assert answer.status_code == 422, (url, answer.get_data(as_text=True))
            assert answer.mimetype == "application/problem+json"
            assert [error["field"] for error in answer.get_json()["errors"]] == [wrong]
            details[language] = answer.get_json()["errors"][0]["message"]
        assert details["vi"] != details["en"]
    assert (
        client.get("/api/v1/ledger-entries?person=NV011", headers=bearer(secret)).status_code == 200
    )


def test_lists_are_paged_by_cursor(client: FlaskClient) -> None:
    for i in range(5):
        factories.UserFactory(employee_number=f"P{i}")
    secret = service_token(Scope.PEOPLE_READ)
    seen: list[str] = []
    url = "/api/v1/people?limit=2"
    while True:
        page = client.get(url, headers=bearer(secret)).get_json()
        seen += [person["email"] for person in page["items"]]
        if not page["next_cursor"]:
            break
        url = f"/api/v1/people?limit=2&cursor={page['next_cursor']}"
    assert len(seen) == len(set(seen)) == db.session.query(User).count()
    bad = client.get("/api/v1/people?cursor=%%%", headers=bearer(secret))
    assert bad.status_code == 400
    assert bad.mimetype == "application/problem+json"
    assert Commission is not None


def test_a_cursor_of_another_list_is_refused_not_read_as_a_place_in_this_one(
    client: FlaskClient,
) -> None:
    """A cursor named only an id: the people list's ``next_cursor`` sent to the claims (a
    sync reusing one variable for two lists) skipped every claim up to that id, answered
    200 as if they were not there."""
    people = [factories.UserFactory(employee_number=f"C{i}") for i in range(3)]
    claims = [a_claim(person) for person in people]
    secret = service_token(Scope.PEOPLE_READ, Scope.PERKS_READ, Scope.COMMISSIONS_READ)
    people_page = client.get("/api/v1/people?limit=2", headers=bearer(secret)).get_json()
    claims_page = client.get("/api/v1/claims?limit=1", headers=bearer(secret)).get_json()
    assert people_page["next_cursor"]
    assert claims_page["next_cursor"]
    for url, cursor in (
        ("/api/v1/claims", people_page["next_cursor"]),
        ("/api/v1/commissions", people_page["next_cursor"]),
        ("/api/v1/people", claims_page["next_cursor"]),
    ):
        answer = client.get(
            f"{url}?cursor={cursor}", headers=bearer(secret, **{"Accept-Language": "en"})
        )
        assert answer.status_code == 400, (url, answer.get_json())
        assert answer.mimetype == "application/problem+json"
        assert "cursor" in answer.get_json()["detail"]
    # its own list still takes it
    rest = client.get(
        f"/api/v1/claims?limit=5&cursor={claims_page['next_cursor']}", headers=bearer(secret)
    ).get_json()
    assert [item["id"] for item in rest["items"]] == [claim.id for claim in claims[1:]]


def test_the_ledger_is_paged_past_the_largest_integer_id(client: FlaskClient) -> None:
    """Ledger entries have BIGINT ids, but every cursor was refused beyond PostgreSQL's
    INTEGER (2^31 - 1): past it, the API refused its own ``next_cursor`` as not valid."""
    from perks.commissions.models import EntryKind, LedgerEntry

    person = factories.UserFactory(employee_number="NV012")
    first_id = 2**31 + 1
    for entry_id in (first_id, first_id + 1):
        db.session.add(
            LedgerEntry(
                id=entry_id,
                user_id=person.id,
                kind=EntryKind.ADJUSTMENT,
                amount=10_000,
                currency="VND",
                reason="thưởng",
            )
        )
    db.session.commit()
    secret = service_token(Scope.COMMISSIONS_READ)
    seen: list[int] = []
    url = "/api/v1/ledger-entries?limit=1"
    while True:
        answer = client.get(url, headers=bearer(secret))
        assert answer.status_code == 200, answer.get_data(as_text=True)
        seen += [entry["id"] for entry in answer.get_json()["items"]]
        if not answer.get_json()["next_cursor"]:
            break
        url = f"/api/v1/ledger-entries?limit=1&cursor={answer.get_json()['next_cursor']}"
    assert seen == [first_id, first_id + 1]


# --- every operation, property-based --------------------------------------------------------------

SCOPE_OF_PATH = (
    ("/api/v1/people", Scope.PEOPLE_WRITE),
    ("/api/v1/perks", Scope.PERKS_READ),
    ("/api/v1/claims", Scope.PERKS_READ),
    ("/api/v1/counters", Scope.REDEMPTIONS_WRITE),
    ("/api/v1/commissions", Scope.COMMISSIONS_READ),
    ("/api/v1/ledger-entries", Scope.COMMISSIONS_READ),
    ("/api/v1/payout-batches", Scope.PAYOUTS_READ),
)


def test_every_operation_answers_within_its_schema(app: Flask) -> None:
    """Schemathesis over every operation of the document, through WSGI, with a token holding
    the operation's scope: no 500, every answer within its documented status codes, content
    types and schemas. A bounded number of examples keeps it in the normal suite."""
    from hypothesis import given

    admin = factories.UserFactory(roles={Role.ADMIN}, employee_number="ADMIN1")
    factories.UserFactory(employee_number="NV001")
    a_claim(factories.UserFactory(employee_number="NV002"))
    paid_order()
    made = {scope: service_token(scope, admin=admin) for scope in Scope}
    made[Scope.PEOPLE_WRITE] = service_token(Scope.PEOPLE_READ, Scope.PEOPLE_WRITE, admin=admin)
    made[Scope.PEOPLE_READ] = made[Scope.PEOPLE_WRITE]
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15

    for operation in operations:
        scope = next(
            (scope for prefix, scope in SCOPE_OF_PATH if operation.path.startswith(prefix)),
            Scope.PERKS_READ,
        )

        operation.meta_scope = scope

        @given(case=operation.as_strategy())
        @settings(
            max_examples=20,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def run(case: Any) -> None:
            case.call_and_validate(
                headers=bearer(made[case.operation.meta_scope]),
                checks=[
                    not_a_server_error,
                    status_code_conformance,
                    content_type_conformance,
                    response_schema_conformance,
                ],
            )

        run()


def test_a_list_runs_as_many_statements_with_ten_times_the_rows(client: FlaskClient) -> None:

    secret = service_token(Scope.PERKS_READ, Scope.PEOPLE_READ)

    def statements(url: str) -> int:
        with counting_statements() as sent:
            assert client.get(url, headers=bearer(secret)).status_code == 200
        return len(sent)

    def grow(people: int) -> None:
        for _ in range(people):
            a_claim(factories.UserFactory())

    grow(2)
    statements("/api/v1/claims")  # the token's last use noted (once a minute), unmeasured
    few = (statements("/api/v1/claims?limit=200"), statements("/api/v1/people?limit=200"))
    grow(20)
    many = (statements("/api/v1/claims?limit=200"), statements("/api/v1/people?limit=200"))
    assert many == few


@pytest.fixture
def limited_app(app_factory: Any) -> Any:
    from perks.extensions import limiter

    limited = app_factory(
        RATELIMIT_ENABLED=True, API_RATE_LIMIT="2 per minute", WTF_CSRF_ENABLED=True
    )
    with limited.app_context():
        limiter.reset()
    yield limited
    with limited.app_context():
        limiter.reset()


def test_each_token_is_rate_limited_and_the_api_needs_no_csrf_token(
    app: Flask, limited_app: Flask
) -> None:
    first, second = service_token(Scope.PEOPLE_READ), service_token(Scope.PEOPLE_READ)
    client = limited_app.test_client()
    with limited_app.app_context():
        assert client.get("/api/v1/people", headers=bearer(first)).status_code == 200
        assert client.get("/api/v1/people", headers=bearer(first)).status_code == 200
        refused = client.get("/api/v1/people", headers=bearer(first))
        assert refused.status_code == 429
        assert refused.mimetype == "application/problem+json"
        assert client.get("/api/v1/people", headers=bearer(second)).status_code == 200
        # CSRF is on for the pages, not for bearer-token requests.
        assert client.post("/api/v1/people", json={"people": []}).status_code == 401
        assert client.post("/language", data={"locale": "en"}).status_code == 400


def test_a_tokens_limit_counts_its_calls_to_every_operation_together(
    app: Flask, limited_app: Flask
) -> None:
    """The limit was counted per operation: a token had 600 a minute on each of them."""
    factories.UserFactory(employee_number="NV100")
    secret = service_token(Scope.PEOPLE_READ)
    client = limited_app.test_client()
    with limited_app.app_context():
        assert client.get("/api/v1/people", headers=bearer(secret)).status_code == 200
        assert client.get("/api/v1/people/NV100", headers=bearer(secret)).status_code == 200
        assert client.get("/api/v1/people?limit=5", headers=bearer(secret)).status_code == 429
        assert client.get("/api/v1/people/NV100", headers=bearer(secret)).status_code == 429


def test_callers_without_a_token_are_counted_apart_by_address(
    app: Flask, limited_app: Flask
) -> None:
    """Every call without a token shared one count: one monitor polling /health made it
    answer 429 to everyone else, "with this token" though there was none."""
    client = limited_app.test_client()
    monitor = {"REMOTE_ADDR": "203.0.113.9"}
    with limited_app.app_context():
        for _ in range(2):
            assert client.get("/api/v1/health", environ_base=monitor).status_code == 200
        refused = client.get(
            "/api/v1/health", environ_base=monitor, headers={"Accept-Language": "en"}
        )
        assert refused.status_code == 429
        assert refused.mimetype == "application/problem+json"
        assert "token" not in refused.get_json()["detail"]
        vietnamese = client.get(
            "/api/v1/health", environ_base=monitor, headers={"Accept-Language": "vi"}
        )
        assert vietnamese.get_json()["detail"] != refused.get_json()["detail"]
        other = {"REMOTE_ADDR": "198.51.100.7"}
        assert client.get("/api/v1/health", environ_base=other).status_code == 200
    document = client.get("/api/v1/openapi.json").get_json()
    for path in ("/api/v1/health", "/api/v1/version"):
        assert "429" in document["paths"][path]["get"]["responses"]


def test_every_429_says_when_to_try_again_and_the_document_says_so(
    app: Flask, limited_app: Flask
) -> None:
    """A 429 carries ``Retry-After`` (Flask-Limiter's headers), but the document named no
    header on any 429: a client generated from it had no way to read when to come back."""
    secret = service_token(Scope.PEOPLE_READ)
    client = limited_app.test_client()
    with limited_app.app_context():
        for _ in range(2):
            client.get("/api/v1/people", headers=bearer(secret))
        refused = client.get("/api/v1/people", headers=bearer(secret))
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    document = client.get("/api/v1/openapi.json").get_json()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if isinstance(operation, dict) and "429" in operation["responses"]:
                headers = operation["responses"]["429"].get("headers", {})
                assert "Retry-After" in headers, (method, path)


def test_failed_authentications_are_counted_by_address_whatever_the_token(
    app: Flask, app_factory: Any
) -> None:
    """Each bad token had its own count: sending a different one each time got 401 (and a
    database look-up) without end. Now the 401s of an address are counted together, and
    beyond the limit the address is told so in its language, with no look-up."""
    from perks.extensions import limiter

    limited = app_factory(
        RATELIMIT_ENABLED=True,
        API_RATE_LIMIT="5 per minute",
        API_AUTH_FAILURE_RATE_LIMIT="3/minute",
    )
    secret = service_token(Scope.PEOPLE_READ)
    client = limited.test_client()
    guesser = {"REMOTE_ADDR": "203.0.113.66"}
    with limited.app_context():
        limiter.reset()
        try:
            # Valid tokens are not counted as failures.
            for _ in range(4):
                assert client.get("/api/v1/people", headers=bearer(secret)).status_code == 200
            for guess in range(3):
                answer = client.get(
                    "/api/v1/claims", headers=bearer(f"pk_guess{guess:040d}"), environ_base=guesser
                )
                assert answer.status_code == 401
            with counting_statements() as sent:
                refused = client.get(
                    "/api/v1/people",
                    headers=bearer("pk_guess" + "9" * 40, **{"Accept-Language": "en"}),
                    environ_base=guesser,
                )
            assert refused.status_code == 429
            assert refused.mimetype == "application/problem+json"
            assert "invalid token from this address" in refused.get_json()["detail"]
            assert not [statement for statement in sent if "api_token" in statement]
            vietnamese = client.get(
                "/api/v1/people",
                headers=bearer("pk_guess" + "8" * 40, **{"Accept-Language": "vi"}),
                environ_base=guesser,
            )
            assert vietnamese.status_code == 429
            assert vietnamese.get_json()["detail"] != refused.get_json()["detail"]
            # Another address is counted apart; a valid token keeps its own limit.
            assert client.get("/api/v1/people", headers=bearer(secret)).status_code == 200
            other = {"REMOTE_ADDR": "198.51.100.7"}
            missing = client.get("/api/v1/people", environ_base=other)
            assert missing.status_code == 401
        finally:
            limiter.reset()


def test_a_database_that_does_not_answer_is_a_503_problem(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import exc as sa_exc

    from perks.api import views

    def down(header: str | None) -> ApiToken:
        raise sa_exc.OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(views, "authenticate", down)
    answer = client.get("/api/v1/people", headers={"Accept-Language": "vi"})
    assert answer.status_code == 503
    assert answer.mimetype == "application/problem+json"


def test_an_error_no_operation_names_is_documented_as_the_problem_it_is(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The document's ``default`` answer (every status an operation does not name: a 503
    while the database is down, a 500) was flask-smorest's: ``application/json`` with
    ``code``, a text ``status`` and ``message``, a shape the API never sends."""
    from sqlalchemy import exc as sa_exc

    from perks.api import views

    document = client.get("/api/v1/openapi.json").get_json()
    default = document["components"]["responses"]["DEFAULT_ERROR"]
    assert default["content"] == {
        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
    }
    for operations in document["paths"].values():
        for operation in operations.values():
            if "responses" in operation:
                assert operation["responses"]["default"] == {
                    "$ref": "#/components/responses/DEFAULT_ERROR"
                }
    shown = document["components"]["schemas"]["Problem"]

    def down(header: str | None) -> ApiToken:
        raise sa_exc.OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(views, "authenticate", down)
    answer = client.get("/api/v1/people")
    assert answer.status_code == 503
    assert str(answer.status_code) not in document["paths"]["/api/v1/people"]["get"]["responses"]
    assert set(shown["required"]) <= set(answer.get_json()) <= set(shown["properties"])


def test_a_paid_batchs_lines_say_the_tax_withheld_and_the_net(client: FlaskClient) -> None:
    """Payroll reading the API pays the net: a transfer's tax is withheld on the payment day
    (before it, nothing is decided and the fields are null)."""
    from perks.commissions import tax
    from perks.finance import payouts
    from perks.i18n import company_today
    from perks.people.models import EmploymentType
    from tests.unit.finance.helpers import finance_person, payable_order

    factories.CommissionRuleFactory()  # 10 % of every line
    an = factories.UserFactory(employee_number="NV-1")
    binh = factories.UserFactory(employee_number="DT-2", employment_type=EmploymentType.PARTNER)
    payable_order(an)
    payable_order(binh, factories.ProductFactory(price_amount=30_000_000))
    drafter, approver = finance_person(), finance_person()
    tax.add_circular_111_rates(drafter)
    batch = payouts.draft_batch(company_today(), actor=drafter)
    payouts.approve_batch(batch.id, actor=approver)
    secret = service_token(Scope.PAYOUTS_READ)
    url = f"/api/v1/payout-batches/{batch.reference}"

    def lines() -> dict[str, tuple[Any, ...]]:
        answer = client.get(url, headers=bearer(secret))
        assert answer.status_code == 200
        return {
            line["person"]: (
                line["amount"],
                line["tax_treatment"],
                line["tax_withheld"],
                line["net"],
            )
            for line in answer.get_json()["lines"]
        }

    assert lines() == {"NV-1": (240_000, None, None, None), "DT-2": (3_000_000, None, None, None)}
    payouts.mark_batch_paid(batch.id, "LUONG-12", actor=drafter)
    assert lines() == {
        "NV-1": (240_000, "salary", 0, 240_000),
        "DT-2": (3_000_000, "withheld", 300_000, 2_700_000),
    }


def test_a_ledger_entrys_payout_batch_is_one_payroll_can_find(client: FlaskClient) -> None:
    """A ledger entry named its payout batch by ``payout_batch_id``, but no answer gave a
    batch's id (only its reference), and no path took one: payroll could not tell which
    batch paid an entry."""
    from perks.finance import payouts
    from perks.i18n import company_today
    from tests.unit.finance.helpers import finance_person, payable_order

    factories.CommissionRuleFactory()
    payable_order(factories.UserFactory(employee_number="NV-3"))
    drafter, approver = finance_person(), finance_person()
    batch = payouts.draft_batch(company_today(), actor=drafter)
    payouts.approve_batch(batch.id, actor=approver)
    payouts.mark_batch_paid(batch.id, "LUONG-12", actor=drafter)
    secret = service_token(Scope.COMMISSIONS_READ, Scope.PAYOUTS_READ)
    entries = client.get("/api/v1/ledger-entries?kind=payout", headers=bearer(secret))
    [paid] = entries.get_json()["items"]
    assert paid["payout_batch_id"] is not None
    listed = client.get("/api/v1/payout-batches?person=NV-3", headers=bearer(secret)).get_json()
    found = [item for item in listed["items"] if item.get("id") == paid["payout_batch_id"]]
    assert [item["reference"] for item in found] == [batch.reference]
    one = client.get(f"/api/v1/payout-batches/{batch.reference}", headers=bearer(secret))
    assert one.get_json()["id"] == paid["payout_batch_id"]
    document = client.get("/api/v1/openapi.json").get_json()
    assert "id" in document["components"]["schemas"]["PayoutBatchOut"]["required"]


def test_a_token_named_only_with_invisible_characters_is_refused(client: FlaskClient) -> None:
    from perks.i18n import company_today

    login(client, factories.UserFactory(roles={Role.ADMIN}))
    form = {
        "label": "\u200b\ufeff",
        "scopes": [Scope.PEOPLE_READ.value],
        "expires_on": (company_today() + timedelta(days=30)).isoformat(),
    }
    response = client.post("/admin/api-tokens", data=form)
    assert response.status_code == 400
    assert db.session.scalar(select(ApiToken)) is None
    form["label"] = " \u200bKét 3 "
    assert client.post("/admin/api-tokens", data=form).status_code == 200
    assert db.session.scalar(select(ApiToken.label)) == "Két 3"


def test_a_tokens_limit_is_its_own_however_the_header_is_spelled(
    app: Flask, limited_app: Flask
) -> None:
    """The limit was counted per header text, and the token is read from the header
    whatever the scheme's case and the spaces around the secret: spelled anew, the same
    token had a fresh count each time, without end."""
    secret = service_token(Scope.PEOPLE_READ)
    client = limited_app.test_client()
    with limited_app.app_context():
        for _ in range(2):
            assert client.get("/api/v1/people", headers=bearer(secret)).status_code == 200
        for spelled in (f"bearer {secret}", f"Bearer  {secret}", f"BEARER {secret} "):
            answer = client.get("/api/v1/people", headers={"Authorization": spelled})
            assert answer.status_code == 429, spelled


@pytest.mark.parametrize("path", ["/admin/api-tokens", "/account/api-tokens"])
def test_the_token_form_sent_twice_makes_one_token_and_shows_its_secret_again(
    client: FlaskClient, path: str
) -> None:
    """A double tap on "Create token" (or the answer page reloaded, which sends the form
    again) made two live tokens: the first one's secret was on an answer the browser threw
    away, so nobody ever saw it, and the list showed two tokens of the same name."""
    import re
    from html import unescape

    from perks.i18n import company_today

    login(client, factories.UserFactory(roles={Role.ADMIN, Role.EMPLOYEE}))
    page = client.get(path).get_data(as_text=True)
    sending = "".join(re.findall(r'name="sending"[^>]*value="([^"]+)"', page))
    form = {
        "label": "Két 3",
        "scopes": [Scope.PERKS_READ.value],
        "expires_on": (company_today() + timedelta(days=30)).isoformat(),
        "sending": sending,
    }
    secret = re.compile(r'data-testid="token-secret">.*?<code[^>]*>([^<]+)</code>', re.S)

    first, second = (client.post(path, data=form) for _ in "ab")

    assert first.status_code == second.status_code == 200
    [shown_first] = secret.findall(unescape(first.get_data(as_text=True)))
    [shown_second] = secret.findall(unescape(second.get_data(as_text=True)))
    assert len(db.session.scalars(select(ApiToken)).all()) == 1
    assert shown_first == shown_second
    assert client.get("/api/v1/claims", headers=bearer(shown_second)).status_code == 200
    # the page drawn after it is a new form: it makes another token
    [fresh] = re.findall(r'name="sending"[^>]*value="([^"]+)"', second.get_data(as_text=True))
    assert fresh != sending
    assert client.post(path, data={**form, "sending": fresh}).status_code == 200
    assert len(db.session.scalars(select(ApiToken)).all()) == 2
    # the first form sent once more after its token was revoked: no secret, and says why
    made = db.session.scalar(select(ApiToken).order_by(ApiToken.id).limit(1))
    client.post(f"{path}/{made.id}/revoke")
    again = client.post(path, data=form)
    assert again.status_code == 400
    assert "revoked since" in again.get_data(as_text=True)
    assert 'data-testid="token-secret"' not in again.get_data(as_text=True)
    assert len(db.session.scalars(select(ApiToken)).all()) == 2
