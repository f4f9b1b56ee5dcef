"""Two HR people editing an award: a save from a page opened before the other's save is
refused in the person's language, with nothing of it written, and the form shows the award as
it is now with what they had entered; a save from the award as it is now works. On
PostgreSQL, two saves from the same page version racing: one is saved, the other refused."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from perks.extensions import db
from perks.people.models import Role
from perks.recognition import awards
from perks.recognition.models import Award
from tests import factories
from tests.helpers import is_postgres, signed_in
from tests.stale_saves import FINGERPRINT, GuardedForm, audit_events

SAVED = "recognition.award_changed"


def award_form(**changes: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "name_vi": "Nhân viên xuất sắc tháng",
        "name_en": "Employee of the month",
        "description_vi": "Đóng góp nổi bật nhất tháng.",
        "description_en": "The month's outstanding contribution.",
        "perk_id": "0",
        "points": "100",
        "active": "y",
    }
    form.update(changes)
    return form


def hr(**fields: Any):  # type: ignore[no-untyped-def]
    return factories.UserFactory(roles={Role.HR}, **fields)


def an_award() -> tuple[Award, GuardedForm]:
    form = award_form()
    award = awards.create_award(
        awards.AwardData(
            name_vi=form["name_vi"],
            name_en=form["name_en"],
            description_vi=form["description_vi"],
            description_en=form["description_en"],
            perk_id=None,
            points=100,
            active=True,
        ),
        actor=hr(),
    )
    page = GuardedForm(
        f"/manage/awards/{award.id}/edit",
        field="shown",
        audited=(SAVED,),
        version_pattern=FINGERPRINT,
        saved_status=303,
    )
    return award, page


def stored(award_id: int) -> Award:
    db.session.expire_all()
    award = db.session.get(Award, award_id)
    assert award is not None
    return award


def test_a_save_from_a_page_opened_before_anothers_save_is_refused_and_writes_nothing(app):
    award, page = an_award()
    first = signed_in(app, hr(name="Phạm Thu Hà"))
    second = signed_in(app, hr(locale="vi"))
    opened = page.opened(first, second)

    page.saves(first, award_form(points="500", shown=opened))
    refused = page.refuses(second, award_form(name_en="Star of the month", shown=opened))

    assert "Phạm Thu Hà đã thay đổi mục này sau khi bạn mở trang" in refused.text
    row = stored(award.id)
    assert (row.points, row.name_en) == (500, "Employee of the month")
    # the form shows the award as it is now, and what was entered that differs from it
    assert 'value="500"' in refused.html
    assert "Star of the month" in refused.entered
    assert ">100<" in refused.entered

    page.saves(second, award_form(points="500", name_en="Star of the month", shown=refused.version))
    row = stored(award.id)
    assert (row.points, row.name_en) == (500, "Star of the month")


def test_a_save_without_the_version_its_page_showed_is_refused(app):
    award, page = an_award()
    refused = page.refuses_without_version(signed_in(app, hr()), award_form(points="7"))
    assert "open the award again" in refused.text
    assert stored(award.id).points == 100


def test_two_saves_from_the_same_page_at_once_save_one_and_refuse_the_other(app):
    """PostgreSQL: both pages showed the same award and are sent at the same moment."""
    if not is_postgres(app):
        pytest.skip("racing saves need PostgreSQL's concurrent writers; set TEST_DATABASE_URL")
    award, page = an_award()
    award_id = award.id
    emails = [hr().email, hr().email]

    def with_points(n: int, client: FlaskClient) -> dict[str, object]:
        return award_form(points=str(200 + n), shown=page.version_shown(client))

    saved = page.raced(app, emails, with_points)

    with app.app_context():
        assert db.session.get(Award, award_id).points == int(saved["points"])  # type: ignore[union-attr]
        assert audit_events(SAVED) == 1
