"""A field the form refuses is marked invalid for a screen reader too (``aria-invalid``), and
its error is its description (``aria-describedby``): a person who reaches the field with the
keyboard hears why it was refused, not only a red border for those who see it."""

from __future__ import annotations

from html.parser import HTMLParser

from sqlalchemy import select

from perks.extensions import db
from perks.feedback.surveys_models import Survey
from perks.people.models import Role
from tests.factories import ProductFactory, UserFactory
from tests.helpers import login
from tests.unit.recognition.helpers import idea_nominated_by


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.elements: list[dict[str, str]] = []
        self.texts: dict[str, str] = {}
        self._open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        self.elements.append(found)
        self._open.append(found.get("id", ""))

    def handle_endtag(self, tag: str) -> None:
        if self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        for element_id in self._open:
            if element_id:
                self.texts[element_id] = self.texts.get(element_id, "") + data


def test_a_refused_field_says_so_and_is_described_by_its_error(client):
    login(client, UserFactory(roles={Role.HR}, locale="en"))

    refused = client.post("/people/new", data={"name": "Lê Văn An", "email": "not an address"})

    assert refused.status_code == 400
    page = _Elements()
    page.feed(refused.get_data(as_text=True))
    email = next(e for e in page.elements if e.get("name") == "email")
    assert "is-invalid" in email["class"]
    assert email.get("aria-invalid") == "true"
    described = " ".join(page.texts.get(i, "") for i in email.get("aria-describedby", "").split())
    assert "Invalid email address" in described, described
    name = next(e for e in page.elements if e.get("name") == "name")
    assert "aria-invalid" not in name


def _refused(page_html: str, name: str) -> tuple[list[dict[str, str]], str]:
    """The elements named ``name`` (a field, or a list's choices) and what describes them."""
    page = _Elements()
    page.feed(page_html)
    fields = [e for e in page.elements if e.get("name") == name]
    assert fields, f"no field {name}"
    described = {
        " ".join(page.texts.get(i, "") for i in field.get("aria-describedby", "").split())
        for field in fields
    }
    assert len(described) == 1, described
    return fields, described.pop()


def test_the_scan_lookup_says_a_refused_code_and_why(client, login_as):
    # the counters' lookups (/redeem, /redeem-order) write their code field by hand
    login_as(Role.REDEEMER, locale="en")
    for path in ("/redeem", "/redeem-order"):
        refused = client.get(f"{path}?code=")

        assert refused.status_code == 400
        (code,), described = _refused(refused.get_data(as_text=True), "code")
        assert code.get("aria-invalid") == "true", path
        assert "This field is required." in described, path
        assert "QR" in described or "code" in described.lower(), described  # its help, still


def test_the_finance_filters_say_a_refused_day_and_why(client, login_as):
    # the reconciliation's, the reports' and the commissions' filters write their fields by hand
    login_as(Role.FINANCE, locale="en")
    for path in ("/finance/reconciliation", "/finance/reports", "/finance/commissions"):
        refused = client.get(f"{path}?start=31/02/2026")

        (start,), described = _refused(refused.get_data(as_text=True), "start")
        assert start.get("aria-invalid") == "true", path
        assert "Not a valid date value." in described, path
        (end,), _ = _refused(refused.get_data(as_text=True), "end")
        assert "aria-invalid" not in end, path


def test_a_refused_survey_answer_says_so_on_each_choice(client):
    hr = UserFactory(roles={Role.HR}, locale="en")
    login(client, hr)
    client.post(
        "/manage/surveys/new",
        data={"title_vi": "Khảo sát quý", "title_en": "Quarterly survey", "min_tenure_days": "0"},
    )
    survey = db.session.scalars(select(Survey)).one()
    client.post(
        f"/manage/surveys/{survey.id}/questions",
        data={"kind": "nps", "text_vi": "Giới thiệu?", "text_en": "Recommend us?"},
    )
    client.post(f"/manage/surveys/{survey.id}/open")
    db.session.refresh(survey)
    question = survey.questions[0].id
    person = client.application.test_client()
    login(person, UserFactory(locale="en"))

    refused = person.post(f"/surveys/{survey.id}", data={f"q{question}": "11"})

    assert refused.status_code == 400
    choices, described = _refused(refused.get_data(as_text=True), f"q{question}")
    assert len(choices) == 11
    assert all(choice.get("aria-invalid") == "true" for choice in choices)
    assert "Not a valid choice" in described, described


def test_the_order_search_says_a_refused_day_and_why(client, login_as):
    login_as(Role.FINANCE, locale="en")

    refused = client.get("/manage/orders?date_from=31/02/2026")

    assert refused.status_code == 400
    (day,), described = _refused(refused.get_data(as_text=True), "date_from")
    assert day.get("aria-invalid") == "true"
    assert "Not a valid date value." in described


