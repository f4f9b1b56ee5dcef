"""Two HR people editing the points settings or a company value: a save from a page opened
before the other's save is refused in the person's language, with nothing of it written, and
the form shows what is saved now with what they had entered; a save from the page as it is now
works. On PostgreSQL, two saves from the same page version racing: one is saved, the other
refused."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from perks.extensions import db
from perks.people.models import Role
from perks.recognition import kudos, services
from perks.recognition.kudos import PointsSettingsData, ValueData
from perks.recognition.points_models import CompanyValue
from tests import factories
from tests.helpers import is_postgres, signed_in
from tests.stale_saves import FINGERPRINT, GuardedForm, audit_events

SETTINGS_SAVED = "recognition.points_settings_changed"
VALUE_SAVED = "recognition.value_changed"
SETTINGS = GuardedForm(
    "/manage/points",
    field="shown",
    audited=(SETTINGS_SAVED,),
    version_pattern=FINGERPRINT,
    saved_status=303,
)


def hr(**fields: Any):  # type: ignore[no-untyped-def]
    return factories.UserFactory(roles={Role.HR}, **fields)


def settings_form(**changes: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "monthly_allowance": "100",
        "pair_monthly_limit": "50",
        "point_value": "1000",
        "role_manager": "",
    }
    form.update(changes)
    return form


def value_form(**changes: Any) -> dict[str, Any]:
    form: dict[str, Any] = {"name_vi": "Tận tâm", "name_en": "Care", "active": "y"}
    form.update(changes)
    return form


def a_value() -> tuple[CompanyValue, GuardedForm]:
    value = kudos.create_value(ValueData("Tận tâm", "Care"), actor=hr())
    page = GuardedForm(
        f"/manage/points/values/{value.id}/edit",
        field="shown",
        audited=(VALUE_SAVED,),
        version_pattern=FINGERPRINT,
        saved_status=303,
    )
    return value, page


def test_a_settings_save_from_a_page_opened_before_anothers_save_is_refused(app):
    first = signed_in(app, hr(name="Phạm Thu Hà"))
    second = signed_in(app, hr(locale="vi"))
    opened = SETTINGS.opened(first, second)

    SETTINGS.saves(first, settings_form(monthly_allowance="300", shown=opened))
    refused = SETTINGS.refuses(second, settings_form(point_value="2000", shown=opened))

    assert "Phạm Thu Hà đã thay đổi mục này sau khi bạn mở trang" in refused.text
    saved = services.current_settings()
    assert (saved.monthly_allowance, saved.point_value) == (300, 1000)
    # the form shows the settings as they are now, and what was entered that differs
    assert 'value="300"' in refused.html
    assert ">2000<" in refused.entered
    assert ">100<" in refused.entered

    SETTINGS.saves(
        second, settings_form(monthly_allowance="300", point_value="2000", shown=refused.version)
    )
    saved = services.current_settings()
    assert (saved.monthly_allowance, saved.point_value) == (300, 2000)


def test_a_settings_save_without_the_version_its_page_showed_is_refused(app):
    refused = SETTINGS.refuses_without_version(signed_in(app, hr()), settings_form())
    assert "open the points settings again" in refused.text


def test_a_value_save_from_a_page_opened_before_anothers_save_is_refused(app):
    value, page = a_value()
    first = signed_in(app, hr(name="Phạm Thu Hà"))
    second = signed_in(app, hr(locale="vi"))
    opened = page.opened(first, second)

    page.saves(first, value_form(name_en="Caring", shown=opened))
    refused = page.refuses(second, value_form(name_vi="Tận tụy", shown=opened))

    assert "Phạm Thu Hà đã thay đổi mục này sau khi bạn mở trang" in refused.text
    db.session.expire_all()
    row = db.session.get(CompanyValue, value.id)
    assert (row.name_vi, row.name_en) == ("Tận tâm", "Caring")  # type: ignore[union-attr]
    assert 'value="Caring"' in refused.html
    assert "Tận tụy" in refused.entered
    assert ">Care<" in refused.entered

    page.saves(second, value_form(name_vi="Tận tụy", name_en="Caring", shown=refused.version))
    db.session.expire_all()
    row = db.session.get(CompanyValue, value.id)
    assert (row.name_vi, row.name_en) == ("Tận tụy", "Caring")  # type: ignore[union-attr]


def test_a_value_save_without_the_version_its_page_showed_is_refused(app):
    value, page = a_value()
    refused = page.refuses_without_version(signed_in(app, hr()), value_form(name_en="Stale"))
    assert "open the value again" in refused.text
    db.session.expire_all()
    assert db.session.get(CompanyValue, value.id).name_en == "Care"  # type: ignore[union-attr]


def test_two_settings_saves_from_the_same_page_at_once_save_one_and_refuse_the_other(app):
    """PostgreSQL: both pages showed the same settings and are sent at the same moment."""
    if not is_postgres(app):
        pytest.skip("racing saves need PostgreSQL's concurrent writers; set TEST_DATABASE_URL")
    kudos.update_points_settings(PointsSettingsData(100, {}, 50, 1000), actor=hr())
    emails = [hr().email, hr().email]
    before = audit_events(SETTINGS_SAVED)

    def with_allowance(n: int, client: FlaskClient) -> dict[str, object]:
        return settings_form(monthly_allowance=str(200 + n), shown=SETTINGS.version_shown(client))

    saved = SETTINGS.raced(app, emails, with_allowance)

    with app.app_context():
        assert services.current_settings().monthly_allowance == int(saved["monthly_allowance"])
        assert audit_events(SETTINGS_SAVED) == before + 1


def test_two_value_saves_from_the_same_page_at_once_save_one_and_refuse_the_other(app):
    """PostgreSQL: both pages showed the same value and are sent at the same moment."""
    if not is_postgres(app):
        pytest.skip("racing saves need PostgreSQL's concurrent writers; set TEST_DATABASE_URL")
    value, page = a_value()
    value_id = value.id
    emails = [hr().email, hr().email]

    def with_name(n: int, client: FlaskClient) -> dict[str, object]:
        return value_form(name_en=f"Care {n}", shown=page.version_shown(client))

    saved = page.raced(app, emails, with_name)

    with app.app_context():
        assert db.session.get(CompanyValue, value_id).name_en == saved["name_en"]  # type: ignore[union-attr]
        assert audit_events(VALUE_SAVED) == 1
