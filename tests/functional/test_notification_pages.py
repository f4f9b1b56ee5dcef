"""The notification pages and the bell: each person sees only their own, opening one marks
it read and leads to its page, everything can be marked read, e-mail choices are kept; in
both languages."""

from __future__ import annotations

import re

import pytest

from perks.extensions import db
from perks.feedback.models import FeedbackDesk
from perks.notifications import queries, services
from perks.notifications.kinds import KINDS
from perks.notifications.models import Notification
from tests import factories
from tests.helpers import counting_statements, login


@pytest.fixture
def an(app):  # type: ignore[no-untyped-def]
    return factories.UserFactory(email="an@example.com", locale="en")


def english(client) -> None:  # type: ignore[no-untyped-def]
    client.post("/language", data={"locale": "en"})


def payout(person, reference: str = "PB-1") -> Notification:  # type: ignore[no-untyped-def]
    return factories.NotificationFactory(
        user=person,
        params={
            "amounts": [{"money": [1_250_000, "VND"]}],
            "reference": reference,
            "payment": "PAYROLL-1",
        },
    )


def bell(html: str) -> str:
    match = re.search(r'data-testid="notification-bell".*?</a>', html, re.S)
    assert match, "no bell"
    return match.group(0)


def test_the_bell_says_how_many_are_unread_to_screen_readers_too(client, an):
    payout(an)
    payout(an)
    login(client, an)
    english(client)
    html = bell(client.get("/").get_data(as_text=True))
    assert 'class="visually-hidden"' in html
    assert "Notifications: 2 unread" in html
    assert 'data-testid="unread-count">2<' in html


def test_the_bell_has_a_label_and_no_count_when_all_is_read(client, an):
    login(client, an)
    english(client)
    html = bell(client.get("/").get_data(as_text=True))
    assert ">Notifications</span>" in html
    assert "unread-count" not in html


def test_the_bell_speaks_vietnamese_too(client, an):
    payout(an)
    login(client, an)
    client.post("/language", data={"locale": "vi"})
    assert "Thông báo: 1 chưa đọc" in bell(client.get("/").get_data(as_text=True))


def test_no_bell_for_a_visitor(client):
    assert "notification-bell" not in client.get("/login").get_data(as_text=True)


def test_a_person_sees_only_their_own_notifications(client, an):
    payout(an, "PB-MINE")
    payout(factories.UserFactory(), "PB-THEIRS")
    login(client, an)
    english(client)
    html = client.get("/notifications").get_data(as_text=True)
    assert "PB-MINE" in html
    assert "PB-THEIRS" not in html
    assert "Your commissions were paid: ₫1,250,000" in html


def test_the_list_is_newest_first_and_paged(client, an):
    for n in range(30):
        payout(an, f"PB-{n:02d}")
    login(client, an)
    english(client)
    first = client.get("/notifications").get_data(as_text=True)
    assert first.index("PB-29") < first.index("PB-28")
    assert "PB-04" not in first
    second = client.get("/notifications?page=2").get_data(as_text=True)
    assert "PB-04" in second
    assert "PB-00" in second
    assert "Page 2 of 2" in second


def test_a_page_past_the_last_shows_the_last(client, an):
    """``?page=99999`` said "Nothing to tell you yet." to someone who had notifications."""
    for n in range(30):
        payout(an, f"PB-{n:02d}")
    login(client, an)
    english(client)
    far = client.get("/notifications?page=99999").get_data(as_text=True)
    assert "Nothing to tell you yet." not in far
    assert "PB-00" in far
    assert "Page 2 of 2" in far


def test_no_notifications_says_so_on_any_page(client, an):
    login(client, an)
    english(client)
    assert "Nothing to tell you yet." in client.get("/notifications?page=3").get_data(as_text=True)


def test_opening_a_notification_marks_it_read_and_leads_to_its_page(client, an):
    notification = payout(an)
    login(client, an)
    response = client.post(f"/notifications/{notification.id}/open")
    assert response.status_code == 302
    assert response.headers["Location"] == "/earnings"
    db.session.expire_all()
    assert db.session.get(Notification, notification.id).read_at is not None
    assert queries.unread_count(an.id) == 0


