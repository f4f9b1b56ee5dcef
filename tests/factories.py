"""factory_boy factories for every model; they commit, like the services do."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import factory
from werkzeug.security import generate_password_hash

from perks.catalog.draws import DEFAULT_PUBLIC_VALUE_SOURCE, commitment_of
from perks.catalog.models import (
    Allocation,
    CodeMode,
    Draw,
    DrawStatus,
    LimitPeriod,
    Perk,
    PerkCategory,
    PerkCode,
    PerkKind,
    PerkStatus,
)
from perks.commissions.models import CommissionRule, RuleKind, RuleScope
from perks.extensions import db
from perks.i18n import company_date
from perks.notifications.models import Notification
from perks.people.models import Department, EmploymentType, Role, User, new_session_token
from perks.recognition.points_models import CompanyValue
from perks.referrals.models import Click, Destination, ReferralLink
from perks.shop.models import (
    Order,
    OrderLine,
    OrderStatus,
    Product,
    ProductCategory,
    RedemptionMode,
)

PASSWORD = "correct horse battery"
#: the tests' password hashing: one round of PBKDF2, so that thousands of sign-ins cost
#: nothing (production refuses it; tests/functional/test_auth.py signs in with scrypt)
PASSWORD_HASH_METHOD = "pbkdf2:sha256:1"
_PASSWORD_HASH = generate_password_hash(PASSWORD, method=PASSWORD_HASH_METHOD)


class BaseFactory(factory.alchemy.SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "commit"


class DepartmentFactory(BaseFactory):
    class Meta:
        model = Department

    name = factory.Sequence(lambda n: f"Phòng {n}")


class UserFactory(BaseFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    name = factory.Sequence(lambda n: f"Nguyễn Văn {n}")
    employment_type = EmploymentType.STAFF
    location = "Hà Nội"
    hire_date = date(2024, 1, 15)
    locale = "en"
    active = True
    password_hash = _PASSWORD_HASH
    session_token = factory.LazyFunction(new_session_token)
    roles = frozenset({Role.EMPLOYEE})

    @classmethod
    def _create(cls, model_class, *args, **kwargs):  # type: ignore[no-untyped-def]
        roles = kwargs.pop("roles", {Role.EMPLOYEE})
        user = model_class(*args, **kwargs)
        user.set_roles(set(roles))
        db.session.add(user)
        db.session.commit()
        return user


class CompanyValueFactory(BaseFactory):
    """An active company value a kudos may name."""

    class Meta:
        model = CompanyValue

    name_vi = factory.Sequence(lambda n: f"Tận tâm {n}")
    name_en = factory.Sequence(lambda n: f"Care {n}")
    active = True


class PerkFactory(BaseFactory):
    """A published, first-come perk anyone can claim once: a voucher number per claim.

    ``PerkFactory(code_mode=CodeMode.POOL, codes=["A1", "B2"])`` also fills its code pool.
    """

    class Meta:
        model = Perk

    title_vi = factory.Sequence(lambda n: f"Ưu đãi {n}")
    title_en = factory.Sequence(lambda n: f"Perk {n}")
    partner_name = "Đối tác"
    category = PerkCategory.OTHER
    kind = PerkKind.DISCOUNT_CODE
    value_vi = "Giảm 20%"
    value_en = "20% off"
    status = PerkStatus.PUBLISHED
    allocation = Allocation.FIRST_COME
    code_mode = CodeMode.VOUCHER
    shared_code = ""
    total_stock = None
    #: counted stock starts full
    remaining_stock = factory.LazyAttribute(lambda perk: perk.total_stock)
    per_person_limit = 1
    limit_period = LimitPeriod.EVER
    locations = factory.LazyFunction(list)
    employment_types = factory.LazyFunction(list)
    min_tenure_days = 0

    @factory.post_generation
    def codes(perk, create, extracted, **kwargs):  # type: ignore[no-untyped-def]  # noqa: N805
        if not extracted:
            return
        db.session.add_all(PerkCode(perk_id=perk.id, code=code) for code in extracted)
        db.session.commit()


class DrawFactory(BaseFactory):
    """An open draw on a published draw perk with two seats, its seed committed (method 2)."""

    class Meta:
        model = Draw

    perk = factory.SubFactory(
        PerkFactory, allocation=Allocation.DRAW, kind=PerkKind.EXPERIENCE, total_stock=2
    )
    seats = factory.LazyAttribute(lambda draw: draw.perk.remaining_stock or 0)
    entries_close_at = factory.LazyFunction(lambda: datetime.now(UTC) + timedelta(days=7))
    seed = factory.Sequence(lambda n: f"{n:064x}")
    commitment = factory.LazyAttribute(lambda draw: commitment_of(draw.seed))
    status = DrawStatus.OPEN
    # method 2: the public value of the company day after entries close
    public_value_source = DEFAULT_PUBLIC_VALUE_SOURCE
    public_value_date = factory.LazyAttribute(
        lambda draw: company_date(draw.entries_close_at) + timedelta(days=1)
    )


class ProductCategoryFactory(BaseFactory):
    class Meta:
        model = ProductCategory

    slug = factory.Sequence(lambda n: f"danh-muc-{n}")
    name_vi = factory.Sequence(lambda n: f"Danh mục {n}")
    name_en = factory.Sequence(lambda n: f"Category {n}")
    position = 0


class ProductFactory(BaseFactory):
    """An active product in VND, redeemed at the counter, in its own new category."""

    class Meta:
        model = Product

    slug = factory.Sequence(lambda n: f"san-pham-{n}")
    category = factory.SubFactory(ProductCategoryFactory)
    name_vi = factory.Sequence(lambda n: f"Sản phẩm {n}")
    name_en = factory.Sequence(lambda n: f"Product {n}")
    description_vi = "Mô tả sản phẩm."
    description_en = "A product description."
    price_amount = 2_400_000
    currency = "VND"
    staff_price_amount = None
    redemption_mode = RedemptionMode.COUNTER
    max_quantity_per_order = 10
    active = True


class ReferralLinkFactory(BaseFactory):
    """A live link of a new employee to the storefront (not their default one)."""

    class Meta:
        model = ReferralLink

    user = factory.SubFactory(UserFactory)
    label = ""
    destination = Destination.STOREFRONT
    destination_id = None
    is_default = False
    paused = False


class ClickFactory(BaseFactory):
    """A human click on a link, now, from a new visitor (its own IP hash).

    ``ClickFactory(link_id=link.id)`` clicks an existing link; without it, a new link is made.
    """

    class Meta:
        model = Click

    link_id = factory.LazyFunction(lambda: ReferralLinkFactory().id)
    clicked_at = factory.LazyFunction(lambda: datetime.now(UTC))
    ip_hash = factory.Sequence(lambda n: f"{n:064x}")
    user_agent_family = "Chrome"
    is_bot = False
    referrer_domain = ""


class OrderFactory(BaseFactory):
    """A pending storefront order of one product (``product``, ``quantity`` 1) at list price,
    its Checkout Session open: in VND by default (the product's currency).

    ``OrderFactory(product=ProductFactory(price_amount=1250, currency="USD"), quantity=2)``;
    ``OrderFactory(with_line=False)`` makes an order without lines (add OrderLineFactory's).
    """

    class Meta:
        model = Order

    class Params:
        product = factory.SubFactory(ProductFactory)
        quantity = 1
        with_line = True

    customer_name = "Nguyễn Thị Khách"
    customer_email = factory.Sequence(lambda n: f"khach{n}@example.com")
    locale = "vi"
    currency = factory.LazyAttribute(lambda o: o.product.currency)
    subtotal_amount = factory.LazyAttribute(lambda o: o.product.price_amount * o.quantity)
    discount_amount = 0
    total_amount = factory.LazyAttribute(lambda o: o.subtotal_amount - o.discount_amount)
    checkout_session_id = factory.Sequence(lambda n: f"cs_test_perks_{n:06d}")
    status = OrderStatus.PENDING

    line = factory.Maybe(
        "with_line",
        factory.RelatedFactory(
            "tests.factories.OrderLineFactory",
            factory_related_name="order",
            product=factory.SelfAttribute("..product"),
            quantity=factory.SelfAttribute("..quantity"),
        ),
    )


class OrderLineFactory(BaseFactory):
    """A line of ``order`` for ``product`` at its list price (no discount)."""

    class Meta:
        model = OrderLine

    order = factory.SubFactory(OrderFactory, with_line=False)
    product = factory.SubFactory(ProductFactory)
    product_name = factory.LazyAttribute(lambda line: line.product.name_vi)
    quantity = 1
    unit_list_amount = factory.LazyAttribute(lambda line: line.product.price_amount)
    unit_amount = factory.LazyAttribute(lambda line: line.unit_list_amount)
    line_total_amount = factory.LazyAttribute(lambda line: line.unit_amount * line.quantity)


class CommissionRuleFactory(BaseFactory):
    """A default rule paying 10 % of the line total, for any currency, since 2020."""

    class Meta:
        model = CommissionRule

    scope = RuleScope.DEFAULT
    kind = RuleKind.PERCENT
    rate_bps = 1000
    flat_amount = None
    cap_amount = None
    currency = None
    effective_from = date(2020, 1, 1)
    effective_to = None
    version = 1
    note = ""


class NotificationFactory(BaseFactory):
    """A payout notification (no e-mail: written as a row, as ``notify`` would store it)."""

    class Meta:
        model = Notification
        exclude = ("user",)

    user = factory.SubFactory(UserFactory)
    user_id = factory.SelfAttribute("user.id")
    kind = "payout_paid"
    params = factory.LazyFunction(
        lambda: {
            "amounts": [{"money": [1_250_000, "VND"]}],
            "reference": "PB-1",
            "payment": "PAYROLL-1",
        }
    )
    endpoint = "commissions.my_earnings"
    url_values = factory.LazyFunction(dict)


def add_clicks(link: ReferralLink, count: int, **fields: object) -> None:
    """``count`` clicks on ``link`` an hour ago, in one commit (a visitor each unless told)."""
    fields.setdefault("clicked_at", datetime.now(UTC) - timedelta(hours=1))
    db.session.add_all(ClickFactory.build_batch(count, link_id=link.id, **fields))
    db.session.commit()
