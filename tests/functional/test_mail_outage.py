"""Business actions never depend on the mail server: with a real SMTP server that is up,
stopped, or refusing every message (451), each action answers the same (status, where it
sends the browser, what it flashes) and changes the database the same; its messages wait in
the outbox and go out once each when the server is back.

Tasks run eagerly in tests: "up" sends during the request, right after the commit.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine

from perks.audit import AuditEvent
from perks.background import BackgroundJob, JobState
from perks.commissions.models import Commission, CommissionState
from perks.db import utcnow
from perks.extensions import db
from perks.finance import payouts
from perks.finance.models import BatchStatus, PayoutBatch, PayoutLine
from perks.i18n import company_today
from perks.mail import MessageStatus, OutboxMessage, send_due
from perks.people.models import Role, User
from perks.shop.models import Order, OrderStatus, RedemptionMode
from tests import factories
from tests import stripe_fixtures as sf
from tests.smtp import SMTPServer
from tests.unit.commissions.helpers import pay, referred_order
from tests.unit.finance.helpers import finance_person, payable_order

# --- the mail server's moods ---------------------------------------------------------------------

UP, STOPPED, REFUSING = "up", "stopped", "refusing"


class Mail:
    """The SMTP server in one mood during an action, and the outbox rows the action wrote."""

    def __init__(self, server: SMTPServer, mood: str) -> None:
        self.server, self.mood = server, mood
        self._mark = 0

    @property
    def is_up(self) -> bool:
        return self.mood == UP

    def goes_wrong(self) -> None:
        """From now on the server is in its mood; what was written before is not counted."""
        self._mark = db.session.scalar(select(func.max(OutboxMessage.id))) or 0
        db.session.commit()
        self.server.received.clear()
        if self.mood == STOPPED:
            self.server.stop()
        elif self.mood == REFUSING:
            self.server.refusing = True

    def comes_back(self) -> None:
        """The server accepts mail again; time passes and the sweep runs twice."""
        if self.mood == STOPPED:
            self.server.start()
        self.server.refusing = False
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == MessageStatus.QUEUED)
            .values(next_attempt_at=utcnow())
        )
        db.session.commit()
        waiting = 0 if self.is_up else len(self.written())
        assert send_due() == waiting
        assert send_due() == 0

    def written(self) -> list[OutboxMessage]:
        db.session.expire_all()
        return list(
            db.session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.id > self._mark)
                .order_by(OutboxMessage.id)
            )
        )

    def delivered(self) -> list[EmailMessage]:
        return list(self.server.received)


@pytest.fixture(params=[UP, STOPPED, REFUSING])
def mail(request: pytest.FixtureRequest, smtp_app: Any, smtp_server: SMTPServer) -> Mail:
    return Mail(smtp_server, request.param)


def assert_nothing_lost_meanwhile(mail: Mail) -> None:
    """Up: every message went out with the action. Down: every one waits for a retry."""
    rows = mail.written()
    assert rows, "the action wrote no message"
    if mail.is_up:
        assert [r.status for r in rows] == [MessageStatus.SENT] * len(rows)
        return
    assert mail.delivered() == []
    for row in rows:
        assert row.status == MessageStatus.QUEUED
        assert row.attempts == 1
        assert row.last_error


def delivered_once_each(mail: Mail) -> Counter[str]:
    """Every message the action wrote was delivered exactly once (by Message-ID); returns
    how many each recipient got."""
    rows = mail.written()
    assert sorted(m["Message-ID"] for m in mail.delivered()) == sorted(r.message_id for r in rows)
    assert {r.status for r in rows} == {MessageStatus.SENT}
    return Counter(m["To"] for m in mail.delivered())


# --- what the browser sees -----------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    status: int
    location: str | None
    flashed: tuple[tuple[str, str], ...] = ()


def answer_of(client: FlaskClient, response: Any) -> Answer:
    """The response's status and redirect, and the messages it flashed (taken, as a page
    shown next would take them)."""
    with client.session_transaction() as session:
        flashed = tuple((category, text) for category, text in session.pop("_flashes", []))
    return Answer(response.status_code, response.headers.get("Location"), flashed)


def reloaded(model: type, id_: int) -> Any:
    db.session.expire_all()
    return db.session.get(model, id_)


def commissions_of(order: Order) -> list[Commission]:
    db.session.expire_all()
    return list(db.session.scalars(select(Commission).where(Commission.order_id == order.id)))


def audited(action: str) -> int:
    return db.session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
    )


# --- 1. redeeming an order at the counter -------------------------------------------------------


def test_redeeming_at_the_counter_answers_the_same_and_the_commission_mail_goes_once(
    mail, client, login_as
):
    factories.CommissionRuleFactory()
    employee = factories.UserFactory(email="seller@example.com")
    order = referred_order(employee=employee, customer_name="Nguyễn Thị Lan", locale="vi")
    pay(order)
    redeemer = login_as(Role.REDEEMER)
    mail.goes_wrong()

    response = client.post("/redeem-order/redeem", data={"code": order.redemption_code})

    assert answer_of(client, response) == Answer(
        303,
        f"/redeem-order?code={order.redemption_code}",
        (("success", f"Order {order.number} is redeemed for Lan."),),
    )
    order = reloaded(Order, order.id)
    assert order.status is OrderStatus.REDEEMED
    assert order.redeemed_by_id == redeemer.id
    assert [c.state for c in commissions_of(order)] == [CommissionState.EARNED]
    assert audited("shop.order_redeemed") == 1
    assert_nothing_lost_meanwhile(mail)

    mail.comes_back()

    assert delivered_once_each(mail) == {"seller@example.com": 1}


# --- 2. the payment webhook of a product redeemed on payment ------------------------------------


def test_the_payment_webhook_answers_200_once_and_the_confirmation_goes_once(mail, client):
    factories.CommissionRuleFactory()
    gift = factories.ProductFactory(redemption_mode=RedemptionMode.ON_PAYMENT)
    seller = factories.UserFactory(email="seller@example.com")
    order = referred_order(gift, employee=seller, customer_email="khach@example.com")
    paid = sf.event("checkout.session.completed", sf.checkout_session(order))
    mail.goes_wrong()

    first = sf.deliver(client, paid)
    again = sf.deliver(client, paid)

    assert (first.status_code, first.json) == (200, {"received": True})
    assert (again.status_code, again.json) == (200, {"received": True, "duplicate": True})
    order = reloaded(Order, order.id)
    assert order.paid_at is not None
    assert order.status is OrderStatus.REDEEMED
    assert [c.state for c in commissions_of(order)] == [CommissionState.EARNED]
    assert_nothing_lost_meanwhile(mail)

    mail.comes_back()
    late = sf.deliver(client, paid)  # Stripe may still be retrying once mail is back

    assert (late.status_code, late.json) == (200, {"received": True, "duplicate": True})
    assert delivered_once_each(mail) == {"khach@example.com": 1, "seller@example.com": 1}


# --- 3. marking a payout batch paid --------------------------------------------------------------


class PayoutWitness(list):  # type: ignore[type-arg]
    """The SMTP server's inbox, noting at each delivery the batch's status as another
    database connection sees it: what has been committed, nothing else."""

    def __init__(self, engine: Engine, batch_id: int) -> None:
        super().__init__()
        self.engine, self.batch_id = engine, batch_id
        self.seen: list[BatchStatus] = []

    def append(self, message: EmailMessage) -> None:
        with self.engine.connect() as connection:
            self.seen.append(
                connection.scalar(select(PayoutBatch.status).where(PayoutBatch.id == self.batch_id))
            )
        super().append(message)


def approved_batch(*people: User) -> PayoutBatch:
    """A batch paying each of ``people`` for one used order, drafted and approved (4 eyes)."""
    for person in people:
        payable_order(person)
    batch = payouts.draft_batch(company_today(), actor=finance_person())
    return payouts.approve_batch(batch.id, actor=finance_person())


def paying_job_of(batch_id: int) -> BackgroundJob:
    db.session.expire_all()
    return db.session.scalars(
        select(BackgroundJob).where(
            BackgroundJob.kind == payouts.PAID_JOB_KIND,
            BackgroundJob.subject == f"payout_batch:{batch_id}",
        )
    ).one()


def assert_everyone_paid(batch_id: int, people: list[User], *, payment_reference: str) -> None:
    batch = reloaded(PayoutBatch, batch_id)
    assert batch.status is BatchStatus.PAID
    assert batch.payment_reference == payment_reference
    lines = db.session.scalars(select(PayoutLine).where(PayoutLine.batch_id == batch_id)).all()
    assert sorted(line.user_id for line in lines) == sorted(p.id for p in people)
    assert all(line.payout_entry_id is not None for line in lines)
    states = db.session.scalars(
        select(Commission.state).where(Commission.user_id.in_([p.id for p in people]))
    )
    assert set(states) == {CommissionState.PAID}


def test_marking_a_batch_paid_pays_everyone_and_tells_each_once_after_the_commit(
    mail, client, login_as
):
    factories.CommissionRuleFactory()
    an = factories.UserFactory(email="an@example.com")
    binh = factories.UserFactory(email="binh@example.com")
    batch = approved_batch(an, binh)
    login_as(Role.FINANCE)
    mail.goes_wrong()
    witness = PayoutWitness(db.engine, batch.id)
    mail.server.received = witness

    response = client.post(f"/finance/payouts/{batch.id}/paid", data={"payment_reference": "PR-7"})

    # The page sends finance to the job's page, which says the job is done (tests run it
    # eagerly, right after the request's commit).
    job = paying_job_of(batch.id)
    assert answer_of(client, response) == Answer(302, f"/jobs/{job.token}")
    assert job.state is JobState.SUCCEEDED
    job_page = client.get(f"/jobs/{job.token}")
    assert job_page.status_code == 200
    assert "The batch is paid; everyone in it has been told." in job_page.get_data(as_text=True)
    assert_everyone_paid(batch.id, [an, binh], payment_reference="PR-7")
    assert_nothing_lost_meanwhile(mail)

    mail.comes_back()

    assert delivered_once_each(mail) == {"an@example.com": 1, "binh@example.com": 1}
    assert witness.seen == [BatchStatus.PAID, BatchStatus.PAID]  # nobody told before the commit


# --- 4. password reset ---------------------------------------------------------------------------

RESET_ASKED = Answer(
    302, "/login", (("info", "If that address belongs to an account, a reset link is on its way."),)
)


def asks_for_a_reset(client: FlaskClient, email: str) -> Answer:
    return answer_of(client, client.post("/password/forgot", data={"email": email}))


def link_in(message: EmailMessage, marker: str) -> str:
    """The path of the first link in the message's text that contains ``marker``."""
    words = message.get_body(("plain",)).get_content().split()
    return urlsplit(next(word for word in words if marker in word)).path


