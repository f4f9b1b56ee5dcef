"""Two HR people setting a department's feedback owner and targets: a save from a page opened
before the other's save is refused in the person's language, with nothing of it written, and
the form shows the desk as it is now with what they had entered; a save from the desk as it is
now works. On PostgreSQL, two saves from the same page racing: one is saved, the other
refused."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from perks.audit import AuditEvent
from perks.extensions import db
from perks.feedback.models import FeedbackDesk
from perks.people.models import Role
from tests import factories
from tests.helpers import is_postgres, signed_in
from tests.stale_saves import FINGERPRINT, GuardedForm, audit_events

SAVED = "feedback.desk_changed"


def hr(**fields: Any):  # type: ignore[no-untyped-def]
    return factories.UserFactory(roles={Role.HR}, **fields)


def a_desk_page() -> tuple[int, GuardedForm]:
    department = factories.DepartmentFactory()
    page = GuardedForm(
        f"/manage/feedback/{department.id}",
        field="shown",
        audited=(SAVED,),
        version_pattern=FINGERPRINT,
        saved_status=302,
    )
    return department.id, page


def desk_form(**changes: Any) -> dict[str, Any]:
    form: dict[str, Any] = {"owner": "0", "acknowledge_days": "2", "answer_days": "10"}
    form.update(changes)
    return form


def stored(department_id: int) -> tuple[int | None, int, int]:
    db.session.expire_all()
    desk = db.session.get(FeedbackDesk, department_id)
    assert desk is not None
    return desk.owner_id, desk.acknowledge_days, desk.answer_days


def test_a_save_from_a_page_opened_before_anothers_save_is_refused_and_writes_nothing(app):
    department_id, page = a_desk_page()
    owner = factories.UserFactory(name="Vũ Thị Phụ Trách")
    first = signed_in(app, hr(name="Phạm Thu Hà"))
    second = signed_in(app, hr(locale="vi"))
    opened = page.opened(first, second)

    page.saves(first, desk_form(owner=str(owner.id), shown=opened))
    refused = page.refuses(second, desk_form(answer_days="20", shown=opened))

    assert "Phạm Thu Hà đã thay đổi mục này sau khi bạn mở trang" in refused.text
    assert stored(department_id) == (owner.id, 2, 10)  # the owner the first one chose stays
    # the form shows the desk as it is now, and what was entered that differs from it
    assert f'<option selected value="{owner.id}">' in refused.html
    assert ">20<" in refused.entered
    assert ">Nhân sự<" in refused.entered  # HR, the owner the page showed

    page.saves(second, desk_form(owner=str(owner.id), answer_days="20", shown=refused.version))
    assert stored(department_id) == (owner.id, 2, 20)


def test_a_desks_audit_events_name_its_department(app):
    """The desk's key is its department: the audit log links each change to it."""
    department_id, page = a_desk_page()
    client = signed_in(app, hr())
    page.saves(client, desk_form(answer_days="20", shown=page.version_shown(client)))
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == SAVED)).one()
    assert (event.target_type, event.target_id) == ("FeedbackDesk", str(department_id))


def test_a_save_without_the_version_its_page_showed_is_refused(app):
    department_id, page = a_desk_page()
    refused = page.refuses_without_version(signed_in(app, hr()), desk_form(answer_days="20"))
    assert "open the department's page again" in refused.text
    assert db.session.get(FeedbackDesk, department_id) is None


def test_two_saves_from_the_same_page_at_once_save_one_and_refuse_the_other(app):
    """PostgreSQL: both pages showed the same desk and are sent at the same moment."""
    if not is_postgres(app):
        pytest.skip("racing saves need PostgreSQL's concurrent writers; set TEST_DATABASE_URL")
    department_id, page = a_desk_page()
    emails = [hr().email, hr().email]

    def with_target(n: int, client: FlaskClient) -> dict[str, object]:
        return desk_form(answer_days=str(20 + n), shown=page.version_shown(client))

    saved = page.raced(app, emails, with_target)

    with app.app_context():
        assert stored(department_id)[2] == int(saved["answer_days"])
        assert audit_events(SAVED) == 1
