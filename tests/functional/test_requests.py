"""SECURITY.md, "Requests and responses" and access control that is not per route."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from perks.audit import AuditEvent
from perks.extensions import csrf, db
from perks.people.models import PeopleImport, Role, User
from perks.security import CONTENT_SECURITY_POLICY, is_safe_path
from tests import factories
from tests.helpers import login


@pytest.fixture
def csrf_client(app, app_factory):
    return app_factory(WTF_CSRF_ENABLED=True).test_client()


# CSRF -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "data"),
    [
        ("/login", {"email": "a@example.com", "password": "x"}),
        ("/language", {"locale": "en"}),
        ("/password/forgot", {"email": "a@example.com"}),
    ],
)
def test_state_changing_requests_without_a_csrf_token_are_refused(csrf_client, url, data):
    response = csrf_client.post(url, data=data)
    assert response.status_code == 400


def test_signed_in_posts_need_the_csrf_token(app, app_factory):
    csrf_app = app_factory(WTF_CSRF_ENABLED=True)
    target = factories.UserFactory()
    hr = factories.UserFactory(roles={Role.HR})
    client = csrf_app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    response = client.post(
        "/login", data={"email": hr.email, "password": factories.PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    assert client.post(f"/people/{target.id}/deactivate").status_code == 400
    assert db.session.get(User, target.id).active is True


def test_csrf_failure_page_is_translated(csrf_client):
    csrf_client.get("/login", headers={"Accept-Language": "vi"})
    response = csrf_client.post(
        "/language", data={"locale": "en"}, headers={"Accept-Language": "vi"}
    )
    assert response.status_code == 400
    assert '<html lang="vi"' in response.get_data(as_text=True)


# Headers ----------------------------------------------------------------------------------


def test_pages_carry_security_headers(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in csp
    assert "script-src 'self'" in csp
    for directive in ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"):
        assert directive in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "max-age=" in response.headers["Strict-Transport-Security"]
    assert csp == CONTENT_SECURITY_POLICY


def test_no_hsts_in_local_development(app, app_factory):
    dev = app_factory(PERKS_ENV="development")
    assert "Strict-Transport-Security" not in dev.test_client().get("/login").headers


def test_templates_have_no_inline_script_or_style(client, login_as):
    login_as(Role.ADMIN)
    for url in ("/", "/people/", "/admin/audit", "/account"):
        html = client.get(url).get_data(as_text=True)
        assert "<script>" not in html
        assert "<script " not in html.replace("<script src=", "")
        assert " style=" not in html
        assert "<style" not in html
        assert " onclick=" not in html


def test_user_text_is_escaped(client, login_as):
    factories.UserFactory(name="<script>alert(1)</script>")
    login_as(Role.HR)
    html = client.get("/people/").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)" not in html


# Hosts and proxies ------------------------------------------------------------------------


def test_untrusted_host_is_refused(app, app_factory):
    guarded = app_factory(TRUSTED_HOSTS=["perks.example"])
    client = guarded.test_client()
    assert client.get("/login", base_url="http://perks.example").status_code == 200
    assert client.get("/login", base_url="http://evil.example").status_code == 400


def test_forwarded_headers_are_ignored_without_a_configured_proxy(client):
    hr = factories.UserFactory(roles={Role.HR})
    login(client, hr)
    client.post(
        "/people/departments", data={"name": "Kho vận"}, headers={"X-Forwarded-For": "203.0.113.9"}
    )
    event = db.session.scalar(
        db.select(AuditEvent).where(AuditEvent.action == "people.department_created")
    )
    assert event.ip_address == "127.0.0.1"


def test_forwarded_headers_are_used_behind_the_configured_proxy(app, app_factory):
    proxied = app_factory(PROXY_COUNT=1)
    client = proxied.test_client()
    login(client, factories.UserFactory(roles={Role.HR}))
    client.post(
        "/people/departments", data={"name": "Kho vận"}, headers={"X-Forwarded-For": "203.0.113.9"}
    )
    event = db.session.scalar(
        db.select(AuditEvent).where(AuditEvent.action == "people.department_created")
    )
    assert event.ip_address == "203.0.113.9"


# Safe redirects ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "safe"),
    [
        ("/", True),
        ("/people/?page=2", True),
        ("", False),
        (None, False),
        ("//evil.com", False),
        ("/\\evil.com", False),
        ("https://evil.com/", False),
        ("evil.com", False),
        ("/ok\r\nSet-Cookie: x", False),
    ],
)
def test_is_safe_path(target, safe):
    assert is_safe_path(target) is safe


# Errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_not_found_page_is_in_the_users_language(client, locale):
    response = client.get("/no-such-page", headers={"Accept-Language": locale})
    assert response.status_code == 404
    assert f'<html lang="{locale}"' in response.get_data(as_text=True)


def test_unknown_language_is_a_clear_400(client):
    assert client.post("/language", data={"locale": "fr"}).status_code == 400


def test_language_choice_is_remembered_for_the_person(client, login_as):
    user = login_as(Role.EMPLOYEE, locale="en")
    client.post("/language", data={"locale": "vi"})
    assert db.session.scalar(db.select(User.locale).where(User.id == user.id)) == "vi"


def test_browser_language_is_used_before_anything_is_chosen(client):
    html = client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"}).get_data(
        as_text=True
    )
    assert '<html lang="en"' in html
    html = client.get("/login", headers={"Accept-Language": "vi-VN"}).get_data(as_text=True)
    assert '<html lang="vi"' in html


def test_server_error_page_is_shown_without_details(app, app_factory):
    broken = app_factory(PROPAGATE_EXCEPTIONS=False)

    @broken.get("/boom")
    def boom():  # pragma: no cover - only raises
        raise RuntimeError("secret internals")

    response = broken.test_client().get("/boom")
    assert response.status_code == 500
    assert "secret internals" not in response.get_data(as_text=True)


def test_form_validation_messages_are_in_the_users_language(client, login_as):
    login_as(Role.HR, locale="vi")
    response = client.post("/people/departments", data={"name": ""})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "This field is required." not in html
    from flask_babel import force_locale, gettext

    with force_locale("vi"):
        assert gettext("This field is required.") in html


def test_a_nul_byte_in_any_field_is_a_400_not_a_500(client, login_as):
    login_as(Role.HR)
    assert client.post("/people/departments", data={"name": "Kho\x00vận"}).status_code == 400
    assert client.get("/people/?q=a%00b").status_code == 400


@pytest.mark.parametrize(
    ("field", "filename"),
    [("file", "danh-s\x00ach.csv"), ("fi\x00le", "people.csv")],
    ids=["file name", "field name"],
)
def test_a_nul_byte_in_an_uploads_name_is_a_400_and_nothing_is_stored(
    client, login_as, field, filename
):
    """Only the form's values and the query string were searched: a people file sent as
    ``danh-s\\x00ach.csv`` passed the check (its extension is .csv) and its name, stored as
    sent, failed the INSERT on PostgreSQL (a 500)."""
    login_as(Role.HR, locale="en")
    upload = (io.BytesIO(b"email,name\nnul@congty.example,Nul\n"), filename)
    answer = client.post(
        "/people/import/", data={field: upload}, content_type="multipart/form-data"
    )
    assert answer.status_code == 400
    assert db.session.scalar(db.select(db.func.count()).select_from(PeopleImport)) == 0
    assert client.post("/people/departments", data={"na\x00me": "Kho"}).status_code == 400
    assert client.get("/people/?q\x00=a").status_code == 400


# What a mutation check found the tests above would miss ----------------------------------

_CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)


def test_answers_that_are_not_pages_carry_the_security_headers_too(client):
    """Only /login was checked: headers set on HTML alone, or none on the referral redirect
    (a WSGI app of its own), passed every test."""
    link = factories.ReferralLinkFactory()
    code = link.code
    owner = link.user
    answers = {"/r/<code>": client.get(f"/r/{code}", headers={"User-Agent": _CHROME})}
    answers["API (401)"] = client.get("/api/v1/perks")
    login(client, owner)
    answers["QR PNG"] = client.get(f"/links/{link.id}/qr.png")
    finance = client.application.test_client()
    login(finance, factories.UserFactory(roles={Role.FINANCE}))
    answers["CSV export"] = finance.get("/finance/exports/commissions.csv?period=month")
    assert {name: answer.status_code for name, answer in answers.items()} == {
        "/r/<code>": 302,
        "API (401)": 401,
        "QR PNG": 200,
        "CSV export": 200,
    }
    for name, answer in answers.items():
        assert answer.headers.get("X-Content-Type-Options") == "nosniff", name
        assert answer.headers.get("Content-Security-Policy") == CONTENT_SECURITY_POLICY, name
        assert answer.headers.get("Referrer-Policy") == "strict-origin-when-cross-origin", name
        assert "max-age=" in answer.headers.get("Strict-Transport-Security", ""), name


def test_only_the_stripe_webhook_and_the_bearer_token_api_skip_csrf(app):
    """SECURITY.md: CSRF on every state-changing request; only the webhook is exempt (and the
    API, which takes bearer tokens, never cookies). A view exempted by mistake, with its form
    check gone too, passed every test."""
    assert csrf._exempt_views == {"perks.payments.views.stripe_webhook"}
    assert {blueprint.name for blueprint in csrf._exempt_blueprints} == {"api"}


def test_no_user_text_is_marked_safe():
    """Autoescape is on and tested on one page; a ``|safe`` on a feedback item's text passed
    every test. Markup is made in these few places only, none from what a person typed."""
    root = Path(__file__).resolve().parents[2]
    found = sorted(
        f"{path.relative_to(root)}: {line.strip()}"
        for folder, pattern in (("templates", "*.html"), ("perks", "*.py"))
        for path in (root / folder).rglob(pattern)
        for line in path.read_text(encoding="utf-8").splitlines()
        if re.search(r"\|\s*safe\b|\bMarkup\(|autoescape\s+false", line)
    )
    assert found == [
        "perks/charts.py: return Markup(drawn)  # noqa: S704 - every piece is escaped or a "
        "number (_Drawing)",
        "perks/qr.py: return Markup(svg)  # noqa: S704 - generated by segno, not user input",
        'templates/people/directory.html: <td class="text-break" data-label="{{ _(\'E-mail\') '
        "}}\">{{ person.email|replace('@', '@<wbr>'|safe) }}</td>",
        'templates/people/import_review.html: {{ row.name }}<br><span class="small '
        "text-muted\">{{ row.email|replace('@', '@<wbr>'|safe) }}</span>",
    ]
