"""Two HR people editing an occasion, or the occasion settings: a save from a page opened
before the other's save is refused in the person's language, with nothing of it written, and
the form shows the record as it is now with what they had entered; a save from the record as
it is now works. On PostgreSQL, two saves from the same page version racing: one is saved,
the other refused."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from perks.extensions import db
from perks.people.models import Role
from perks.recognition import services
from perks.recognition.models import Occasion, OccasionKind
from tests import factories
from tests.helpers import is_postgres, signed_in
from tests.stale_saves import FINGERPRINT, GuardedForm, audit_events

SAVED = "recognition.occasion_changed"


def occasion_form(**changes: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "name_vi": "Ngày hội gia đình",
        "name_en": "Family day",
        "kind": "solar",
        "day": "28",
        "month": "6",
    }
    form.update(changes)
    return form


def hr(**fields: Any):  # type: ignore[no-untyped-def]
    return factories.UserFactory(roles={Role.HR}, **fields)


def an_occasion() -> tuple[Occasion, GuardedForm]:
    occasion = services.create_occasion(
        services.OccasionData("Ngày hội gia đình", "Family day", OccasionKind.SOLAR, 6, 28),
        actor=hr(),
    )
    page = GuardedForm(
        f"/manage/occasions/{occasion.id}/edit",
        field="shown",
        audited=(SAVED,),
        version_pattern=FINGERPRINT,
        saved_status=303,
    )
    return occasion, page


def stored(occasion_id: int) -> Occasion:
    db.session.expire_all()
    occasion = db.session.get(Occasion, occasion_id)
    assert occasion is not None
    return occasion


def test_a_save_from_a_page_opened_before_anothers_save_is_refused_and_writes_nothing(app):
    occasion, page = an_occasion()
    first = signed_in(app, hr(name="Phạm Thu Hà"))
    second = signed_in(app, hr(locale="vi"))
    opened = page.opened(first, second)

    page.saves(first, occasion_form(day="30", shown=opened))
    refused = page.refuses(second, occasion_form(name_en="Family picnic", shown=opened))

    assert "Phạm Thu Hà đã thay đổi mục này sau khi bạn mở trang" in refused.text
    row = stored(occasion.id)
    assert (row.day, row.name_en) == (30, "Family day")
    # the form shows the occasion as it is now, and what was entered that differs from it
    assert 'value="30"' in refused.html
    assert "Family picnic" in refused.entered
    assert ">28<" in refused.entered

    page.saves(second, occasion_form(day="30", name_en="Family picnic", shown=refused.version))
    row = stored(occasion.id)
    assert (row.day, row.name_en) == (30, "Family picnic")


def test_a_save_without_the_version_its_page_showed_is_refused(app):
    occasion, page = an_occasion()
    refused = page.refuses_without_version(signed_in(app, hr()), occasion_form(day="1"))
    assert "open the occasion again" in refused.text
    assert stored(occasion.id).day == 28


def test_two_saves_from_the_same_page_at_once_save_one_and_refuse_the_other(app):
    """PostgreSQL: both pages showed the same occasion and are sent at the same moment."""
    if not is_postgres(app):
        pytest.skip("racing saves need PostgreSQL's concurrent writers; set TEST_DATABASE_URL")
    occasion, page = an_occasion()
    occasion_id = occasion.id
    emails = [hr().email, hr().email]

    def with_day(n: int, client: FlaskClient) -> dict[str, object]:
        return occasion_form(day=str(10 + n), shown=page.version_shown(client))

    saved = page.raced(app, emails, with_day)

    with app.app_context():
        assert db.session.get(Occasion, occasion_id).day == int(saved["day"])  # type: ignore[union-attr]
        assert audit_events(SAVED) == 1


SETTINGS_SAVED = "recognition.settings_changed"
SETTINGS = GuardedForm(
    "/manage/occasions/settings",
    field="shown",
    audited=(SETTINGS_SAVED,),
    version_pattern=FINGERPRINT,
    saved_status=303,
)


POINTS_SETTINGS = GuardedForm(
    "/manage/points", field="shown", audited=(), version_pattern=FINGERPRINT
)


def settings_form(**changes: Any) -> dict[str, Any]:
    form: dict[str, Any] = {"founded_on": "2016-07-12", "anniversary_milestones": "1, 5, 10"}
    form.update(changes)
    return form


def test_a_settings_save_from_a_page_opened_before_anothers_save_is_refused(app):
    first = signed_in(app, hr(name="Phạm Thu Hà"))
    second = signed_in(app, hr(locale="vi"))
    opened = SETTINGS.opened(first, second)

    SETTINGS.saves(first, settings_form(founded_on="2015-03-01", shown=opened))
    refused = SETTINGS.refuses(second, settings_form(anniversary_milestones="5", shown=opened))

    assert "Phạm Thu Hà đã thay đổi mục này sau khi bạn mở trang" in refused.text
    saved = services.current_settings()
    assert (saved.founded_on.isoformat(), saved.anniversary_milestones) == (  # type: ignore[union-attr]
        "2015-03-01",
        (1, 5, 10),
    )
    # the form shows the settings as they are now, and what was entered that differs
    assert 'value="2015-03-01"' in refused.html
    assert ">5<" in refused.entered
    assert "2016" in refused.entered

    SETTINGS.saves(
        second,
        settings_form(founded_on="2015-03-01", anniversary_milestones="5", shown=refused.version),
    )
    assert services.current_settings().anniversary_milestones == (5,)


def test_a_settings_save_without_the_version_its_page_showed_is_refused(app):
    refused = SETTINGS.refuses_without_version(signed_in(app, hr()), settings_form())
    assert "open the occasion settings again" in refused.text
    assert services.current_settings().founded_on is None


def test_a_points_settings_save_does_not_make_the_occasion_settings_page_stale(app):
    """The points settings live in the same row, but the occasion settings page does not show
    them: a save there leaves a save here from an earlier page alone."""
    client = signed_in(app, hr())
    opened = SETTINGS.version_shown(client)
    client.post(
        "/manage/points",
        data={
            "monthly_allowance": "300",
            "pair_monthly_limit": "50",
            "point_value": "1000",
            "shown": POINTS_SETTINGS.version_shown(client),
        },
    )
    assert services.current_settings().monthly_allowance == 300
    SETTINGS.saves(client, settings_form(shown=opened))


def test_two_settings_saves_from_the_same_page_at_once_save_one_and_refuse_the_other(app):
    """PostgreSQL: both pages showed the same settings and are sent at the same moment."""
    if not is_postgres(app):
        pytest.skip("racing saves need PostgreSQL's concurrent writers; set TEST_DATABASE_URL")
    emails = [hr().email, hr().email]

    def with_milestones(n: int, client: FlaskClient) -> dict[str, object]:
        return settings_form(
            anniversary_milestones=str(n + 1), shown=SETTINGS.version_shown(client)
        )

    saved = SETTINGS.raced(app, emails, with_milestones)

    with app.app_context():
        milestones = services.current_settings().anniversary_milestones
        assert milestones == (int(saved["anniversary_milestones"]),)
        assert audit_events(SETTINGS_SAVED) == 1
