"""The e-mails as the person receives them: headers a mail server takes, a greeting by the
person's given name, the HTML and the text part saying the same thing."""

from __future__ import annotations

import re
from datetime import date

import pytest
from flask import g
from flask_babel import force_locale, gettext
from sqlalchemy import select

from perks.auth.services import request_password_reset
from perks.branding import services as branding
from perks.catalog.models import CodeMode
from perks.extensions import db
from perks.i18n import format_day
from perks.mail import OutboxMessage, _email
from perks.notifications import link, notify
from perks.people.models import Gender, Role
from perks.people.notices import tell_address_changed
from perks.recognition import awards, gifts
from perks.recognition.awards import AwardData
from tests.factories import UserFactory
from tests.unit.recognition.helpers import gift_perk, occasion, programme_data


def mails() -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_a_subject_with_a_line_break_goes_out_on_one_line(app, locale):
    # a feedback subject posted with a line break in it (a crafted form, the API): the
    # notification's title is the e-mail's subject
    person = UserFactory(locale=locale)
    notify(
        person,
        "feedback_updated",
        {"subject": "Bãi xe\r\ntầng hầm", "status": "answered"},
        url=link("feedback.mine"),
    )
    db.session.commit()
    (mail,) = mails()
    email = _email(mail)  # a header no server takes would fail here, never retried
    assert "\n" not in mail.subject
    assert "\r" not in mail.subject
    assert "Bãi xe tầng hầm" in mail.subject
    assert "Bãi xe tầng hầm" in str(email["Subject"])


@pytest.mark.parametrize(
    ("name", "locale", "greeting"),
    [
        ("Lucas Martin", "en", "Hello Lucas,"),
        ("Nguyễn Văn An", "en", "Hello An,"),
        ("Nguyễn Văn An", "vi", "Chào An,"),
    ],
)
def test_the_e_mail_greets_the_person_by_their_given_name(app, name, locale, greeting):
    person = UserFactory(name=name, locale=locale, email="lucas@example.com")
    request_password_reset("lucas@example.com")
    (mail,) = mails()
    assert mail.body_text.startswith(greeting)
    assert f"<p>{greeting}</p>" in mail.body_html
    assert person.first_name in greeting


def test_a_notification_e_mail_says_how_to_stop_it_in_its_headers_and_both_parts(
    app, client, login_as
):
    person = login_as(locale="en")
    recipient = person.email
    giver = UserFactory(name="Trần Thị Mai")
    notify(
        person,
        "kudos_received",  # a kind with its own template
        {"giver": giver.name, "points": 5, "value": "Teamwork", "message": "Thanks"},
        url=link("points.mine"),
        email={
            "giver_name": giver.name,
            "points": 5,
            "value_name": "Teamwork",
            "message": "Thanks",
            "points_url": "http://localhost/points",
        },
    )
    notify(person, "survey_reminder", {"survey": "Pulse"}, url=link("feedback.mine"))
    db.session.commit()
    choices = "http://localhost/notifications/preferences"
    for mail in mails():
        assert mail.recipient == recipient
        assert _email(mail)["List-Unsubscribe"] == f"<{choices}>"
        assert choices in mail.body_text
        assert f'href="{choices}"' in mail.body_html
    # the link is the person's own page of choices, open to them
    assert client.get("/notifications/preferences").status_code == 200


def test_an_e_mail_the_person_cannot_turn_off_offers_no_way_to(app):
    UserFactory(email="lucas@example.com")
    request_password_reset("lucas@example.com")
    (mail,) = mails()
    assert _email(mail)["List-Unsubscribe"] is None
    assert "/notifications/preferences" not in mail.body_text


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_the_address_changed_e_mail_links_the_same_page_in_both_parts(app, locale):
    person = UserFactory(locale=locale, email="new@example.com")
    tell_address_changed(person, "old@example.com", actor=UserFactory(name="Phạm Thu Hà"))
    db.session.commit()
    (mail,) = mails()
    links = re.findall(r"https?://\S+", mail.body_text)
    assert links == ["http://localhost/login"]
    assert re.findall(r'href="(https?://[^"]+)"', mail.body_html) == links
    with force_locale(locale):
        assert f"{gettext('Sign in')}: http://localhost/login" in mail.body_text
        assert f">{gettext('Sign in')}</a>" in mail.body_html


