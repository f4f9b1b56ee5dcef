"""notify (perks.notifications): the row and, when the person's choice says so, the e-mail,
in the caller's transaction; parameters kept as data and written in the reader's language
when read; e-mail choices with the registry's defaults."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from flask import current_app
from flask_babel import force_locale
from markupsafe import escape
from sqlalchemy import func, select

from perks.errors import NotFound
from perks.extensions import db
from perks.mail import OutboxMessage
from perks.money import Money
from perks.notifications import both, link, notify, queries, services
from perks.notifications.kinds import KINDS, PLAIN_EMAIL, Kind
from perks.notifications.models import Notification
from perks.notifications.rendering import Localized, encode, render
from tests.factories import PerkFactory, UserFactory


@pytest.fixture
def person(app):  # type: ignore[no-untyped-def]
    return UserFactory(email="lan@example.com", locale="vi")


def mails() -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def draw_won(person, perk=None):  # type: ignore[no-untyped-def]
    perk = perk or PerkFactory(title_vi="Chuyến đi Đà Lạt", title_en="Trip to Da Lat")
    notification = notify(
        person,
        "draw_won",
        {"perk": both(perk, "title"), "decide_by": datetime(2026, 12, 11, 3, 0, tzinfo=UTC)},
        url=link("catalog.index"),
    )
    db.session.commit()
    return notification


def test_notify_writes_the_notification_and_the_plain_e_mail_by_default(person):
    notification = draw_won(person)
    assert notification.user_id == person.id
    assert notification.read_at is None
    (mail,) = mails()
    assert mail.recipient == "lan@example.com"
    # in the person's language (vi), the title as subject, the link absolute on BASE_URL
    assert mail.subject == "Bạn đã trúng một suất: Chuyến đi Đà Lạt"
    assert "Nếu không thể nhận suất" in mail.body_text
    assert "/perks" in mail.body_text
    assert "http" in mail.body_text


def test_an_opted_out_kind_writes_the_notification_but_no_e_mail(person):
    services.save_email_choices(person, by_email=set(KINDS) - {"draw_won"})
    draw_won(person)
    assert db.session.scalar(select(func.count(Notification.id))) == 1
    assert mails() == []


def test_a_kind_off_by_default_sends_no_e_mail_until_the_person_asks(person, monkeypatch):
    quiet = Kind("quiet_test", "Quiet", "Quiet title", "Quiet body", email_by_default=False)
    monkeypatch.setitem(KINDS, "quiet_test", quiet)
    notify(person, "quiet_test", url=link("catalog.index"))
    db.session.commit()
    assert mails() == []
    assert queries.email_choices(person.id)["quiet_test"] is False
    services.save_email_choices(person, by_email={"quiet_test"})
    notify(person, "quiet_test", url=link("catalog.index"))
    db.session.commit()
    assert [m.subject for m in mails()] == ["Quiet title"]


def test_choices_default_to_the_registry_and_keep_what_the_person_chose(person):
    assert queries.email_choices(person.id) == {
        name: kind.email_by_default for name, kind in KINDS.items()
    }
    services.save_email_choices(person, by_email={"payout_paid"})
    chosen = queries.email_choices(person.id)
    assert chosen["payout_paid"] is True
    assert [name for name, wanted in chosen.items() if wanted] == ["payout_paid"]
    services.save_email_choices(person, by_email=set(KINDS))
    assert all(queries.email_choices(person.id).values())


def test_nothing_is_written_when_the_caller_rolls_back(person):
    notify(person, "draw_won", {"perk": "X", "decide_by": "soon"}, url=link("catalog.index"))
    db.session.rollback()
    assert db.session.scalar(select(func.count(Notification.id))) == 0
    assert mails() == []


def test_parameters_are_stored_as_data_never_translated_text(person):
    notification = draw_won(person)
    db.session.expire_all()
    stored = db.session.get(Notification, notification.id).params
    assert stored == {
        "perk": {"text": {"vi": "Chuyến đi Đà Lạt", "en": "Trip to Da Lat"}},
        "decide_by": {"moment": "2026-12-11T03:00:00+00:00"},
    }


def test_the_same_notification_reads_in_each_language(person):
    notification = draw_won(person)
    with force_locale("en"):
        english = render(notification.kind, notification.params)
    with force_locale("vi"):
        vietnamese = render(notification.kind, notification.params)
    assert english.title == "You won a seat: Trip to Da Lat"
    assert "decline it by" in english.body
    assert vietnamese.title == "Bạn đã trúng một suất: Chuyến đi Đà Lạt"
    assert "từ chối trước" in vietnamese.body


def test_money_dates_lists_and_choices_follow_the_reader(app):
    params = {
        "amount": encode(Money(1_250_000, "VND")),
        "number": encode("PK-1234"),
        "reason": encode("refunded"),
    }
    with force_locale("en"):
        english = render("commission_voided", params)
    with force_locale("vi"):
        vietnamese = render("commission_voided", params)
    assert english.body == "₫1,250,000 will not be paid: the order was refunded."
    assert vietnamese.body == "1.250.000\xa0₫ sẽ không được chi trả: đơn hàng đã được hoàn tiền."
    paid = {
        "amounts": encode([Money(1_250_000, "VND"), Money(1250, "USD")]),
        "reference": "PB-7",
        "payment": "PAY-7",
    }
    with force_locale("en"):
        assert render("payout_paid", paid).title == (
            "Your commissions were paid: ₫1,250,000, $12.50"
        )
    with force_locale("en"):
        earned = {
            "amount": encode(Money(240_000, "VND")),
            "date": encode(date(2026, 12, 18)),
            "number": "N-1",
        }
        english = render("commission_earned", earned)
    with force_locale("vi"):
        vietnamese = render("commission_earned", earned)
    assert english.title == "You earned ₫240,000 on order N-1"
    assert "18 Dec 2026" in english.body or "Dec 18, 2026" in english.body
    assert "18 tháng 12, 2026" in vietnamese.body or "18/12/2026" in vietnamese.body, vietnamese


def test_points_and_counts_are_written_with_the_readers_digit_grouping(app):
    """A kudos of 1500 points said "gave you 1500 points" in either language."""
    params = {
        "giver": "An",
        "points": encode(1500),
        "value": encode(Localized("Đồng đội", "Teamwork")),
        "message": "Cảm ơn!",
    }
    with force_locale("en"):
        assert render("kudos_received", params).title == "An gave you 1,500 points: Teamwork"
    with force_locale("vi"):
        assert render("kudos_received", params).title == "An đã tặng bạn 1.500 điểm: Đồng đội"


def test_a_localized_name_falls_back_to_the_other_language():
    assert Localized("Quà", "").pick("en") == "Quà"
    assert Localized("", "Gift").pick("vi") == "Gift"


def test_an_unknown_kind_or_missing_parameter_still_renders(app):
    with force_locale("en"):
        assert render("retired_kind", {}).title == "Notification"
        assert render("draw_won", {}).title == "A draw I won"


def test_unknown_kinds_and_values_that_cannot_be_kept_are_refused(person):
    with pytest.raises(KeyError):
        notify(person, "no_such_kind", url=link("catalog.index"))
    with pytest.raises(TypeError):
        notify(person, "draw_won", {"perk": object()}, url=link("catalog.index"))
    with pytest.raises(TypeError):
        encode(1.5)
    db.session.rollback()


def test_every_kind_has_its_e_mail_templates_and_texts_with_their_placeholders(app):
    templates = app.jinja_env.list_templates()
    for kind in KINDS.values():
        for part in ("subject.txt", "txt", "html"):
            assert f"emails/{kind.email_template}.{part}" in templates, kind.name
        assert str(kind.title)
        assert str(kind.body)
        assert str(kind.label)
    assert f"emails/{PLAIN_EMAIL}.html" in templates


def test_opening_marks_read_and_answers_only_the_owner(person):
    notification = draw_won(person)
    other = UserFactory()
    with pytest.raises(NotFound):
        services.open_notification(notification.id, other)
    assert db.session.get(Notification, notification.id).read_at is None
    with app_request():
        assert services.open_notification(notification.id, person) == "/perks"
    assert db.session.get(Notification, notification.id).read_at is not None
    assert queries.unread_count(person.id) == 0


def test_a_notification_whose_page_is_gone_leads_back_to_the_list(person):
    notification = draw_won(person)
    notification.endpoint = "retired.page"
    db.session.commit()
    with app_request():
        assert services.open_notification(notification.id, person) == "/notifications"


def test_mark_all_read_marks_only_the_persons_own(person):
    draw_won(person)
    draw_won(person)
    other = UserFactory()
    draw_won(other)
    assert queries.unread_count(person.id) == 2
    assert services.mark_all_read(person) == 2
    assert queries.unread_count(person.id) == 0
    assert queries.unread_count(other.id) == 1


def app_request():  # type: ignore[no-untyped-def]
    return current_app.test_request_context()


@pytest.mark.parametrize("gone", ["deactivated", "leaving date come"])
def test_someone_who_has_left_is_told_only_the_kinds_meant_for_leavers(person, gone):
    """Whoever calls ``notify``: a leaver no longer signs in to act on a notification, and is
    e-mailed only what is meant for leavers too (their payouts, the tax withheld)."""
    from perks.i18n import company_today

    if gone == "deactivated":
        person.active = False
    else:
        person.leaving_date = company_today()
    db.session.commit()
    assert draw_won(person) is None
    withheld = notify(
        person,
        "tax_withheld",
        {
            "gross": Money(2_400_000, "VND"),
            "withheld": Money(240_000, "VND"),
            "net": Money(2_160_000, "VND"),
            "reference": "PO-1",
        },
        url=link("catalog.index"),
    )
    db.session.commit()
    assert withheld is not None
    kinds = db.session.scalars(select(Notification.kind).where(Notification.user_id == person.id))
    assert list(kinds) == ["tax_withheld"]
    assert len(mails()) == 1
    assert {name for name, kind in KINDS.items() if kind.to_leavers} == {
        "payout_paid",
        "tax_withheld",
        "last_administrator_kept",
    }


def test_notify_each_tells_those_who_have_left_nothing(app):
    """As ``notify``: whoever calls it, someone who has left is told only what is meant for
    leavers too."""
    from perks.i18n import company_today

    staying = UserFactory()
    left = UserFactory(leaving_date=company_today())
    gone = UserFactory(active=False)
    params = {
        "perk": both(PerkFactory(), "title"),
        "entries_hash": "ab" * 32,
        "day": date(2026, 12, 2),
    }

    told = services.notify_each(
        [staying, left, gone], "draw_entries_frozen", params, url=link("catalog.index")
    )
    db.session.commit()

    assert told == 1
    assert list(db.session.scalars(select(Notification.user_id))) == [staying.id]
    assert [mail.recipient for mail in mails()] == [staying.email]


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_notify_each_writes_what_notify_writes_to_each(app, monkeypatch, locale):
    """The same notice to thousands (a draw's entrants) is rendered once per language: each
    message must still be the one ``notify`` writes, greeting its reader by name (escaped in
    the HTML part), with its own logo part and ids."""
    from types import SimpleNamespace

    import perks.mail

    logo = SimpleNamespace(content_type="image/png", data=b"\x89PNG logo")
    monkeypatch.setattr(perks.mail, "logo_for_email", lambda: logo)
    perk = PerkFactory(title_vi="Chuyến đi <Đà Lạt>", title_en="Trip to <Da Lat>")
    params = {"perk": both(perk, "title"), "entries_hash": "ab" * 32, "day": date(2026, 12, 2)}
    # the name greeted is the first word in English, the last in Vietnamese: both alike
    one = UserFactory(name="Yw<&>z Thị Yw<&>z", locale=locale)
    many = [UserFactory(name=f"Xq{n}<&>z Văn Xq{n}<&>z", locale=locale) for n in range(3)]
    opted_out = UserFactory(locale=locale)
    services.save_email_choices(opted_out, by_email=set(KINDS) - {"draw_entries_frozen"})

    notify(one, "draw_entries_frozen", params, url=link("catalog.index"))
    assert (
        services.notify_each(
            [*many, many[0], opted_out], "draw_entries_frozen", params, url=link("catalog.index")
        )
        == 4
    )
    db.session.commit()

    rows = db.session.scalars(select(Notification).order_by(Notification.id)).all()
    assert [row.user_id for row in rows] == [one.id, *[p.id for p in many], opted_out.id]
    assert {(row.kind, str(row.params), row.endpoint) for row in rows} == {
        (rows[0].kind, str(rows[0].params), rows[0].endpoint)
    }
    sent = mails()
    assert [mail.recipient for mail in sent] == [one.email, *[p.email for p in many]]
    reference = sent[0]

    def same_but_the_name(mail, person):  # type: ignore[no-untyped-def]
        html = reference.body_html.replace(
            reference.attachments[0].content_id, mail.attachments[0].content_id
        )
        expected_text = reference.body_text.replace(one.first_name, person.first_name)
        expected_html = html.replace(str(escape(one.first_name)), str(escape(person.first_name)))
        return (
            mail.subject == reference.subject
            and mail.body_text == expected_text
            and mail.body_html == expected_html
            and mail.list_unsubscribe == reference.list_unsubscribe
        )

    for mail, person in zip(sent[1:], many, strict=True):
        assert same_but_the_name(mail, person)
        assert person.first_name in mail.body_text
        assert str(escape(person.first_name)) in mail.body_html
        assert [(a.content_type, a.data) for a in mail.attachments] == [("image/png", logo.data)]
        assert f"cid:{mail.attachments[0].content_id}" in mail.body_html
    assert len({mail.message_id for mail in sent}) == len(sent)
    assert len({mail.attachments[0].content_id for mail in sent}) == len(sent)