def test_a_password_reset_answers_the_same_for_known_and_unknown_addresses(mail, client):
    factories.UserFactory(email="lan@example.com")
    mail.goes_wrong()

    known = asks_for_a_reset(client, "lan@example.com")
    unknown = asks_for_a_reset(client, "nobody@example.com")

    assert known == unknown == RESET_ASKED
    assert [row.recipient for row in mail.written()] == ["lan@example.com"]
    assert_nothing_lost_meanwhile(mail)

    mail.comes_back()

    assert delivered_once_each(mail) == {"lan@example.com": 1}
    late_link = link_in(mail.delivered()[0], "/password/reset/")
    assert client.get(late_link).status_code == 200  # a link that waited still works


# --- 5. an invitation by HR ----------------------------------------------------------------------


def test_an_invitation_by_hr_answers_the_same_and_goes_once(mail, client, login_as):
    person = factories.UserFactory(email="moi@example.com", password_hash=None)
    login_as(Role.HR)
    mail.goes_wrong()

    response = client.post(f"/people/{person.id}/invite")

    assert answer_of(client, response) == Answer(
        302,
        f"/people/{person.id}",
        (("success", "An invitation was sent to moi@example.com."),),
    )
    assert reloaded(User, person.id).invited_at is not None
    assert audited("auth.invitation_sent") == 1
    assert_nothing_lost_meanwhile(mail)

    mail.comes_back()

    assert delivered_once_each(mail) == {"moi@example.com": 1}
    assert client.get(link_in(mail.delivered()[0], "/invitation/")).status_code == 200
