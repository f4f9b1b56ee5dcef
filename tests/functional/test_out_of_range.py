"""Numbers and dates at the edges: an id, a page, a cursor or a day no row or calendar can
hold answers a 4xx with a message (or the list's last reachable page), never a 500 from an
overflow in the driver or in date arithmetic (``perks.urls.RowIdConverter``,
``perks.forms.page_arg``, ``DayField``, ``perks.i18n.LATEST_DAY``)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from perks.api import tokens
from perks.api.models import Scope
from perks.demo import DEMO_PASSWORD, demo_logins
from perks.extensions import db
from perks.people.import_plan import plan_rows
from perks.people.models import Role, User
from perks.recognition.models import Occasion, OccasionKind
from perks.urls import RowIdConverter
from tests.factories import UserFactory
from tests.helpers import login
from tests.site_pages import pages_for

BEYOND_ANY_ID = 2**63  # one more than the largest BIGINT
HUGE = "99999999999999999999"


@pytest.mark.parametrize(
    "path",
    [
        f"/my-perks/{BEYOND_ANY_ID}",
        f"/feedback/{BEYOND_ANY_ID}",
        f"/links/{BEYOND_ANY_ID}",
        f"/perks/{BEYOND_ANY_ID}",
        f"/surveys/{BEYOND_ANY_ID}",
    ],
)
def test_an_id_beyond_any_row_is_not_found(client, login_as, path):
    login_as(Role.EMPLOYEE, locale="en")
    assert client.get(path).status_code == 404


def test_an_id_beyond_postgresqls_integer_is_not_found_on_any_page(app, client):
    """Ids up to BIGINT's were let through, and every table a URL names has INTEGER ids: on
    PostgreSQL, /people/3000000000 failed its statement ("integer out of range", a 500)."""
    login(client, UserFactory(roles={Role.HR, Role.FINANCE, Role.ADMIN}, locale="en"))
    beyond = str(2**31)
    answered = {}
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or not rule.arguments:
            continue
        converters = [rule._converters.get(name) for name in rule.arguments]
        if not all(isinstance(converter, RowIdConverter) for converter in converters):
            continue
        path = rule.rule
        for name in rule.arguments:
            path = path.replace(f"<int:{name}>", beyond)
        answered[path] = client.get(path).status_code
    assert len(answered) > 20
    assert {path: status for path, status in answered.items() if status != 404} == {}


@pytest.mark.parametrize(
    ("role", "path"),
    [
        (Role.EMPLOYEE, "/wall"),
        (Role.EMPLOYEE, "/notifications"),
        (Role.EMPLOYEE, "/earnings"),
        (Role.HR, "/people/"),
        (Role.ADMIN, "/admin/audit"),
        (Role.ADMIN, "/admin/messages"),
        (Role.FINANCE, "/finance/payouts"),
        (Role.FINANCE, "/manage/orders"),
    ],
)
@pytest.mark.parametrize("page", [HUGE, "-3", "abc"])
def test_any_page_number_answers_without_an_error(client, login_as, role, path, page):
    login_as(role, locale="en")
    assert client.get(f"{path}?page={page}").status_code in (200, 404)


@pytest.mark.parametrize("kind", ["solar", "lunar"])
@pytest.mark.parametrize("day", [HUGE, str(2**31), "32"])
@pytest.mark.parametrize("editing", [False, True], ids=["new", "edit"])
def test_an_occasion_day_beyond_any_month_is_refused_with_its_reason(
    client, login_as, kind, day, editing
):
    """WTForms runs a field's own check after its NumberRange has failed: the day was then
    made into a date, and one beyond a C long raised OverflowError (a 500), not the
    ValueError the check caught."""
    login_as(Role.HR, locale="en")
    path = "/manage/occasions/new"
    if editing:
        occasion = Occasion(
            kind=OccasionKind.SOLAR, name_vi="Ngày hội", name_en="Family day", month=6, day=28
        )
        db.session.add(occasion)
        db.session.commit()
        path = f"/manage/occasions/{occasion.id}/edit"
    form = {"name_vi": "Ngày hội", "name_en": "Family day", "kind": kind, "month": "6"}
    refused = client.post(path, data={**form, "day": day})
    assert refused.status_code == 400
    assert "Number must be between 1 and 31." in refused.get_data(as_text=True)
    assert db.session.scalar(db.select(Occasion.day).order_by(Occasion.id)) in (None, 28)


def test_a_hire_date_no_calendar_can_carry_is_refused_with_its_reason(client, login_as):
    login_as(Role.HR, locale="en")
    form = {
        "name": "Nguyễn Văn Xa",
        "email": "xa@congty.example",
        "employee_number": "NV-XA",
        "employment_type": "staff",
        "roles": "employee",
        "locale": "vi",
        "hire_date": "9999-12-31",
    }
    refused = client.post("/people/new", data=form)
    assert refused.status_code == 400
    assert "Date must be between 01/01/1900 and 31/12/2199" in refused.get_data(as_text=True)
    assert client.get("/wall").status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/finance/commissions?start=0001-01-01",
        "/finance/commissions?end=9999-12-31",
        "/manage/orders?date_from=0001-01-01",
        "/manage/orders?date_to=9999-12-31",
        "/finance/reports?period=month&month=9999-12",
        "/finance/exports/commissions.csv?period=month&month=9999-12",
        "/finance/reports?period=quarter&quarter=9999-Q4",
    ],
)
def test_a_filter_day_at_the_calendars_edge_is_a_form_error(client, login_as, path):
    login_as(Role.FINANCE, Role.ADMIN, locale="en")
    assert client.get(path).status_code == 400


def test_the_audit_log_refuses_a_day_at_the_calendars_edge(client, login_as):
    login_as(Role.ADMIN, locale="en")
    assert client.get("/admin/audit?date_to=9999-12-31").status_code == 400


@pytest.mark.parametrize(
    "query",
    [
        "to=9999-12-31",
        "from=0001-01-01",
        "cursor=" + str(2**63),
        "cursor=" + str(2**31),  # beyond PostgreSQL's INTEGER ids
    ],
)
@pytest.mark.parametrize("resource", ["claims", "commissions", "ledger-entries"])
def test_the_api_refuses_a_day_or_cursor_out_of_range(client, resource, query):
    secret = tokens.create_service_token(
        "Hệ thống HR",
        (Scope.PERKS_READ, Scope.COMMISSIONS_READ),
        datetime.now(UTC).date() + timedelta(days=90),
        actor=UserFactory(roles={Role.ADMIN}),
    ).secret
    sent = query
    if query.startswith("cursor="):  # the list's own cursor (its table and an id), as written
        table = {"claims": "claim", "commissions": "commission", "ledger-entries": "ledger_entry"}
        written = f"{table[resource]}:{query.removeprefix('cursor=')}".encode("ascii")
        sent = "cursor=" + base64.urlsafe_b64encode(written).decode("ascii").rstrip("=")
    answer = client.get(f"/api/v1/{resource}?{sent}", headers={"Authorization": f"Bearer {secret}"})
    if resource == "ledger-entries" and query == "cursor=" + str(2**31):
        # Ledger entries have BIGINT ids: 2**31 names one, and its page is answered.
        assert answer.status_code == 200
        return
    assert answer.status_code in (400, 422)
    assert answer.mimetype == "application/problem+json"


def test_an_imported_hire_date_out_of_range_is_a_bad_row(app):
    columns = ["email", "name", "hire_date"]
    rows = [
        ["xa@congty.example", "Nguyễn Văn Xa", "9999-12-31"],
        ["gan@congty.example", "Trần Thị Gần", "0001-01-01"],
        ["vua@congty.example", "Lê Văn Vừa", "2024-06-03"],
    ]
    with force_locale("en"):
        plan = plan_rows(columns, rows, actor=None)
    assert [error.line for error in plan.errors] == [2, 3]
    assert all("is not a date" in error.message for error in plan.errors)


class _NumberFields(HTMLParser):
    """The POST forms of a page: their action, what the browser would send as it is, and the
    names of their number inputs (``type="number"`` or a numeric ``inputmode``)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str | None, dict[str, str], list[str]]] = []
        self._form: tuple[str | None, dict[str, str], list[str]] | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "form":
            posted = (found.get("method") or "get").lower() == "post"
            self._form = (found.get("action"), {}, []) if posted else None
            if self._form is not None:
                self.forms.append(self._form)
            return
        name = found.get("name")
        if self._form is None or not name:
            if tag == "option" and self._form is not None and self._select:
                fields = self._form[1]
                if "selected" in found or not fields.get(self._select):
                    fields[self._select] = found.get("value") or ""
            return
        kind = (found.get("type") or "text").lower()
        fields, numbers = self._form[1], self._form[2]
        if tag == "input" and kind in ("checkbox", "radio"):
            if "checked" in found:
                fields[name] = found.get("value") or "y"
        elif tag == "input" and kind not in ("submit", "button", "file"):
            fields[name] = found.get("value") or ""
            if kind == "number" or found.get("inputmode") in ("numeric", "decimal"):
                numbers.append(name)
        elif tag == "select":
            self._select = name
            fields[name] = ""
        elif tag == "textarea":
            fields[name] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def test_every_number_field_of_every_form_takes_a_number_beyond_any_column(client, demo_company):
    """A number no column holds in any number box of any form the administrator is shown is
    refused with the form's error (or taken as it is meant, a 2xx or 3xx), never a 500: an
    occasion's day of 2**31 raised OverflowError, and PostgreSQL refuses any such number in an
    INTEGER column ("integer out of range")."""
    admin = db.session.scalar(select(User).where(User.email == dict(demo_logins())["admin"]))
    login(client, admin, DEMO_PASSWORD)
    client.post("/language", data={"locale": "en"})
    answered: dict[tuple[str, str, str], int] = {}
    for page in pages_for(Role.ADMIN.value):
        url = page.url(admin)
        if url is None:
            continue
        reader = _NumberFields()
        reader.feed(client.get(url).get_data(as_text=True))
        for action, fields, numbers in reader.forms:
            target = action or url
            for name in numbers:
                for number in (HUGE, str(2**31)):
                    if (target, name, number) in answered:
                        continue
                    answer = client.post(target, data={**fields, name: number})
                    answered[(target, name, number)] = answer.status_code
    assert len({name for _, name, _ in answered}) > 20
    assert {key: status for key, status in answered.items() if status >= 500} == {}
