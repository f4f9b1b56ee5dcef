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
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from flask import Flask, current_app, url_for
from sqlalchemy import select
from werkzeug.serving import WSGIRequestHandler, make_server

from perks.db import utcnow
from perks.errors import ValidationFailed
from perks.extensions import db
from perks.finance import payouts, queries
from perks.finance.models import LineStatus, PayoutBatch
from perks.finance.periods import company_today
from perks.money import Money
from perks.payments import stripe_gateway
from perks.payments.stripe_gateway import PaymentProviderUnavailable
from perks.people.models import Role, User
from perks.referrals.attribution import dump_referral_cookie
from perks.referrals.clicks import Visitor, follow_link
from perks.referrals.models import ReferralLink
from perks.shop import checkout, redemption, refunds
from perks.shop.models import Order, Product

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
    start = today - timedelta(days=120)
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


def release_some_commissions(paid_orders: list[Order], rng: random.Random) -> int:
    """Age half of the redeemed orders' commissions past the holding period, then run what
    ``flask perks tick`` runs, so payable commissions exist on a fresh demo."""
    from perks.commissions.lifecycle import backdate_earning, release_due_commissions

    holding = int(current_app.config["COMMISSION_HOLDING_DAYS"])
    for order in paid_orders:
        if order.redeemed_at is not None and rng.random() < 0.5:
            backdate_earning(order.id, holding + rng.randint(1, 20))
    return release_due_commissions()


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
        RuntimeError: the sandbox did not answer within ``SANDBOX_START_SECONDS``.
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


def wait_for_sandbox() -> None:
    """Return once the sandbox answers (it may still be starting).

    Raises:
        RuntimeError: it did not answer within ``SANDBOX_START_SECONDS``.
    """
    deadline = time.monotonic() + SANDBOX_START_SECONDS
    now = utcnow()
    while True:
        try:
            list(stripe_gateway.list_checkout_sessions(now, now))  # a read: changes nothing
            return
        except PaymentProviderUnavailable:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"the Stripe sandbox does not answer at {stripe_gateway.api_base()} "
                    "(make run starts it: flask --app stripe_sandbox run --port 5002)"
                ) from None
            time.sleep(0.25)


def _forward_webhooks(url: str) -> str:
    """Have the sandbox send its webhooks to ``url`` from now on; where they went before."""
    answer = stripe_gateway.sandbox_test_helper("webhook_endpoint", url=url)
    return str(answer["previous_url"])


def seed_demo_activity(app: Flask, *, orders: int = 36, seed: int = 2026) -> ActivitySummary:
    """Clicks, orders, payments, redemptions, refunds and disputes for the demo company, and
    a first payout batch paid (see :func:`pay_a_first_batch`).

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
    # A few enthusiastic sharers and a long tail, as in real life.
    sharers = rng.sample(links, k=min(12, len(links)))
    weights = [1.0 / (rank + 1) for rank in range(len(sharers))]
    now = utcnow()

    with serving(app) as base_url, app.test_request_context("/", base_url=base_url):
        # Visits over the last eight weeks; most lead nowhere, as visits do.
        for _ in range(orders * 6):
            link = rng.choices(sharers, weights)[0]
            when = now - timedelta(days=rng.uniform(0, 56), minutes=rng.uniform(0, 600))
            bot = rng.random() < 0.08
            follow_link(link.code, _visitor(rng, bot=bot), now=when)
            summary.clicks += 0 if bot else 1
        db.session.commit()

        # Orders through a fresh click each (the cookie the redirect would set), paid by card.
        placed: list[Order] = []
        for number in range(orders):
            link = rng.choices(sharers, weights)[0]
            visit = follow_link(link.code, _visitor(rng, bot=False), now=now)
            db.session.commit()
            summary.clicks += 1
            cookie = dump_referral_cookie(visit.link_id or link.id, visit.click_id, now)
            name, email, phone, locale = CUSTOMERS[number % len(CUSTOMERS)]
            product = _pick_product(rng, products, english=locale == "en")
            quantity = 1 if product.price_amount > 3_000_000 else rng.randint(1, 3)
            order = checkout.place_order(
                [(product.id, min(quantity, product.max_quantity_per_order))],
                checkout.Customer(name=name, email=email, phone=phone),
                typed_code=None,
                referral_cookie=cookie,
                buyer_user=None,
                locale=locale,
                now=now,
            )
            summary.orders += 1
            if rng.random() < 0.12:
                continue  # left on the payment page: the order stays pending
            _sandbox(f"checkout/sessions/{order.checkout_session_id}/pay", payment_method="card")
            placed.append(order)
        _deliver()

        fetched = [db.session.get(Order, order.id) for order in placed]
        paid = [order for order in fetched if order is not None and order.paid_at is not None]
        summary.paid = len(paid)
        rng.shuffle(paid)

        # The counter redeems most of them; finance refunds a few; banks dispute two.
        refund_full, refund_part = paid[:2], paid[2:4]
        dispute_won, dispute_lost = paid[4:5], paid[5:6]
        for order in paid[7:]:
            if rng.random() < 0.75 and order.redeemed_at is None:
                redemption.redeem_order(order.redemption_code, redeemer)
                summary.redeemed += 1
        for order in paid[2:7]:
            if order.redeemed_at is None and order.redeemable:
                redemption.redeem_order(order.redemption_code, redeemer)
                summary.redeemed += 1
        for order in refund_full:
            refunds.request_refund(order.id, order.total, "Khách đổi lịch, hoàn toàn bộ", finance)
        for order in refund_part:
            part = Money(order.total_amount // 4, order.currency)
            refunds.request_refund(order.id, part, "Hoàn một phần: thiếu một dịch vụ", finance)
        summary.refunded = len(refund_full) + len(refund_part)
        disputes: list[tuple[str, bool]] = []
        for order, won in [(o, True) for o in dispute_won] + [(o, False) for o in dispute_lost]:
            opened = _sandbox(f"payment_intents/{order.payment_intent_id}/dispute")
            disputes.append((str(opened["id"]), won))
        # One dispute stays open: its commissions are on hold until the bank decides.
        for order in paid[6:7]:
            _sandbox(f"payment_intents/{order.payment_intent_id}/dispute")
        summary.disputed = len(disputes) + len(paid[6:7])
        _deliver()
        for dispute_id, won in disputes:
            _sandbox(f"disputes/{dispute_id}/close", outcome="won" if won else "lost")
        _deliver()
        summary.payable = release_some_commissions(
            [o for o in (db.session.get(Order, p.id) for p in paid) if o is not None], rng
        )
    # Outside the request to the short-lived server: the e-mails link to the app itself.
    batch = pay_a_first_batch(rng)
    if batch is None:
        summary.notes.append("not enough payable commissions or finance people for a payout")
    else:
        summary.payout_batch = batch.reference
    db.session.remove()
    return summary


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
    payouts.approve_batch(batch.id, actor=approver)
    return payouts.mark_batch_paid(batch.id, f"LUONG-{today:%Y%m}", actor=drafter)


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
