"""Believable referral activity for the demo company, made through the real services.

Customers follow employees' links (some of the visitors are link-preview bots), order from
the storefront and pay in the Stripe sandbox (its own process, driven over HTTP through its
test helpers, as a developer drives its pages); the sandbox signs the webhooks and delivers
them over HTTP to the app, which marks the orders paid, exactly as it will in production.
Then the counter redeems some orders, finance refunds a few and banks dispute two.
Commissions follow from those events by themselves (``perks.commissions``). Finally finance
pays a first payout batch (four eyes: one drafts, another approves), leaving one person's
line out, so a fresh demo shows commissions in every state, paid and payable alike.

``flask perks demo`` has no web server running, so this module serves the app on a free
loopback port for the few seconds it needs and has the sandbox forward its webhooks there
meanwhile (like ``stripe listen --forward-to``), then puts the sandbox's endpoint back.
"""

from __future__ import annotations

import random
import re
import threading
import time
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from datetime import time as clock_time
from typing import Any

from flask import Flask, current_app, url_for
from sqlalchemy import select
from stdnum.vn import mst
from werkzeug.serving import WSGIRequestHandler, make_server

from perks.audit import AuditEvent
from perks.commissions import tax
from perks.commissions.lifecycle import holding_period, release_due_commissions
from perks.commissions.models import Commission, LedgerEntry
from perks.db import affected_rows, transaction, utcnow
from perks.errors import ValidationFailed
from perks.extensions import db
from perks.feedback.models import FeedbackItem
from perks.finance import payouts, queries
from perks.finance.models import LineStatus, PayoutBatch
from perks.i18n import company_today, company_zone
from perks.money import Money
from perks.payments import stripe_gateway
from perks.payments.models import StripeEvent
from perks.payments.stripe_gateway import PaymentProviderUnavailable
from perks.people.models import EmploymentType, Role, User
from perks.referrals.attribution import dump_referral_cookie
from perks.referrals.clicks import Visitor, follow_link
from perks.referrals.models import ReferralLink
from perks.referrals.rollup import roll_up_clicks
from perks.shop import checkout, redemption, refunds
from perks.shop.models import Order, Product, RedemptionMode

#: real browsers' user agents, and two link-preview bots (stored, never counted)
USER_AGENTS = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; SM-A546E) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
    "Mozilla/5.0 (Linux; Android 13; Redmi Note 12) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Mobile Safari/537.36 Zalo iOS/23.09.01",
]
BOT_AGENTS = [
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "ZaloPC-win32-24v496",
]
REFERRERS = ["https://www.facebook.com/", "https://zalo.me/", "https://l.messenger.com/", None]
CUSTOMERS = [
    ("Lê Thị Hoa", "hoa.le@gmail.com", "0912 345 678", "vi"),
    ("Trần Minh Khoa", "khoa.tran@yahoo.com.vn", "0987 654 321", "vi"),
    ("Nguyễn Thanh Tâm", "tam.nguyen@outlook.com", "0903 111 222", "vi"),
    ("Phạm Quốc Bảo", "bao.pham@gmail.com", "0938 222 333", "vi"),
    ("Võ Ngọc Lan", "lan.vo@gmail.com", "0977 333 444", "vi"),
    ("Emily Carter", "emily.carter@example.com", "+44 20 7946 0958", "en"),
    ("Đặng Hải Yến", "yen.dang@gmail.com", "0965 444 555", "vi"),
    ("Bùi Văn Long", "long.bui@gmail.com", "0919 555 666", "vi"),
    ("Lucas Martin", "lucas.martin@example.com", "+33 1 70 36 14 00", "en"),
    ("Hoàng Thu Hà", "ha.hoang@gmail.com", "0908 666 777", "vi"),
]


# --- when things happen ---------------------------------------------------------------------

#: the demo company has used Perks for about six months
HISTORY_DAYS = 182
#: how busy each weekday is, Monday first: weekends are quieter
WEEKDAY_WEIGHTS = (1.0, 1.0, 0.95, 1.0, 1.1, 0.55, 0.45)
#: how busy each hour of the company's day is: office hours, a lunch break on the phone, the
#: evening at home, a quiet night
HOUR_WEIGHTS = (
    0.1, 0.05, 0.03, 0.03, 0.05, 0.15, 0.4, 0.9, 1.6, 2.0, 2.1, 2.0,
    2.4, 2.0, 1.9, 1.9, 1.8, 1.6, 1.2, 1.3, 1.5, 1.3, 0.8, 0.3,
)  # fmt: skip
#: when the counters and finance work: office hours only
OFFICE_HOURS = tuple(1.0 if 8 <= hour < 18 else 0.0 for hour in range(24))
#: nothing the demo makes happens closer to now than this
QUIET_MINUTES = 30