def test_a_refused_decline_reason_says_so_and_why(client):
    nomination = idea_nominated_by(UserFactory(roles={Role.MANAGER}))
    login(client, UserFactory(roles={Role.HR}, locale="en"))

    refused = client.post(f"/manage/nominations/{nomination.id}/decline", data={"reason": "  "})

    assert refused.status_code == 400
    (reason,), described = _refused(refused.get_data(as_text=True), "reason")
    assert reason.get("aria-invalid") == "true"
    assert "Say why the nomination is declined." in described, described


def test_a_refused_quantity_on_a_product_page_says_so_and_why(client):
    product = ProductFactory(name_en="Ha Long Bay 2-day cruise", max_quantity_per_order=4)

    refused = client.post(
        "/shop/cart/add",
        data={"product": product.slug, "quantity": 0},
        headers={"Accept-Language": "en"},
    )

    assert refused.status_code == 400
    [quantity], described = _refused(refused.get_data(as_text=True), "quantity")
    assert quantity.get("aria-invalid") == "true"
    assert "Choose a quantity from 1 to 4" in described, described


def test_a_quantity_over_the_products_limit_is_refused_on_its_field(client):
    """Over this product's limit (but a number any product could take), the refusal was an
    alert above the form: the field, keeping the 9 typed, was not marked refused, and a
    screen reader reaching it heard nothing of why."""
    product = ProductFactory(name_en="Ha Long Bay 2-day cruise", max_quantity_per_order=4)

    refused = client.post(
        "/shop/cart/add",
        data={"product": product.slug, "quantity": 9},
        headers={"Accept-Language": "en"},
    )

    assert refused.status_code == 400
    [quantity], described = _refused(refused.get_data(as_text=True), "quantity")
    assert quantity.get("aria-invalid") == "true"
    assert quantity.get("value") == "9"
    assert "Choose a quantity from 1 to 4 for Ha Long Bay 2-day cruise." in described, described


def test_a_refused_filter_says_which_field_and_why(client):
    """The audit log's and the people directory's filters, refused, said "Check the filters:
    some values are not valid." with a red border: no field was marked refused for a screen
    reader, and the directory never said what was wrong with the search."""
    login(client, UserFactory(roles={Role.ADMIN, Role.HR}, locale="en"))

    audit = client.get("/admin/audit?date_from=2026-12-10&date_to=2026-12-01")
    people = client.get("/people/?q=" + "Nguyễn Văn An " * 10)

    assert audit.status_code == 400
    (date_to,), described = _refused(audit.get_data(as_text=True), "date_to")
    assert date_to.get("aria-invalid") == "true"
    assert "The end date is before the start date." in described, described
    (q,), described = _refused(people.get_data(as_text=True), "q")
    assert q.get("aria-invalid") == "true"
    assert "100" in described, described


def test_a_refused_decline_opens_the_fold_its_form_is_in(client):
    """HR declining a feedback item with a blank reason got the item's page back with the
    decline form, its error and what they typed folded away under "Decline it": nothing on the
    page said anything was refused, and the refused field could not take the focus."""
    sender = UserFactory()
    login(client, sender)
    sent = client.post(
        "/feedback/new",
        data={"department": "0", "topic": "tool", "subject": "Printer", "text": "Jammed."},
    )
    item_id = int(sent.headers["Location"].rsplit("/", 1)[1])
    client.post("/logout")
    login(client, UserFactory(roles={Role.HR}, locale="en"))

    refused = client.post(f"/feedback/inbox/{item_id}/decline", data={"reason": "  "})

    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    fold = html[html.rindex("<details", 0, html.index('data-testid="decline-form"')) :]
    assert " open" in fold[: fold.index(">")], fold[:120]
    (reason,), described = _refused(html, "reason")
    assert reason.get("aria-invalid") == "true"
    assert "This field is required." in described


def test_a_success_is_told_politely_and_a_refusal_at_once(client):  # type: ignore[no-untyped-def]
    """Every flashed message was an alert, which a screen reader speaks over whatever it was
    saying: "Your choices are saved." interrupted as a refusal does. A success or a piece of
    news is a status (read when the reader is free); a refusal or a warning stays an alert."""
    hr = UserFactory(roles={Role.HR}, locale="en")
    login(client, hr)

    saved = client.post("/notifications/preferences", data={}, follow_redirects=True)
    html = saved.get_data(as_text=True)
    assert 'role="status">\n        Your choices are saved.' in html

    client.post("/manage/surveys/new", data={"title_vi": "Khảo sát", "title_en": "Pulse"})
    survey = db.session.scalars(select(Survey)).one()
    refused = client.post(f"/manage/surveys/{survey.id}/open", follow_redirects=True)
    assert 'role="alert">\n        Add a question first.' in refused.get_data(as_text=True)
