"""Every capability's events reach the person through the notification centre: a draw won,
a gift granted, a commission earned, voided, put on hold, released or clawed back, a payout
paid; each is a notification for the person it concerns, with the e-mail they chose."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from perks.catalog import draws
from perks.extensions import db
from perks.finance import payouts
from perks.i18n import company_today
from perks.mail import OutboxMessage
from perks.notifications import services
from perks.notifications.models import Notification
from perks.notifications.rendering import render
from perks.people.models import Role
from perks.recognition import kudos
from perks.shop.models import DisputeStatus
from tests import factories
from tests.helpers import make_draw
from tests.unit.commissions.helpers import (
    Payroll,
    dispute,
    pay,
    redeem,
    referred_order,
    refund_to,
    tick,
)


@pytest.fixture(autouse=True)
def _rule_and_english(app):  # type: ignore[no-untyped-def]
    factories.CommissionRuleFactory()  # 10 %: an order of 2.400.000 ₫ earns 240.000 ₫
    with force_locale("en"):
        yield


def told(person) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(kind, title) of each notification of ``person``, oldest first."""
    rows = db.session.scalars(
        select(Notification).where(Notification.user_id == person.id).order_by(Notification.id)
    )
    return [(n.kind, render(n.kind, n.params).title) for n in rows]


def kinds(person) -> list[str]:  # type: ignore[no-untyped-def]
    return [kind for kind, _title in told(person)]


def mails_to(person) -> list[str]:  # type: ignore[no-untyped-def]
    return list(
        db.session.scalars(
            select(OutboxMessage.subject)
            .where(OutboxMessage.recipient == person.email)
            .order_by(OutboxMessage.id)
        )
    )


def test_a_draw_won_tells_the_winner_and_only_the_winner():
    perk = factories.PerkFactory(total_stock=1, remaining_stock=1, title_en="Resort trip")
    draw = factories.DrawFactory(perk=perk, seats=1)
    an, binh = factories.UserFactory(locale="en"), factories.UserFactory(locale="en")
    for person in (an, binh):
        draws.enter_draw(draw.perk_id, person)
    make_draw(draw.id, now=datetime.now(UTC) + timedelta(days=8))
    # both have the receipt of their entry and the entries hash; only the winner the win
    receipts = [
        ("draw_entered", "You are in the draw: Resort trip"),
        ("draw_entries_frozen", "Entries are frozen: Resort trip"),
    ]
    told_people = [p for p in (an, binh) if "draw_won" in kinds(p)]
    assert len(told_people) == 1
    (winner,) = told_people
    (other,) = {an, binh} - {winner}
    assert told(winner) == [*receipts, ("draw_won", "You won a seat: Resort trip")]
    assert told(other) == receipts
    assert mails_to(winner) == [title for _kind, title in told(winner)]


def test_earned_then_on_hold_then_released_each_tell_the_employee():
    an = factories.UserFactory(locale="en")
    order = referred_order(employee=an)
    pay(order)
    assert kinds(an) == []  # pending: nothing earned yet
    redeem(order)
    dispute(order, DisputeStatus.OPEN)
    dispute(order, DisputeStatus.WON)
    assert told(an) == [
        ("commission_earned", f"You earned ₫240,000 on order {order.number}"),
        ("commission_on_hold", f"Your commission on order {order.number} is on hold"),
        ("commission_released", f"Your commission on order {order.number} is no longer on hold"),
    ]
    # the earnings e-mail keeps what it said; the new kinds come in the plain one
    subjects = mails_to(an)
    assert subjects[0] == f"You earned ₫240,000 on order {order.number}"
    assert subjects[1:] == [title for _kind, title in told(an)[1:]]


def test_a_full_refund_voids_an_earned_commission_and_says_why():
    an = factories.UserFactory(locale="en")
    order = used_order(an)
    refund_to(order, order.total_amount)
    (voided,) = [n for n in _rows(an) if n.kind == "commission_voided"]
    text = render(voided.kind, voided.params)
    assert text.body == "₫240,000 will not be paid: the order was refunded."