@dataclass
class Timeline:
    """Moments of the demo's past: spread over the last ``HISTORY_DAYS`` by weekday and hour
    of the company's time zone (busier lately: the programme grew), never later than
    ``now`` less ``QUIET_MINUTES``; returned as UTC, as every time is stored."""

    rng: random.Random
    now: datetime
    zone: tzinfo
    days: int = HISTORY_DAYS
    _day_weights: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._day_weights = [
            WEEKDAY_WEIGHTS[self.day(i).weekday()] * (0.6 + i / self.days)
            for i in range(self.days + 1)
        ]

    @property
    def start(self) -> datetime:
        """The first moment of the history (midnight, company time)."""
        return self._at(self.day(0), 0, 0)

    @property
    def latest(self) -> datetime:
        return self.now - timedelta(minutes=QUIET_MINUTES)

    def day(self, index: int) -> date:
        """The ``index``-th day of the history (0: the first, ``days``: today)."""
        return self.now.astimezone(self.zone).date() - timedelta(days=self.days - index)

    def moment(self, hours: Sequence[float] = HOUR_WEIGHTS) -> datetime:
        """A moment of the history, as busy days and hours weigh."""
        while True:
            index = self.rng.choices(range(self.days + 1), self._day_weights)[0]
            hour = self.rng.choices(range(24), hours)[0]
            when = self._at(self.day(index), hour, self.rng.randrange(3600))
            if when <= self.latest:
                return when

    def on(self, day: date, hours: Sequence[float] = HOUR_WEIGHTS) -> datetime | None:
        """A moment of ``day``, as busy hours weigh; None if it would be too late."""
        hour = self.rng.choices(range(24), hours)[0]
        when = self._at(day, hour, self.rng.randrange(3600))
        return when if when <= self.latest else None

    def after(
        self,
        moment: datetime,
        days: tuple[int, int],
        hours: Sequence[float] = OFFICE_HOURS,
    ) -> datetime | None:
        """A moment some ``days`` (a range) after ``moment``, in busy ``hours``; None when it
        has not happened yet."""
        day = moment.astimezone(self.zone).date() + timedelta(days=self.rng.randint(*days))
        when = self.on(day, hours)
        if when is not None and when <= moment:
            when = moment + timedelta(minutes=self.rng.uniform(10, 90))
        return when if when is not None and when <= self.latest else None

    def minutes_after(self, moment: datetime, low: float, high: float) -> datetime:
        return moment + timedelta(minutes=self.rng.uniform(low, high))

    def ago(self, *, days: int, hours: Sequence[float] = HOUR_WEIGHTS) -> datetime:
        """A moment ``days`` before today (today's: before ``latest``)."""
        for _ in range(50):
            when = self.on(self.day(self.days - days), hours)
            if when is not None:
                return when
        return self.latest - timedelta(minutes=self.rng.uniform(5, 30))

    def _at(self, day: date, hour: int, seconds: int) -> datetime:
        local = datetime.combine(day, clock_time(hour), self.zone) + timedelta(seconds=seconds)
        return local.astimezone(UTC)


def timeline(rng: random.Random, now: datetime | None = None) -> Timeline:
    """The demo's history, ending ``now``, in the company's time zone."""
    return Timeline(rng, now or utcnow(), company_zone())


def date_order_step(
    order_id: int, *, since: datetime, at: datetime, created: datetime | None = None
) -> None:
    """What the real services did to an order from ``since`` (the real clock, read just
    before) is dated ``at``, a moment of the demo's past: the order's facts, its Stripe events,
    its audit events, its commissions and their ledger entries. ``created`` dates the order's
    creation (and its checkout's expiry) too."""
    expiry = timedelta(minutes=int(current_app.config["CHECKOUT_EXPIRY_MINUTES"]))
    with transaction():
        order = db.session.get(Order, order_id)
        assert order is not None  # the demo's own order
        for name in ("paid_at", "closed_at", "redeemed_at"):
            moment = getattr(order, name)
            if moment is not None and _aware(moment) >= since:
                setattr(order, name, at)
        if created is not None:
            order.created_at = created
            order.checkout_expires_at = created + expiry
        order.updated_at = at
        events = StripeEvent.__table__
        db.session.execute(
            events.update()
            .where(events.c.order_id == order_id, events.c.received_at >= since)
            .values(stripe_created_at=at, received_at=at + timedelta(seconds=2))
        )
        audit_events = AuditEvent.__table__
        db.session.execute(
            audit_events.update()
            .where(
                audit_events.c.target_type == Order.__name__,
                audit_events.c.target_id == str(order_id),
                audit_events.c.created_at >= since,
            )
            .values(created_at=at)
        )
    date_what_happened(order_id, since=since, at=at)


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; every stored time is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def seed_demo_rules(today: date) -> None:
    """Finance's commission rules: 3 % by default, 5 % on tours, a flat amount on one stay."""
    from perks.commissions.models import CommissionRule, RuleKind, RuleScope
    from perks.commissions.services import RuleData, create_rule
    from perks.shop.models import ProductCategory

    if db.session.scalar(select(CommissionRule.id).limit(1)) is not None:
        return
    finance = _someone_with(Role.FINANCE)
    if finance is None:
        return
    start = today - timedelta(days=HISTORY_DAYS + 14)  # before the first order
    create_rule(
        RuleData(RuleScope.DEFAULT, RuleKind.PERCENT, start, rate_bps=300, note="Mặc định"),
        actor=finance,
    )
    tours = db.session.scalar(
        select(ProductCategory).where(ProductCategory.slug == "tour-trong-nuoc")
    )
    if tours is not None:
        create_rule(
            RuleData(
                RuleScope.CATEGORY,
                RuleKind.PERCENT,
                start,
                category_id=tours.id,
                rate_bps=500,
                cap_amount=500_000,
                currency="VND",
                note="Tour: 5 %, tối đa 500.000 ₫ mỗi dòng",
            ),
            actor=finance,
        )
    stay = db.session.scalar(
        select(Product)
        .join(ProductCategory, ProductCategory.id == Product.category_id)
        .where(ProductCategory.slug == "khach-san-resort", Product.currency == "VND")
        .order_by(Product.id)
        .limit(1)
    )
    if stay is not None:
        create_rule(
            RuleData(
                RuleScope.PRODUCT,
                RuleKind.FLAT,
                start,
                product_id=stay.id,
                flat_amount=150_000,
                currency="VND",
                note="150.000 ₫ mỗi đêm",
            ),
            actor=finance,
        )