def test_opening_someone_elses_notification_is_not_found_and_leaves_it_unread(client, an):
    theirs = payout(factories.UserFactory())
    login(client, an)
    assert client.post(f"/notifications/{theirs.id}/open").status_code == 404
    db.session.expire_all()
    assert db.session.get(Notification, theirs.id).read_at is None


def test_a_get_never_marks_anything_read(client, an):
    notification = payout(an)
    login(client, an)
    assert client.get(f"/notifications/{notification.id}/open").status_code == 405
    client.get("/notifications")
    assert queries.unread_count(an.id) == 1


def test_mark_all_read_empties_the_bell_and_leaves_others_alone(client, an):
    payout(an)
    payout(an)
    other = factories.UserFactory()
    payout(other)
    login(client, an)
    english(client)
    response = client.post("/notifications/read", follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "All your notifications are marked read." in html
    assert "unread-count" not in bell(html)
    assert queries.unread_count(an.id) == 0
    assert queries.unread_count(other.id) == 1


def test_e_mail_choices_are_shown_ticked_by_default_and_kept(client, an):
    login(client, an)
    english(client)
    html = client.get("/notifications/preferences").get_data(as_text=True)
    assert "A draw I won" in html
    assert "Payout paid" in html
    # every kind for an employee on by default is ticked (the invitations to rate are off)
    offered = [kind for kind in KINDS.values() if kind.audience is None]
    assert html.count("checked") == sum(kind.email_by_default for kind in offered) > 0
    assert html.count('type="checkbox"') == len(offered)
    response = client.post(
        "/notifications/preferences", data={"payout_paid": "y"}, follow_redirects=True
    )
    assert "Your choices are saved." in response.get_data(as_text=True)
    chosen = queries.email_choices(an.id)
    assert chosen["payout_paid"] is True
    offered_names = {kind.name for kind in offered}
    assert not any(
        wanted for kind, wanted in chosen.items() if kind in offered_names - {"payout_paid"}
    )


ANSWERING = ("Feedback for me to answer", "A reply to feedback I answer")


def test_feedback_to_answer_is_a_choice_only_for_those_who_answer_it(client, an):
    login(client, an)
    english(client)
    html = client.get("/notifications/preferences").get_data(as_text=True)
    for label in (*ANSWERING, "Overdue feedback of my team"):
        assert label not in html
    db.session.add(FeedbackDesk(department_id=factories.DepartmentFactory().id, owner_id=an.id))
    db.session.commit()
    html = client.get("/notifications/preferences").get_data(as_text=True)
    for label in ANSWERING:
        assert label in html
    assert "Overdue feedback of my team" not in html
    manager = factories.UserFactory(locale="en")
    an.manager_id = manager.id
    db.session.commit()
    client.post("/logout")
    login(client, manager)
    html = client.get("/notifications/preferences").get_data(as_text=True)
    assert "Overdue feedback of my team" in html
    assert ANSWERING[0] not in html


def test_a_kind_once_had_stays_a_choice_and_hidden_choices_are_kept(client, an):
    services.save_email_choices(an, by_email=set(KINDS) - {"feedback_reply"})
    login(client, an)
    english(client)
    assert ANSWERING[1] not in client.get("/notifications/preferences").get_data(as_text=True)
    client.post("/notifications/preferences", data={"payout_paid": "y"})
    chosen = queries.email_choices(an.id)
    assert chosen["payout_paid"] is True
    assert chosen["draw_won"] is False
    # not offered, so not changed by the save: still on, still off
    assert (chosen["feedback_received"], chosen["feedback_reply"]) == (True, False)
    factories.NotificationFactory(user=an, kind="feedback_reply", params={"subject": "Ca đêm"})
    html = client.get("/notifications/preferences").get_data(as_text=True)
    assert ANSWERING[1] in html
    assert ANSWERING[0] not in html


#: a hidden field of a page: its name and value
HIDDEN_FIELD = r'<input[^>]*name="(\w+)"[^>]*type="hidden"[^>]*value="([^"]*)"'


def test_a_choice_offered_after_the_page_was_opened_is_not_turned_off_by_saving_it(client, an):
    """An opens their e-mail choices; meanwhile they are made the owner of a feedback desk
    (feedback to answer, on by default), then they save the page as it was: the choice they
    were never shown stays on."""
    login(client, an)
    english(client)
    html = client.get("/notifications/preferences").get_data(as_text=True)
    assert ANSWERING[0] not in html
    # the form as the page sends it: its hidden fields and the box ticked
    hidden = dict(
        re.findall(r'<input[^>]*name="(\w+)"[^>]*type="hidden"[^>]*value="([^"]*)"', html)
    )
    db.session.add(FeedbackDesk(department_id=factories.DepartmentFactory().id, owner_id=an.id))
    db.session.commit()
    response = client.post("/notifications/preferences", data={**hidden, "payout_paid": "y"})
    assert response.status_code == 302
    chosen = queries.email_choices(an.id)
    assert (chosen["payout_paid"], chosen["draw_won"]) == (True, False)
    assert (chosen["feedback_received"], chosen["feedback_reply"]) == (True, True)


def test_the_account_page_leads_to_the_e_mail_choices(client, an):
    login(client, an)
    assert "/notifications/preferences" in client.get("/account").get_data(as_text=True)


def test_the_bell_costs_one_statement_whatever_the_number_of_notifications(client, an):
    login(client, an)
    client.get("/notifications")
    with counting_statements() as few:
        client.get("/notifications")
    for n in range(40):
        payout(an, f"PB-{n}")
    with counting_statements() as many:
        client.get("/notifications")
    assert len(many) == len(few)
    assert any("count(" in s.lower() and "notification" in s for s in many)


def hidden_fields(html: str, testid: str) -> dict[str, str]:
    """The hidden inputs of the form holding the button ``testid``."""
    form = re.search(rf'<form[^>]*>((?:(?!</form>).)*data-testid="{testid}".*?)</form>', html, re.S)
    assert form, f"no form with {testid}"
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form.group(1)))


