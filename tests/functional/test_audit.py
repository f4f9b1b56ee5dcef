"""The audit log page: admins read privileged actions, filtered by actor, action and date."""

from __future__ import annotations

from datetime import UTC, datetime
from html.parser import HTMLParser

from perks.audit import AuditEvent
from perks.extensions import db
from perks.people.models import Role
from tests import factories
from tests.helpers import PRODUCTION_SETTINGS


def add_event(action: str, actor_id: int | None, when: datetime) -> None:
    db.session.add(AuditEvent(action=action, actor_id=actor_id, created_at=when, details={}))
    db.session.commit()


def test_audit_log_filters_by_actor_action_and_date(client, login_as):
    admin = login_as(Role.ADMIN)
    hr = factories.UserFactory(roles={Role.HR}, name="Lê Nhân Sự")
    add_event("people.created", hr.id, datetime(2026, 3, 10, 3, tzinfo=UTC))
    add_event("people.deactivated", hr.id, datetime(2026, 4, 1, 3, tzinfo=UTC))
    add_event("auth.roles_changed", admin.id, datetime(2026, 4, 2, 3, tzinfo=UTC))

    by_actor = client.get(f"/admin/audit?actor={hr.id}").get_data(as_text=True)
    assert "<code>people.created</code>" in by_actor
    assert "<code>auth.roles_changed</code>" not in by_actor

    by_action = client.get("/admin/audit?action=people.").get_data(as_text=True)
    assert "<code>people.deactivated</code>" in by_action
    assert "<code>auth.roles_changed</code>" not in by_action

    by_date = client.get("/admin/audit?date_from=2026-04-01&date_to=2026-04-01").get_data(
        as_text=True
    )
    assert "<code>people.deactivated</code>" in by_date
    assert "<code>people.created</code>" not in by_date
    assert "<code>auth.roles_changed</code>" not in by_date


def test_the_who_filter_finds_what_the_system_did(client, login_as):
    """The nightly tasks' and the command line's events (no person behind them) could not be
    picked out: "Who" listed people only."""
    admin = login_as(Role.ADMIN)
    add_event("commissions.released", None, datetime(2026, 4, 1, 3, tzinfo=UTC))
    add_event("auth.roles_changed", admin.id, datetime(2026, 4, 2, 3, tzinfo=UTC))

    response = client.get("/admin/audit?actor=system")
    html = response.get_data(as_text=True)

    assert response.status_code == 200
    assert "<code>commissions.released</code>" in html
    assert "<code>auth.roles_changed</code>" not in html
    assert '<option selected value="system">System</option>' in html


class AuditTableReader(HTMLParser):
    """The audit table's classes and, for each cell of its body, its ``data-label``."""

    def __init__(self) -> None:
        super().__init__()
        self.table_classes: list[str] = []
        self.cell_labels: list[str | None] = []
        self._in_body = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "table" and found.get("data-testid") == "audit-events":
            self.table_classes = (found.get("class") or "").split()
        elif tag == "tbody" and self.table_classes:
            self._in_body = True
        elif tag == "td" and self._in_body:
            self.cell_labels.append(found.get("data-label"))

    def handle_endtag(self, tag: str) -> None:
        if tag == "tbody":
            self._in_body = False


def test_on_a_phone_each_event_is_a_card_of_labelled_lines(client, login_as):
    """At 390 px the six columns scrolled sideways: the target, the details and the address
    were off the screen. Each row stacks (``.table-stack``), each cell but the time that heads
    it saying what it is, in the reader's language."""
    admin = login_as(Role.ADMIN)
    admin.locale = "vi"
    db.session.commit()
    add_event("people.created", admin.id, datetime(2026, 3, 10, 3, tzinfo=UTC))
    reader = AuditTableReader()
    reader.feed(client.get("/admin/audit").get_data(as_text=True))
    assert "table-stack" in reader.table_classes
    assert reader.cell_labels == [
        None,
        "Người thực hiện",
        "Thao tác",
        "Đối tượng",
        "Chi tiết",
        "Địa chỉ IP",
    ]


def test_bad_audit_filter_is_a_400(client, login_as):
    login_as(Role.ADMIN)
    assert client.get("/admin/audit?date_from=yesterday").status_code == 400


def test_an_until_day_before_the_since_day_is_refused_saying_so(client, login_as):
    """ "Since 10/12, until 01/12" answered "No events match these filters.", as if nothing
    had happened in those days."""
    login_as(Role.ADMIN, locale="vi")
    response = client.get("/admin/audit?date_from=2026-12-10&date_to=2026-12-01")
    assert response.status_code == 400
    assert "Ngày kết thúc sớm hơn ngày bắt đầu." in response.get_data(as_text=True)
    same_day = client.get("/admin/audit?date_from=2026-12-01&date_to=2026-12-01")
    assert same_day.status_code == 200


def test_outbox_is_hidden_in_production(app, app_factory):
    production = app_factory(**PRODUCTION_SETTINGS, SESSION_COOKIE_SECURE=False)
    client = production.test_client()
    admin = factories.UserFactory(roles={Role.ADMIN})
    client.post("/login", data={"email": admin.email, "password": factories.PASSWORD})
    assert client.get("/admin/audit").status_code == 200
    assert client.get("/dev/outbox").status_code == 404