@dataclass
class ActivitySummary:
    clicks: int = 0
    orders: int = 0
    paid: int = 0
    redeemed: int = 0
    refunded: int = 0
    disputed: int = 0
    payable: int = 0
    #: the reference of the payout batch paid, if one was
    payout_batch: str | None = None
    notes: list[str] = field(default_factory=list)


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """The demo's own requests are not news."""


#: how long the demo waits for the sandbox's process to answer (``make run`` starts it just
#: before the demo)
SANDBOX_START_SECONDS = 20.0


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """Serve ``app`` on a free loopback port while the block runs, with the sandbox's webhooks
    forwarded to it; yields its base URL. (The app's ``BASE_URL`` has nobody listening yet
    while the demo is seeded.) The sandbox's endpoint is put back afterwards.

    Raises:
        SandboxNotAnswering: the sandbox did not answer within ``SANDBOX_START_SECONDS``.
    """
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="perks-demo-server", daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{server.server_port}"
    try:
        with app.test_request_context("/"):
            endpoint = base_url + url_for("payments.stripe_webhook")
        wait_for_sandbox()
        previous = _forward_webhooks(endpoint)
        try:
            yield base_url
        finally:
            _forward_webhooks(previous)
    finally:
        server.shutdown()
        thread.join(timeout=5)


class SandboxNotAnswering(RuntimeError):
    """The Stripe sandbox the demo's customers pay in does not answer (not started?)."""


def wait_for_sandbox() -> None:
    """Return once the sandbox answers (it may still be starting).

    Raises:
        SandboxNotAnswering: it did not answer within ``SANDBOX_START_SECONDS``.
    """
    deadline = time.monotonic() + SANDBOX_START_SECONDS
    now = utcnow()
    while True:
        try:
            list(stripe_gateway.list_checkout_sessions(now, now))  # a read: changes nothing
            return
        except PaymentProviderUnavailable:
            if time.monotonic() > deadline:
                raise SandboxNotAnswering(
                    f"the Stripe sandbox does not answer at {stripe_gateway.api_base()} "
                    "(make run starts it: flask --app stripe_sandbox run --port 5002)"
                ) from None
            time.sleep(0.25)


def _forward_webhooks(url: str) -> str:
    """Have the sandbox send its webhooks to ``url`` from now on; where they went before."""
    answer = stripe_gateway.sandbox_test_helper("webhook_endpoint", url=url)
    return str(answer["previous_url"])


@dataclass
class Story:
    """One order's life as the demo plans it (UTC times; None: it has not happened)."""

    created: datetime
    customer: tuple[str, str, str, str]
    product: Product
    quantity: int
    #: the link the customer followed to the shop, and when
    link: ReferralLink | None = None
    clicked: datetime | None = None
    #: a person of the company, signed in: a staff purchase, or a self-referral attempt
    buyer: User | None = None
    paid: datetime | None = None
    redeemed: datetime | None = None
    refunded: datetime | None = None
    refund_in_full: bool = False
    dispute_opened: datetime | None = None
    dispute_closed: datetime | None = None
    dispute_won: bool = False
    order_id: int = 0