def test_the_gift_e_mail_keeps_the_line_breaks_of_the_programmes_message_in_html(app):
    hr = UserFactory(roles={Role.HR})
    UserFactory(gender=Gender.FEMALE, locale="en")
    message = "Dear all,\nhappy Women's Day!\n\nThe HR team"
    gifts.create_programme(
        programme_data(
            occasion("womens_day").id,
            gift_perk(code_mode=CodeMode.POOL, codes=["H-1"]).id,
            gender=Gender.FEMALE,
            message_en=message,
        ),
        actor=hr,
    )
    assert gifts.grant_due_gifts(date(2027, 3, 8)) == 1
    (mail,) = mails()
    assert message in mail.body_text
    # a browser folds line breaks into spaces unless told otherwise
    shown = re.search(r"<p( style=\"white-space:\s*pre-line\")?>Dear all,", mail.body_html)
    assert shown is not None
    assert shown.group(1), "the message reads as one line in the HTML part"


def test_hrs_reason_keeps_its_lines_in_the_html_e_mail_and_the_notifications_list(client, login_as):
    hr = UserFactory(roles={Role.HR})
    manager = login_as(Role.MANAGER, locale="en")
    award = awards.create_award(
        AwardData(
            name_vi="Nhân viên xuất sắc",
            name_en="Employee of the month",
            description_vi="Cho người xuất sắc.",
            description_en="For outstanding work.",
            perk_id=None,
            points=100,
        ),
        actor=hr,
    )
    member = UserFactory(manager=manager)
    nomination = awards.nominate(award.id, member.id, "Closed the deal.", actor=manager)
    reason = "Not this quarter:\n- the deal is not signed yet\n- nominate again in April"
    awards.decline(nomination.id, reason, actor=hr)
    (mail,) = [m for m in mails() if m.recipient == manager.email]
    assert reason in mail.body_text
    assert re.search(
        r"white-space:\s*pre-line[^>]*>Reason: Not this quarter:\n- the", mail.body_html
    )
    page = client.get("/notifications").get_data(as_text=True)
    body = re.search(r'<p class="([^"]*)">The award: Employee of the month', page)
    assert body is not None
    assert "text-pre-line" in body.group(1).split()


def test_a_message_queued_with_a_line_break_in_its_subject_can_still_be_sent(app):
    # written before subjects were made one line: failed at its first attempt, and again at
    # every "send again" of an admin
    message = OutboxMessage(
        recipient="an@example.com",
        subject="Góp ý của bạn: Bãi xe\ntầng hầm",
        body_text="…",
        body_html="<p>…</p>",
    )
    db.session.add(message)
    db.session.commit()
    assert str(_email(message)["Subject"]) == "Góp ý của bạn: Bãi xe tầng hầm"


def test_a_reply_goes_to_the_companys_contact_address_when_it_has_one(app):
    UserFactory(email="lucas@example.com")
    request_password_reset("lucas@example.com")
    (mail,) = mails()
    assert _email(mail)["Reply-To"] is None  # no contact address: the sender's
    branding.update_brand(
        branding.BrandData(
            company_name="Sen Vàng", primary_colour="#0b6e4f", contact_email="hotro@senvang.example"
        ),
        actor=UserFactory(roles={Role.HR}),
    )
    g.pop("brand", None)
    email = _email(mail)
    # "if it was not you, tell your administrator": a reply reaches the company, not the
    # mailbox the messages are sent from
    assert email["Reply-To"] == "hotro@senvang.example"
    assert email["From"] == app.config["MAIL_SENDER"]


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_the_gift_e_mail_says_the_last_day_of_the_code(app, locale):
    """The e-mail gave the code of a voucher that ends on 31/3 without saying so: the last
    day was only on the claim's page, which the e-mail's reader had no reason to open."""
    hr = UserFactory(roles={Role.HR})
    UserFactory(gender=Gender.FEMALE, locale=locale)
    gifts.create_programme(
        programme_data(
            occasion("womens_day").id,
            gift_perk(code_mode=CodeMode.POOL, codes=["H-1"], ends_on=date(2027, 3, 31)).id,
            gender=Gender.FEMALE,
        ),
        actor=hr,
    )
    assert gifts.grant_due_gifts(date(2027, 3, 8)) == 1
    (mail,) = mails()
    with force_locale(locale):
        said = gettext("Use it by %(date)s.", date=format_day(date(2027, 3, 31)))
    assert said in mail.body_text
    assert said in mail.body_html