def test_an_unknown_person_in_the_who_filter_is_named_as_the_bad_value(client, login_as):
    """A link with someone who never acted (or no number) answered "Check the filters: some
    values are not valid." without saying which one."""
    login_as(Role.ADMIN, locale="vi")
    for actor in ("999999", "abc"):
        response = client.get(f"/admin/audit?actor={actor}")
        assert response.status_code == 400
        assert "Người thực hiện: Lựa chọn không hợp lệ." in response.get_data(as_text=True)


class ActionFilterReader(HTMLParser):
    """The Action filter's options: (area or None, value, label, selected), in page order."""

    def __init__(self) -> None:
        super().__init__()
        self.options: list[tuple[str | None, str, str, bool]] = []
        self._in_select = False
        self._area: str | None = None
        self._option: tuple[str, bool] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "select" and found.get("name") == "action":
            self._in_select = True
        elif tag == "optgroup" and self._in_select:
            self._area = found.get("label")
        elif tag == "option" and self._in_select:
            self._option = (found.get("value") or "", "selected" in found)

    def handle_data(self, data: str) -> None:
        if self._option is not None:
            value, selected = self._option
            self.options.append((self._area, value, data.strip(), selected))
            self._option = None

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._in_select = False
        elif tag == "optgroup":
            self._area = None


def action_options(page: str) -> list[tuple[str | None, str, str, bool]]:
    reader = ActionFilterReader()
    reader.feed(page)
    return reader.options


def test_the_action_filter_lists_the_actions_by_name_grouped_by_area(client, login_as):
    """The filter was a free text for a code prefix (``people.``) an administrator could not
    know. It is a list of the actions by name, in the reader's language, grouped by area, each
    area opening with its every action (the prefix, so old links keep working)."""
    admin = login_as(Role.ADMIN)
    options = action_options(client.get("/admin/audit").get_data(as_text=True))
    assert options[0] == (None, "", "Any action", True)
    people = [(value, label) for area, value, label, _ in options if area == "People"]
    assert people[0] == ("people.", "People: every action")
    assert ("people.created", "Person added") in people
    labels = [label for _, label in people[1:]]
    assert labels == sorted(labels, key=str.casefold)
    assert {area for area, *_ in options[1:]} >= {"Finance", "Commissions", "API", "Perks"}

    admin.locale = "vi"
    db.session.commit()
    options = action_options(client.get("/admin/audit").get_data(as_text=True))
    assert options[0] == (None, "", "Mọi thao tác", True)
    people = [(value, label) for area, value, label, _ in options if area == "Nhân sự"]
    assert people[0] == ("people.", "Nhân sự: mọi thao tác")
    assert ("people.created", "Đã thêm người") in people
    assert ("auth.roles_changed", "Đã đổi vai trò") in [
        (value, label) for area, value, label, _ in options if area == "Tài khoản và đăng nhập"
    ]


def test_the_action_filter_takes_one_action_or_a_whole_area(client, login_as):
    admin = login_as(Role.ADMIN)
    add_event("people.created", admin.id, datetime(2026, 3, 10, 3, tzinfo=UTC))
    add_event("people.deactivated", admin.id, datetime(2026, 4, 1, 3, tzinfo=UTC))
    add_event("auth.roles_changed", admin.id, datetime(2026, 4, 2, 3, tzinfo=UTC))

    one = client.get("/admin/audit?action=people.created").get_data(as_text=True)
    assert "<code>people.created</code>" in one
    assert "<code>people.deactivated</code>" not in one
    assert "<code>auth.roles_changed</code>" not in one
    assert ("People", "people.created", "Person added", True) in action_options(one)

    area = client.get("/admin/audit?action=people.").get_data(as_text=True)
    assert "<code>people.created</code>" in area
    assert "<code>people.deactivated</code>" in area
    assert "<code>auth.roles_changed</code>" not in area
    assert ("People", "people.", "People: every action", True) in action_options(area)


def test_an_unknown_action_in_the_filter_is_named_as_the_bad_value(client, login_as):
    """The free text took any prefix ("people.cr", "xyz") and answered "No events match
    these filters." as if nothing had happened."""
    login_as(Role.ADMIN, locale="vi")
    for action in ("people.cr", "nothing.at_all", "people", " "):
        response = client.get("/admin/audit", query_string={"action": action})
        assert response.status_code == 400, action
        page = response.get_data(as_text=True)
        assert "Thao tác: Lựa chọn không hợp lệ." in page
        assert 'class="form-select is-invalid" id="action"' in page
    assert client.get("/admin/audit?action=").status_code == 200


def test_the_date_filter_reads_days_in_company_time(client, login_as):
    # 1 April 01:00 in Hồ Chí Minh City is 31 March 18:00 UTC; 2 April 03:00 there is
    # 1 April 20:00 UTC: the first is of 1 April, the second is not
    admin = login_as(Role.ADMIN)
    add_event("people.created", admin.id, datetime(2026, 3, 31, 18, tzinfo=UTC))
    add_event("people.deactivated", admin.id, datetime(2026, 4, 1, 20, tzinfo=UTC))

    by_date = client.get("/admin/audit?date_from=2026-04-01&date_to=2026-04-01").get_data(
        as_text=True
    )

    assert "<code>people.created</code>" in by_date
    assert "<code>people.deactivated</code>" not in by_date