def seed_demo_activity(app: Flask, *, orders: int = 48, seed: int = 2026) -> ActivitySummary:
    """Six months of clicks, orders, payments, redemptions, refunds and disputes for the demo
    company, and a first payout batch paid (see :func:`pay_a_first_batch`).

    Every step goes through the real services and the sandbox, in the order things happen to
    an order (placed, paid, redeemed, refunded or disputed); after each step, what it did is
    dated at the moment the demo planned for it (``date_order_step``), spread over the last
    ``HISTORY_DAYS`` as a real company's days and hours are (``Timeline``). A few signed-in
    staff purchases and self-referral attempts land in the last weeks, for the fraud page.

    Runs only against the Stripe sandbox (it pays through the sandbox's test helpers);
    does nothing when the database already has orders.

    Raises:
        RuntimeError: ``STRIPE_API_BASE`` is Stripe's own, or the sandbox does not answer.
        PaymentProviderError: the sandbox refused a step.
    """
    if not stripe_gateway.uses_sandbox():
        raise RuntimeError("the demo's payments need the Stripe sandbox (STRIPE_API_BASE)")
    summary = ActivitySummary()
    if db.session.scalar(select(Order.id).limit(1)) is not None:
        summary.notes.append("orders already present; no activity added")
        return summary
    rng = random.Random(seed)  # noqa: S311 - made-up demo data, not secrets
    links = list(
        db.session.scalars(
            select(ReferralLink)
            .join(User, User.id == ReferralLink.user_id)
            .where(User.active.is_(True), ReferralLink.paused.is_(False))
            .order_by(ReferralLink.id)
        )
    )
    products = list(
        db.session.scalars(select(Product).where(Product.active.is_(True)).order_by(Product.id))
    )
    redeemer = _someone_with(Role.REDEEMER)
    finance = _someone_with(Role.FINANCE)
    if not links or not products or redeemer is None or finance is None:
        summary.notes.append("no links, products, redeemer or finance person; no activity added")
        return summary
    line = timeline(rng)
    # A few enthusiastic sharers and a long tail, as in real life.
    sharers = rng.sample(links, k=min(12, len(links)))
    weights = [1.0 / (rank + 1) for rank in range(len(sharers))]
    stories = _plan(rng, line, orders, sharers, weights, products, links)

    with serving(app) as base_url, app.test_request_context("/", base_url=base_url):
        # Visits over the months; most lead nowhere, as visits do.
        codes = [link.code for link in sharers]  # read once: each click commits
        for _ in range(orders * 6):
            code = rng.choices(codes, weights)[0]
            bot = rng.random() < 0.08
            follow_link(code, _visitor(rng, bot=bot), now=line.moment())
            summary.clicks += 0 if bot else 1
        db.session.commit()

        # Each order through a fresh click (the cookie the redirect would set), paid by card.
        since = utcnow()
        for story in stories:
            cookie = None
            if story.link is not None and story.clicked is not None:
                visit = follow_link(story.link.code, _visitor(rng, bot=False), now=story.clicked)
                db.session.commit()
                summary.clicks += 1
                cookie = dump_referral_cookie(
                    visit.link_id or story.link.id, visit.click_id, story.clicked
                )
            name, email, phone, locale = story.customer
            order = checkout.place_order(
                [(story.product.id, story.quantity)],
                checkout.Customer(name=name, email=email, phone=phone),
                typed_code=None,
                referral_cookie=cookie,
                buyer_user=story.buyer,
                locale=locale,
                now=story.created,
            )
            story.order_id = order.id
            summary.orders += 1
            if story.paid is not None:
                _sandbox(
                    f"checkout/sessions/{order.checkout_session_id}/pay", payment_method="card"
                )
        _deliver()
        for story in stories:
            date_order_step(
                story.order_id, since=since, at=story.paid or story.created, created=story.created
            )
        summary.paid = sum(1 for story in stories if story.paid is not None)

        # Checkouts left unpaid for more than an hour expired, as Stripe's do.
        stale = [s for s in stories if s.paid is None and s.created < line.latest]
        since = utcnow()
        for story in stale:
            stripe_gateway.expire_checkout_session(_order(story).checkout_session_id or "")
        _deliver()
        expiry = timedelta(minutes=int(current_app.config["CHECKOUT_EXPIRY_MINUTES"]))
        for story in stale:
            date_order_step(story.order_id, since=since, at=story.created + expiry)

        # The counter redeems what customers came to use (gift cards were, when paid).
        at_counter = sorted(
            (s for s in stories if s.redeemed is not None and s.redeemed != s.paid),
            key=lambda s: s.redeemed or s.created,
        )
        since = utcnow()
        for story in at_counter:
            redemption.redeem_order(_order(story).redemption_code, redeemer)
        for story in at_counter:
            assert story.redeemed is not None
            date_order_step(story.order_id, since=since, at=story.redeemed)
        summary.redeemed = sum(1 for s in stories if s.redeemed is not None)

        # Finance refunds a few; banks open disputes on three, and decide two.
        refunded = [s for s in stories if s.refunded is not None]
        since = utcnow()
        for story in refunded:
            order = _order(story)
            if story.refund_in_full:
                refunds.request_refund(
                    order.id, order.total, "Khách đổi lịch, hoàn toàn bộ", finance
                )
            else:
                part = Money(order.total_amount // 4, order.currency)
                refunds.request_refund(order.id, part, "Hoàn một phần: thiếu một dịch vụ", finance)
        _deliver()
        for story in refunded:
            assert story.refunded is not None
            date_order_step(story.order_id, since=since, at=story.refunded)
        summary.refunded = len(refunded)

        disputed = [s for s in stories if s.dispute_opened is not None]
        since = utcnow()
        dispute_ids = {}
        for story in disputed:
            opened = _sandbox(f"payment_intents/{_order(story).payment_intent_id}/dispute")
            dispute_ids[story.order_id] = str(opened["id"])
        _deliver()
        for story in disputed:
            assert story.dispute_opened is not None
            date_order_step(story.order_id, since=since, at=story.dispute_opened)
        summary.disputed = len(disputed)

        decided = [s for s in disputed if s.dispute_closed is not None]
        since = utcnow()
        for story in decided:
            outcome = "won" if story.dispute_won else "lost"
            _sandbox(f"disputes/{dispute_ids[story.order_id]}/close", outcome=outcome)
        _deliver()
        for story in decided:
            assert story.dispute_closed is not None
            date_order_step(story.order_id, since=since, at=story.dispute_closed)

    # What ``flask perks tick`` has done every day meanwhile: commissions whose holding period
    # is over are payable; the clicks of past days are rolled up.
    summary.payable = release_due_commissions()
    roll_up_clicks()
    # Outside the request to the short-lived server: the e-mails link to the app itself.
    batch = pay_a_first_batch(rng)
    if batch is None:
        summary.notes.append("not enough payable commissions or finance people for a payout")
    else:
        summary.payout_batch = batch.reference
    db.session.remove()
    return summary


#: paid orders this much older than now may be picked for refunds and disputes, whose steps
#: take weeks
SETTLED_DAYS = 100


def _plan(
    rng: random.Random,
    line: Timeline,
    orders: int,
    sharers: list[ReferralLink],
    weights: list[float],
    products: list[Product],
    links: list[ReferralLink],
) -> list[Story]:
    """Every order's life, oldest first: ``orders`` customers' orders through sharers' links
    (about one in eight left unpaid), the last of them still on the payment page; and in
    the last weeks three signed-in staff purchases and two self-referral attempts."""
    stories: list[Story] = []
    for number in range(orders):
        customer = CUSTOMERS[number % len(CUSTOMERS)]
        product = _pick_product(rng, products, english=customer[3] == "en")
        clicked = line.moment()
        created = min(line.minutes_after(clicked, 2, 40), line.latest)
        story = Story(
            created, customer, product, _quantity(rng, product), rng.choices(sharers, weights)[0]
        )
        story.clicked = clicked
        if rng.random() >= 0.12:
            story.paid = line.minutes_after(created, 1, 8)
        stories.append(story)
    # Someone is on the payment page right now; someone paid an hour ago; someone used their
    # order two days ago (its commission is in its holding period).
    waiting, just_paid, recent = stories[-3:]
    waiting.created = line.now - timedelta(minutes=rng.uniform(5, 15))
    waiting.clicked, waiting.paid = waiting.created - timedelta(minutes=4), None
    just_paid.created = line.latest - timedelta(minutes=rng.uniform(30, 60))
    just_paid.clicked = just_paid.created - timedelta(minutes=7)
    just_paid.paid = line.minutes_after(just_paid.created, 1, 5)
    recent.created = line.ago(days=6)
    recent.clicked = recent.created - timedelta(minutes=12)
    recent.paid = line.minutes_after(recent.created, 1, 5)
    recent.redeemed = line.ago(days=2, hours=OFFICE_HOURS)

    # The people of the company who bought in the shop themselves, signed in.
    owners = {link.user_id: link for link in links}
    staff = list(
        db.session.scalars(
            select(User).where(User.active.is_(True), User.id.in_(owners)).order_by(User.id)
        )
    )
    vnd = [p for p in products if p.currency == "VND"]
    for index, person in enumerate(rng.sample(staff, k=min(5, len(staff)))):
        created = line.ago(days=rng.randint(1, 25))
        product = rng.choice(vnd or products)
        story = Story(
            created,
            (person.name, person.email, "0901 234 567", person.locale),
            product,
            1,
            buyer=person,
            paid=line.minutes_after(created, 1, 6),
        )
        if index < 2:  # followed their own link first, signed out: a self-referral attempt
            story.link = owners[person.id]
            story.clicked = created - timedelta(minutes=rng.uniform(1, 10))
        stories.append(story)

    stories.sort(key=lambda s: s.created)
    for story in stories:
        if story.paid is not None and story.product.redemption_mode is RedemptionMode.ON_PAYMENT:
            story.redeemed = story.paid
    _plan_aftermath(rng, line, [s for s in stories if s.paid is not None])
    return stories


def _plan_aftermath(rng: random.Random, line: Timeline, paid: list[Story]) -> None:
    """What happens after payment: refunds and disputes on older customers' orders, then
    the counter's redemptions (most customers come within weeks; some have not yet)."""
    settled = [
        s
        for s in paid
        if s.buyer is None
        and s.redeemed is None
        and s.created < line.now - timedelta(days=SETTLED_DAYS)
    ]
    rng.shuffle(settled)
    full, partial, won, lost, still_open = (
        settled[0:2],
        settled[2:4],
        settled[4:5],
        settled[5:6],
        settled[6:7],
    )
    for story in full:
        story.refund_in_full = True
        story.refunded = line.after(_paid(story), (1, 6))
    for story in partial + won + lost + still_open:
        story.redeemed = line.after(_paid(story), (1, 20))
    for story in partial:
        story.refunded = line.after(story.redeemed or _paid(story), (1, 10))
    for story, outcome in [(s, True) for s in won] + [(s, False) for s in lost]:
        story.dispute_opened = line.after(story.redeemed or _paid(story), (5, 25), HOUR_WEIGHTS)
        story.dispute_closed = line.after(story.dispute_opened or _paid(story), (10, 30))
        story.dispute_won = outcome
    for story in still_open:
        story.dispute_opened = max(
            line.ago(days=rng.randint(2, 8)),
            line.minutes_after(story.redeemed or _paid(story), 60, 600),
        )
    special = {id(s) for s in full + partial + won + lost + still_open}
    for story in paid:
        if id(story) in special or story.redeemed is not None:
            continue
        if story.paid is not None and rng.random() < 0.8:
            story.redeemed = line.after(story.paid, (1, 25))


def _paid(story: Story) -> datetime:
    assert story.paid is not None  # planned for paid orders only
    return story.paid


def _order(story: Story) -> Order:
    order = db.session.get(Order, story.order_id)
    assert order is not None  # placed by the demo
    return order


def _quantity(rng: random.Random, product: Product) -> int:
    quantity = 1 if product.price_amount > 3_000_000 else rng.randint(1, 3)
    return min(quantity, product.max_quantity_per_order)


def pay_a_first_batch(rng: random.Random) -> PayoutBatch | None:
    """Finance's first payout, through the real services: the first finance person drafts a
    batch of everything payable today and leaves one person's line out (a question to settle
    first: their commissions stay payable for the next batch), the second approves it, and the
    first marks it paid with the payroll run's reference. With a single line to pay, it is
    paid whole. Returns the paid batch, or None without two finance people or anything owed.
    The e-mails to the people paid join the outbox with the payout, so nothing here can fail
    because of mail.
    """
    finance = [
        person
        for person in db.session.scalars(
            select(User).where(User.active.is_(True)).order_by(User.id)
        )
        if Role.FINANCE in person.roles  # held in their own right, not an admin's every role
    ]
    if len(finance) < 2:
        return None
    drafter, approver = finance[:2]
    today = company_today()
    try:
        batch = payouts.draft_batch(today, actor=drafter, today=today)
    except ValidationFailed:
        return None  # nobody is owed anything yet
    included = [line for line in queries.lines_of(batch.id) if line.status is LineStatus.INCLUDED]
    if len(included) > 1:
        left_out = rng.choice(included)
        payouts.exclude_line(
            batch.id, left_out.id, "Chờ xác nhận số tài khoản ngân hàng mới", actor=drafter
        )
    give_tax_profiles(batch.id, actor=drafter, second=approver)
    payouts.approve_batch(batch.id, actor=approver)
    return payouts.mark_batch_paid(batch.id, f"LUONG-{today:%Y%m}", actor=drafter)


#: the banks of the demo's payees outside payroll
DEMO_BANKS = ("Vietcombank", "Techcombank", "BIDV", "VPBank", "ACB", "MB Bank")


def _demo_tax_code(person_id: int, *, personal: bool) -> str:
    """A made-up tax code that passes the checks, the same for a person every run: staff give
    their 12-digit personal identification number (079: Hồ Chí Minh City); the others a
    10-digit code whose last digit checks the rest."""
    if personal:
        return f"079{(person_id * 7919) % 10**9:09d}"
    serial = (person_id * 7919) % 10**7
    while (check := mst.calc_check_digit(f"03{serial:07d}")) == "10":  # no code has 10
        serial = (serial + 1) % 10**7
    return f"03{serial:07d}{check}"


def give_tax_profiles(batch_id: int, *, actor: User, second: User) -> None:
    """Everyone's tax profile, as finance would keep it, through the real service: staff on a
    labour contract of three months or more (payroll), contractors and suppliers residents
    without one (withheld 10 % from 2,000,000 ₫, paid by bank transfer; the first contractor
    has this year's commitment form on file), partners non-resident (withheld 20 %). So the
    batch about to be paid withholds tax: if none of its included lines is someone outside
    payroll, the biggest one's person (no demo login) becomes a non-resident expert.
    """
    tax.add_circular_111_rates(actor)  # a database made without the migration's rows
    people = list(db.session.scalars(select(User).order_by(User.id)))
    included = [line for line in queries.lines_of(batch_id) if line.status is LineStatus.INCLUDED]
    non_resident: set[int] = set()
    if not any(line.user.employment_type is not EmploymentType.STAFF for line in included):
        # the made-up people ("nv042@..."), not the demo's logins
        candidates = [line for line in included if re.match(r"nv\d+@", line.user.email)]
        if candidates:
            non_resident.add(max(candidates, key=lambda line: line.amount).user_id)
    year = company_today().year
    committed = False
    for number, person in enumerate(people, start=1):
        kind = person.employment_type
        outside = kind is not EmploymentType.STAFF
        commitment = None
        if kind is EmploymentType.CONTRACTOR and not committed:
            commitment, committed = year, True
        tax.save_tax_profile(
            person.id,
            tax.ProfileFields(
                tax_code=_demo_tax_code(person.id, personal=not outside),
                resident=kind is not EmploymentType.PARTNER and person.id not in non_resident,
                long_contract=not outside,
                commitment_year=commitment,
                bank_account_number=f"{1900 + number}{person.id:08d}" if outside else "",
                bank_name=DEMO_BANKS[number % len(DEMO_BANKS)] if outside else "",
                account_holder=_unaccented(person.name).upper() if outside else "",
            ),
            actor=actor if person.id != actor.id else second,  # nobody keeps their own
        )


def _unaccented(text: str) -> str:
    """ "Nguyễn Văn Đức" → "Nguyen Van Duc": how banks spell an account holder's name."""
    text = text.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _visitor(rng: random.Random, *, bot: bool) -> Visitor:
    agents = BOT_AGENTS if bot else USER_AGENTS
    return Visitor(
        ip=f"113.{rng.randint(160, 191)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
        user_agent=rng.choice(agents),
        referrer=rng.choice(REFERRERS),
    )


def _pick_product(rng: random.Random, products: list[Product], *, english: bool) -> Product:
    usd = [p for p in products if p.currency == "USD"]
    if english and usd and rng.random() < 0.5:
        return rng.choice(usd)
    return rng.choice([p for p in products if p.currency == "VND"] or products)


def _someone_with(role: Role) -> User | None:
    return next(
        (
            person
            for person in db.session.scalars(
                select(User).where(User.active.is_(True)).order_by(User.id)
            )
            if person.has_role(role)
        ),
        None,
    )


def _sandbox(helper: str, **params: Any) -> dict[str, Any]:
    """One of the sandbox's test helpers (``stripe_sandbox/simulate.py``), over HTTP."""
    return stripe_gateway.sandbox_test_helper(helper, **params)


#: the longest the sandbox may take to send every webhook waiting
DELIVER_SECONDS = 60.0


def _deliver() -> None:
    """Have the sandbox send every webhook waiting now, and wait until it has (it posts them
    over HTTP to the server of :func:`serving`)."""
    stripe_gateway.sandbox_test_helper("webhooks/deliver", read_timeout=DELIVER_SECONDS)
    db.session.expire_all()


def date_what_happened(order_id: int, *, since: datetime, at: datetime) -> int:
    """For demo data: what happened to an order's commissions from ``since`` (the real clock,
    just before the demo played a step through the real services) is dated ``at`` instead,
    a moment of the demo's past: the commissions' own times (created, earned, voided, held,
    paid) and the ledger entries they wrote; an earning's holding period restarts from
    ``at``. The ledger is append-only everywhere else; here only dates move, never an amount
    or a kind, and before anybody has seen them. Returns how many rows were dated.

    Raises:
        ValueError: ``at`` is not before ``since`` (the demo only ever moves things back).
    """
    if at >= since:
        raise ValueError("at must be before since")
    dated = 0
    with transaction():
        for commission in db.session.scalars(
            select(Commission).where(Commission.order_id == order_id)
        ):
            for name in ("created_at", "updated_at", "voided_at", "held_at", "paid_at"):
                moment = getattr(commission, name)
                if moment is not None and _aware(moment) >= since:
                    setattr(commission, name, at)
                    dated += 1
            if commission.earned_at is not None and _aware(commission.earned_at) >= since:
                commission.earned_at = at
                commission.payable_at = at + holding_period()
                dated += 1
        # A plain table statement: dates only, for the demo (the ORM refuses any change).
        entries = LedgerEntry.__table__
        result = db.session.execute(
            entries.update()
            .where(
                entries.c.commission_id.in_(
                    select(Commission.id).where(Commission.order_id == order_id)
                ),
                entries.c.created_at >= since,
            )
            .values(created_at=at)
        )
        return dated + affected_rows(result)


#: what the demo's raters say, by stars (the demo company writes in Vietnamese)
_RATING_COMMENTS = {
    5: ("Rất đáng dùng, nhân viên phục vụ nhiệt tình.", "Tuyệt vời, sẽ dùng lại.", ""),
    4: ("Tốt, chỉ hơi đông vào cuối tuần.", "Ổn, giá ưu đãi hợp lý.", ""),
    3: ("Bình thường.", ""),
    2: ("Phải chờ khá lâu mới được phục vụ.",),
    1: ("Mã không dùng được ở chi nhánh gần nhà.",),
}


def seed_demo_ratings(app: Flask, *, logins: dict[str, str], seed: int = 2031) -> int:
    """Ratings on the demo's used perks and staff purchases; returns how many were made.

    Most used claims are rated (mostly 4 and 5 stars, a few low ones), some without the
    rater's name; HR shows about half of the comments. Each demo login (``logins``: role to
    e-mail) keeps its newest used claim unrated, so "My perks" shows the invitation. With the
    Stripe sandbox the demo employee also buys a product at staff price and uses it at the
    counter, unrated; the other staff purchases used are rated. Does nothing once the demo
    has ratings.
    """
    from perks.catalog.models import Claim, ClaimStatus
    from perks.feedback import ratings
    from perks.feedback.ratings_models import Rating
    from perks.shop.models import OrderStatus

    if db.session.scalar(select(Rating.id).limit(1)) is not None:
        return 0
    rng = random.Random(seed)  # noqa: S311 - made-up demo data, not secrets
    login_ids = set(db.session.scalars(select(User.id).where(User.email.in_(logins.values()))))
    buyer = db.session.scalar(select(User).where(User.email == logins.get("employee")))
    if stripe_gateway.uses_sandbox() and buyer is not None:
        _staff_purchase_used(app, buyer)
    #: each rating to make, with when its perk or purchase was used
    rates: list[tuple[datetime | None, Any]] = []
    waiting: set[int] = set()
    for claim in db.session.scalars(
        select(Claim).where(Claim.status == ClaimStatus.USED).order_by(Claim.id.desc())
    ):
        if claim.user_id in login_ids and claim.user_id not in waiting:
            waiting.add(claim.user_id)  # their newest used claim waits for a rating
            continue
        rates.append(
            (
                claim.used_at,
                lambda s, c, n, claim=claim: ratings.rate_claim(claim.id, claim.user, s, c, n),
            )
        )
    for order in db.session.scalars(
        select(Order)
        .where(Order.buyer_id.is_not(None), Order.status == OrderStatus.REDEEMED)
        .order_by(Order.id)
    ):
        if buyer is None or order.buyer_id != buyer.id:
            rates.append(
                (
                    order.redeemed_at,
                    lambda s, c, n, order=order: ratings.rate_order(order.id, order.buyer, s, c, n),
                )
            )
    hr = _someone_with(Role.HR)
    now = utcnow()
    when = random.Random(seed + 1)  # noqa: S311 - the ratings' moments, apart from their stars
    handled = random.Random(seed + 2)  # noqa: S311 - when HR read and answered the low ones
    for used, rate in rates:
        stars = rng.choices((5, 4, 3, 2, 1), (40, 30, 15, 10, 5))[0]
        opened_before = set(db.session.scalars(select(FeedbackItem.id)))
        rating = rate(stars, rng.choice(_RATING_COMMENTS[stars]), rng.random() < 0.8)
        if hr is not None and rating.comment and rng.random() < 0.6:
            ratings.set_published(rating.id, True, hr)
        # rated within three days of the use (never after now), published a day later
        used = now if used is None else used.replace(tzinfo=used.tzinfo or UTC)
        rated = min(used + timedelta(minutes=when.randint(30, 3 * 24 * 60)), now)
        with transaction():
            rating.created_at = rating.updated_at = rated
            if rating.moderated_at is not None:
                rating.moderated_at = min(rated + timedelta(days=1), now)
        for item_id in set(db.session.scalars(select(FeedbackItem.id))) - opened_before:
            # a low rating's feedback item: received with it, and handled since
            _handle_feedback_of_a_rating(item_id, rated, handled, hr)
    return len(rates)


#: what HR answers the feedback item a low rating opened: about a perk (its partner's), or
#: about the company's own product
_LOW_RATING_REPLIES = {
    True: "Cảm ơn bạn đã đánh giá. Chúng tôi đã chuyển góp ý tới đối tác.",
    False: "Cảm ơn bạn đã đánh giá. Chúng tôi đã chuyển góp ý tới bộ phận phục vụ.",
}


def _handle_feedback_of_a_rating(
    item_id: int, rated: datetime, rng: random.Random, hr: User | None
) -> None:
    """The feedback item a low rating opened, received on the rating's day (the company's),
    not the seed's: acknowledged by its owner (HR when it has none) within a few working
    days and answered some working days later, as far as those days have come (one rated
    today stays new)."""
    from perks.feedback import items as feedback
    from perks.feedback.models import FeedbackMessage
    from perks.feedback.working_days import add_working_days

    today = company_today()
    received = rated.astimezone(company_zone()).date()
    acknowledged = add_working_days(received, rng.choice((0, 1, 1, 2)))
    answered = add_working_days(acknowledged, rng.choice((1, 2, 4, 6)))
    item = db.session.get(FeedbackItem, item_id)
    assert item is not None
    owner = item.owner or hr
    if owner is not None and received < today and acknowledged <= today:
        feedback.acknowledge(item_id, owner)
        if answered <= today:
            feedback.answer(item_id, owner, _LOW_RATING_REPLIES[item.about_perk_id is not None])
    with transaction():
        dated = db.session.get(FeedbackItem, item_id)
        assert dated is not None
        dated.received_on = received
        dated.acknowledged_on = dated.acknowledged_on and acknowledged
        dated.answered_on = dated.answered_on and answered
        for message in db.session.scalars(
            select(FeedbackMessage).where(FeedbackMessage.item_id == item_id)
        ):
            message.written_on = answered
        # the job has told its owner of those that came before today (a real run would have)
        dated.owner_told = dated.owner_told or received < today


def _staff_purchase_used(app: Flask, buyer: User) -> None:
    """``buyer`` buys a product used at the counter, at staff price, and uses it."""
    product = db.session.scalar(
        select(Product)
        .where(Product.active.is_(True), Product.redemption_mode == RedemptionMode.COUNTER)
        .order_by(Product.id)
    )
    redeemer = _someone_with(Role.REDEEMER)
    if product is None or redeemer is None:
        return
    bought = utcnow() - timedelta(days=3)  # dated like the demo's other orders
    with serving(app) as base_url, app.test_request_context("/", base_url=base_url):
        since = utcnow()
        order = checkout.place_order(
            [(product.id, 1)],
            checkout.Customer(name=buyer.name, email=buyer.email, phone="0901 234 567"),
            typed_code=None,
            referral_cookie=None,
            buyer_user=buyer,
            locale=buyer.locale,
            now=bought,
        )
        _sandbox(f"checkout/sessions/{order.checkout_session_id}/pay", payment_method="card")
        _deliver()
        date_order_step(order.id, since=since, at=bought + timedelta(minutes=3), created=bought)
        since = utcnow()
        redemption.redeem_order(order.redemption_code, redeemer)
        date_order_step(order.id, since=since, at=bought + timedelta(days=1, hours=2))