def test_mark_all_read_leaves_unread_what_arrived_after_the_list_was_shown(client, an):
    """Marking all read from a list shown a while ago marked read a notification that came
    after it: the person never saw it, and the bell no longer said so."""
    seen = payout(an, "PB-1")
    login(client, an)
    english(client)
    fields = hidden_fields(client.get("/notifications").get_data(as_text=True), "mark-all-read")
    later = payout(an, "PB-2")  # a payout paid while the list was open
    response = client.post("/notifications/read", data=fields, follow_redirects=True)
    assert response.status_code == 200
    db.session.expire_all()
    assert db.session.get(Notification, seen.id).read_at is not None
    assert db.session.get(Notification, later.id).read_at is None
    assert 'data-testid="unread-count">1<' in bell(response.get_data(as_text=True))


def test_a_notification_whose_page_needs_a_role_no_longer_held_says_so(client, an):
    """An HR person told that the last administrator stays, who is no longer HR, opened the
    notification onto a bare 403 page."""
    from perks.people.models import Role, UserRole

    hr = factories.UserFactory(roles={Role.HR}, locale="en")
    kept = factories.UserFactory()
    told = factories.NotificationFactory(
        user=hr,
        kind="last_administrator_kept",
        params={"name": kept.name, "date": {"date": "2026-11-30"}},
        endpoint="people.detail",
        url_values={"user_id": kept.id},
    )
    db.session.execute(
        UserRole.__table__.delete().where(UserRole.user_id == hr.id, UserRole.role == Role.HR)
    )
    db.session.commit()
    login(client, hr)
    english(client)
    response = client.post(f"/notifications/{told.id}/open")
    assert response.status_code == 302
    assert response.headers["Location"] == "/notifications"
    html = client.get("/notifications").get_data(as_text=True)
    assert "That page is no longer open to you: it needs a role you do not hold now." in html
    db.session.expire_all()
    assert db.session.get(Notification, told.id).read_at is not None
    client.post("/language", data={"locale": "vi"})
    client.post(f"/notifications/{told.id}/open")
    html = client.get("/notifications").get_data(as_text=True)
    assert "Trang đó không còn mở cho bạn: trang cần một vai trò mà bạn không còn giữ." in html