def test_a_partial_refund_claws_back_its_share():
    an = factories.UserFactory(locale="en")
    order = used_order(an)
    refund_to(order, order.total_amount // 4)
    assert told(an)[-1] == (
        "commission_clawed_back",
        f"₫60,000 of your commission on order {order.number} was clawed back",
    )


def test_a_dispute_lost_after_payout_claws_back_the_paid_commission():
    an = factories.UserFactory(locale="en")
    order = used_order(an)
    tick()
    Payroll().pay_out()
    dispute(order, DisputeStatus.OPEN)
    dispute(order, DisputeStatus.LOST)
    assert kinds(an)[-2:] == ["commission_on_hold", "commission_clawed_back"]
    last = _rows(an)[-1]
    assert "the customer's payment dispute was lost" in render(last.kind, last.params).body


def test_a_refund_before_the_order_is_used_tells_nobody():
    an = factories.UserFactory()
    order = referred_order(employee=an)
    pay(order)
    refund_to(order, order.total_amount)
    assert kinds(an) == []


def test_a_payout_paid_tells_each_person_paid():
    an = factories.UserFactory(locale="en")
    used_order(an)
    tick()
    drafter = factories.UserFactory(roles={Role.FINANCE})
    approver = factories.UserFactory(roles={Role.FINANCE})
    batch = payouts.draft_batch(company_today(), actor=drafter)
    payouts.approve_batch(batch.id, actor=approver)
    payouts.mark_batch_paid(batch.id, "PAYROLL-12", actor=drafter)
    assert told(an)[-1] == ("payout_paid", "Your commissions were paid: ₫240,000")
    body = render("payout_paid", _rows(an)[-1].params).body
    assert "PAYROLL-12" in body
    assert mails_to(an)[-1] == "Your commissions were paid: ₫240,000"


def test_an_employee_who_chose_no_commission_e_mails_still_sees_them():
    an = factories.UserFactory(locale="en")
    services.save_email_choices(an, by_email={"payout_paid"})
    order = used_order(an)
    refund_to(order, order.total_amount)
    assert kinds(an) == ["commission_earned", "commission_voided"]
    assert mails_to(an) == []


def used_order(person):  # type: ignore[no-untyped-def]
    """An order ``person`` referred, paid and used: its commission is earned."""
    order = referred_order(employee=person)
    pay(order)
    redeem(order)
    return order


def _rows(person) -> list[Notification]:  # type: ignore[no-untyped-def]
    return list(
        db.session.scalars(
            select(Notification).where(Notification.user_id == person.id).order_by(Notification.id)
        )
    )


def test_kudos_tell_the_recipient_and_only_the_recipient():
    an, binh = factories.UserFactory(locale="en", name="An"), factories.UserFactory(locale="en")
    value = factories.CompanyValueFactory(name_en="Teamwork")
    kudos.give_kudos(an, binh.id, 20, value.id, "Thanks for Friday", today=company_today())
    assert told(binh) == [("kudos_received", "An gave you 20 points: Teamwork")]
    assert kinds(an) == []
    assert len(mails_to(binh)) == 1


def test_the_earnings_e_mail_names_the_products_in_the_employees_language():
    # A Vietnamese customer bought through an English-reading employee's link: the order keeps
    # the product's name as the customer read it, but the employee's e-mail is in English.
    an = factories.UserFactory(locale="en")
    product = factories.ProductFactory(name_vi="Tour Hạ Long 2 ngày", name_en="Ha Long 2-day tour")
    order = referred_order(product, employee=an, locale="vi", quantity=2)
    pay(order)
    redeem(order)
    mail = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.recipient == an.email)
    ).one()
    for body in (mail.body_text, mail.body_html):
        assert "Ha Long 2-day tour × 2" in body
        assert "Hạ Long" not in body


def test_one_point_or_one_commission_is_said_in_the_singular():
    an, binh = factories.UserFactory(locale="en", name="An"), factories.UserFactory(locale="en")
    value = factories.CompanyValueFactory(name_en="Teamwork", name_vi="Đồng đội")
    kudos.give_kudos(an, binh.id, 1, value.id, "Thanks", today=company_today())
    assert told(binh) == [("kudos_received", "An gave you 1 point: Teamwork")]
    assert mails_to(binh) == ["Kudos from An: 1 point"]
    (row,) = _rows(binh)
    with force_locale("vi"):
        assert render(row.kind, row.params).title == "An đã tặng bạn 1 điểm: Đồng đội"
    gift = {"programme": "Tết", "points": 1, "date": company_today()}
    assert " 1 point to spend on rewards." in render("gift_points_granted", gift).body
    payable = render("commission_payable", {"amounts": [], "count": 1}).body
    assert payable.startswith("The holding period of one of your commissions is over: it is ")


def test_a_leaver_whose_leaving_date_has_come_is_told_nothing_of_commissions():
    """On their leaving day the leaver is still active until the leavers' task runs (every
    15 minutes, or once a day with cron): an order used then told them "you earned ₫240,000,
    payable on ..." by e-mail, minutes before the task forfeits it (or vests it at once) and
    ends their account, and its earnings link no longer opens for them."""
    an = factories.UserFactory(locale="en")
    order = referred_order(employee=an)
    pay(order)  # paid while they were with the company: it earns when used
    an.leaving_date = company_today()
    db.session.commit()
    redeem(order)
    refund_to(order, order.total_amount // 4)
    assert kinds(an) == []
    assert mails_to(an) == []
