"""A believable Vietnamese company for demos and screenshots: ``flask perks demo``."""

from __future__ import annotations

import random
from datetime import date, timedelta

from flask.globals import app_ctx
from sqlalchemy import func, select

from perks import audit
from perks.auth.services import hash_password
from perks.db import transaction
from perks.errors import PerksError
from perks.extensions import db
from perks.people.models import Department, EmploymentType, Role, User, new_session_token

DEMO_PASSWORD = "perks-demo-2026"  # noqa: S105 - printed for the demo on purpose
DEMO_DOMAIN = "senvang.example"

DEPARTMENTS = (
    "Ban Giám đốc",
    "Kinh doanh",
    "Marketing",
    "Tài chính - Kế toán",
    "Nhân sự",
    "Vận hành tour",
    "Chăm sóc khách hàng",
    "Công nghệ thông tin",
)
LOCATIONS = ("Hà Nội", "TP. Hồ Chí Minh", "Đà Nẵng", "Nha Trang")
FAMILY_NAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng")
MIDDLE_NAMES = ("Văn", "Thị", "Minh", "Thanh", "Ngọc", "Đức", "Hoài", "Quốc", "Thu", "Gia")
GIVEN_NAMES = (
    "An",
    "Bình",
    "Châu",
    "Dũng",
    "Giang",
    "Hà",
    "Hải",
    "Hạnh",
    "Hiếu",
    "Hoa",
    "Hùng",
    "Hương",
    "Khánh",
    "Lan",
    "Linh",
    "Long",
    "Mai",
    "Minh",
    "Nam",
    "Ngân",
    "Nhung",
    "Phong",
    "Phúc",
    "Quân",
    "Quỳnh",
    "Sơn",
    "Tâm",
    "Thảo",
    "Trang",
    "Trung",
    "Tuấn",
    "Vy",
    "Yến",
)

#: one login per role, printed by ``flask perks demo``
DEMO_LOGINS = (
    ("admin", "quantri", "Trần Quốc Bảo", "Ban Giám đốc", {Role.ADMIN, Role.EMPLOYEE}),
    ("hr", "nhansu", "Lê Thị Hồng Nhung", "Nhân sự", {Role.HR, Role.EMPLOYEE}),
    ("finance", "ketoan", "Phạm Minh Tuấn", "Tài chính - Kế toán", {Role.FINANCE, Role.EMPLOYEE}),
    (
        "finance2",
        "ketoan2",
        "Vũ Thu Hà",
        "Tài chính - Kế toán",
        {Role.FINANCE, Role.EMPLOYEE},
    ),
    ("manager", "quanly", "Nguyễn Đức Hải", "Kinh doanh", {Role.MANAGER, Role.EMPLOYEE}),
    ("redeemer", "letan", "Hoàng Ngọc Mai", "Chăm sóc khách hàng", {Role.REDEEMER, Role.EMPLOYEE}),
    ("employee", "nhanvien", "Nguyễn Văn An", "Kinh doanh", {Role.EMPLOYEE}),
)
PEOPLE_COUNT = 60


def demo_logins() -> list[tuple[str, str]]:
    return [(role, f"{local}@{DEMO_DOMAIN}") for role, local, *_ in DEMO_LOGINS]


def seed_demo(*, password: str = DEMO_PASSWORD, today: date | None = None) -> tuple[list, bool]:
    """Create the demo company if the database has no people yet.

    Returns the demo logins and whether anything was created (False: already seeded).

    Raises:
        RuntimeError: the app talks to the Stripe sandbox and it does not answer (checked
            before anything is written: the demo's customers pay there).
    """
    from perks.payments.stripe_gateway import uses_sandbox

    today = today or date.today()  # noqa: DTZ011 - a calendar date for hire dates
    rng = random.Random(2026)
    if uses_sandbox() and not db.session.scalar(select(func.count()).select_from(User)):
        from perks.demo_activity import wait_for_sandbox

        wait_for_sandbox()
    with transaction():
        if db.session.scalar(select(func.count()).select_from(User)):
            return demo_logins(), False
        departments = {name: Department(name=name) for name in DEPARTMENTS}
        db.session.add_all(departments.values())
        password_hash = hash_password(password)
        people: list[User] = []
        managers: dict[str, User] = {}
        for role, local, name, department, roles in DEMO_LOGINS:
            person = _person(
                rng, today, name, f"{local}@{DEMO_DOMAIN}", departments[department], len(people) + 1
            )
            person.password_hash = password_hash
            person.set_roles(roles)
            if role == "manager":
                managers[department] = person
            people.append(person)
        taken = {p.name for p in people}
        while len(people) < PEOPLE_COUNT:
            name = (
                f"{rng.choice(FAMILY_NAMES)} {rng.choice(MIDDLE_NAMES)} {rng.choice(GIVEN_NAMES)}"
            )
            if name in taken:
                continue
            taken.add(name)
            department = rng.choice(DEPARTMENTS[1:])
            email = f"nv{len(people) + 1:03d}@{DEMO_DOMAIN}"
            person = _person(rng, today, name, email, departments[department], len(people) + 1)
            person.password_hash = password_hash
            roles = {Role.EMPLOYEE}
            if department not in managers:
                roles.add(Role.MANAGER)
                managers[department] = person
            person.set_roles(roles)
            people.append(person)
        _spread_employment_types(people, rng)
        db.session.add_all(people)
        db.session.flush()
        for person in people:
            manager = managers.get(person.department.name if person.department else "")
            if manager is not None and manager is not person:
                person.manager_id = manager.id
        audit.record("demo.seeded", actor=None, people=len(people))
    seed_demo_catalog(today=today)
    from perks.referrals.services import ensure_default_links

    ensure_default_links()
    seed_demo_shop()
    if uses_sandbox():  # the customers pay through the sandbox's test helpers
        from perks.demo_activity import seed_demo_activity, seed_demo_rules

        seed_demo_rules(today)
        seed_demo_activity(app_ctx.app)
    return demo_logins(), True


def seed_demo_catalog(*, today: date) -> None:
    """Perks, codes, a draw and a few claims, made through the real catalog services."""
    from perks.catalog import claims, draws, services
    from perks.catalog.models import (
        Allocation,
        CodeMode,
        LimitPeriod,
        PerkCategory,
        PerkKind,
    )
    from perks.db import utcnow

    hr = db.session.scalar(select(User).where(User.email == f"nhansu@{DEMO_DOMAIN}"))
    sales = db.session.scalar(select(Department).where(Department.name == "Kinh doanh"))
    if hr is None or sales is None:
        raise RuntimeError("the demo people must be seeded before the catalog")
    catalog = [
        services.PerkData(
            title_vi="Giảm 20% đồ uống tại Highlands Coffee",
            title_en="20% off drinks at Highlands Coffee",
            partner_name="Highlands Coffee",
            category=PerkCategory.FOOD_DRINK,
            kind=PerkKind.DISCOUNT_CODE,
            value_vi="Giảm 20%",
            value_en="20% off",
            terms_vi="Áp dụng tại mọi cửa hàng, mỗi mã dùng một lần.",
            terms_en="At every store; each code works once.",
            code_mode=CodeMode.POOL,
            per_person_limit=1,
            limit_period=LimitPeriod.MONTH,
        ),
        services.PerkData(
            title_vi="Giá nhân viên: tour Hạ Long 2 ngày 1 đêm",
            title_en="Staff price: 2-day Ha Long Bay tour",
            partner_name="",
            category=PerkCategory.SERVICES,
            kind=PerkKind.INTERNAL_VOUCHER,
            value_vi="Giá nhân viên 1.500.000 ₫ (giá niêm yết 2.400.000 ₫)",
            value_en="Staff price 1,500,000 ₫ (list price 2,400,000 ₫)",
            code_mode=CodeMode.VOUCHER,
            total_stock=40,
            per_person_limit=2,
            limit_period=LimitPeriod.YEAR,
            min_tenure_days=90,
        ),
        services.PerkData(
            title_vi="Vé xem phim CGV mua 1 tặng 1",
            title_en="CGV cinema tickets: 2 for 1",
            partner_name="CGV Cinemas",
            category=PerkCategory.ENTERTAINMENT,
            value_vi="Mua 1 tặng 1",
            value_en="2 for the price of 1",
            code_mode=CodeMode.SHARED,
            shared_code="SENVANG-CGV",
            per_person_limit=2,
            limit_period=LimitPeriod.MONTH,
            ends_on=today + timedelta(days=60),
        ),
        services.PerkData(
            title_vi="Thẻ tập gym California Fitness giảm 30%",
            title_en="30% off California Fitness membership",
            partner_name="California Fitness & Yoga",
            category=PerkCategory.WELLNESS,
            value_vi="Giảm 30% gói 12 tháng",
            value_en="30% off a 12-month plan",
            code_mode=CodeMode.SHARED,
            shared_code="CFYOGA30",
            locations=("Hà Nội", "TP. Hồ Chí Minh"),
            employment_types=frozenset({EmploymentType.STAFF}),
        ),
        services.PerkData(
            title_vi="Khóa học tiếng Anh giao tiếp cho đội Kinh doanh",
            title_en="Business English course for the Sales team",
            partner_name="ILA Vietnam",
            category=PerkCategory.LEARNING,
            value_vi="Miễn phí 100%",
            value_en="Free",
            code_mode=CodeMode.VOUCHER,
            total_stock=10,
            department_ids=frozenset({sales.id}),
        ),
        services.PerkData(
            title_vi="Cuối tuần nghỉ dưỡng tại Phú Quốc cho 2 người",
            title_en="A weekend for two at a Phú Quốc resort",
            partner_name="Sen Vàng Resort Phú Quốc",
            category=PerkCategory.TRAVEL,
            kind=PerkKind.EXPERIENCE,
            value_vi="2 đêm, vé máy bay khứ hồi",
            value_en="2 nights with return flights",
            terms_vi="20 suất, bốc thăm công khai.",
            terms_en="20 seats, allocated by a public draw.",
            code_mode=CodeMode.VOUCHER,
            total_stock=20,
            allocation=Allocation.DRAW,
            min_tenure_days=180,
        ),
    ]
    perks = [services.create_perk(data, actor=hr) for data in catalog]
    codes = "\n".join(f"HL-{n:05d}-SV" for n in range(1, 201))
    services.import_codes(perks[0].id, codes, actor=hr)
    for perk in perks:
        services.publish_perk(perk.id, actor=hr)
    draws.open_draw(perks[-1].id, entries_close_at=utcnow() + timedelta(days=10), actor=hr)
    staff = list(
        db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.id).limit(30))
    )
    for person in staff[:25]:
        for perk in perks[:3]:
            try:
                claims.claim_perk(perk.id, person, today=today)
            except PerksError:
                continue  # not eligible or over the limit: the demo shows those reasons too
    for person in staff[1:16]:
        try:
            draws.enter_draw(perks[-1].id, person)
        except PerksError:
            continue


#: the storefront's shelves: slug, Vietnamese and English names
SHOP_CATEGORIES = (
    ("tour-trong-nuoc", "Tour trong nước", "Domestic tours"),
    ("khach-san-resort", "Khách sạn & resort", "Hotels & resorts"),
    ("trai-nghiem", "Trải nghiệm", "Experiences"),
)


def seed_demo_shop() -> None:
    """The travel company's storefront: shelves and products, in VND and one in USD."""
    from perks.shop.models import Product, ProductCategory, RedemptionMode

    with transaction():
        if db.session.scalar(select(func.count()).select_from(ProductCategory)):
            return
        shelves = {
            slug: ProductCategory(slug=slug, name_vi=vi, name_en=en, position=position)
            for position, (slug, vi, en) in enumerate(SHOP_CATEGORIES, start=1)
        }
        tours, stays, experiences = shelves.values()
        products = [
            Product(
                slug="tour-ha-long-2-ngay-1-dem",
                category=tours,
                name_vi="Tour Hạ Long 2 ngày 1 đêm",
                name_en="Ha Long Bay 2-day cruise",
                description_vi=(
                    "Du thuyền 4 sao, ngủ đêm trên vịnh, chèo kayak hang Luồn.\n"
                    "Khởi hành hằng ngày từ Hà Nội; đã gồm xe đưa đón và các bữa ăn."
                ),
                description_en=(
                    "A 4-star cruise with a night on the bay and kayaking at Luon Cave.\n"
                    "Daily departures from Hanoi; transfers and meals included."
                ),
                price_amount=2_400_000,
                staff_price_amount=1_500_000,
                max_quantity_per_order=10,
            ),
            Product(
                slug="tour-sa-pa-3-ngay-2-dem",
                category=tours,
                name_vi="Tour Sa Pa 3 ngày 2 đêm",
                name_en="Sa Pa 3-day trek",
                description_vi=(
                    "Đi bộ qua ruộng bậc thang Mường Hoa, ngủ nhà dân bản Tả Van, "
                    "cáp treo Fansipan."
                ),
                description_en=(
                    "Trek the Muong Hoa rice terraces, stay with a family in Ta Van and ride "
                    "the Fansipan cable car."
                ),
                price_amount=3_890_000,
                staff_price_amount=2_900_000,
                max_quantity_per_order=8,
            ),
            Product(
                slug="mekong-delta-day-trip",
                category=tours,
                name_vi="Tour miền Tây 1 ngày: Mỹ Tho - Bến Tre",
                name_en="Mekong Delta day trip",
                description_vi=(
                    "Dành cho khách quốc tế, thanh toán bằng đô la Mỹ. Đón tại TP. Hồ Chí Minh, "
                    "đi thuyền trên sông Tiền, thăm lò kẹo dừa, ăn trưa đặc sản."
                ),
                description_en=(
                    "For international guests, paid in US dollars. Pick-up in Ho Chi Minh City, "
                    "a boat trip on the Tien River, a coconut candy workshop and a local lunch."
                ),
                price_amount=4_900,
                currency="USD",
                staff_price_amount=3_500,
                max_quantity_per_order=6,
            ),
            Product(
                slug="dem-nghi-sen-vang-resort-phu-quoc",
                category=stays,
                name_vi="Đêm nghỉ Sen Vàng Resort Phú Quốc",
                name_en="A night at Sen Vàng Resort Phú Quốc",
                description_vi="Phòng hướng biển cho 2 người, gồm bữa sáng và hồ bơi vô cực.",
                description_en="A sea-view room for two with breakfast and the infinity pool.",
                price_amount=3_200_000,
                staff_price_amount=2_200_000,
                max_quantity_per_order=5,
            ),
            Product(
                slug="phong-deluxe-sen-vang-da-lat",
                category=stays,
                name_vi="Phòng Deluxe Khách sạn Sen Vàng Đà Lạt (1 đêm)",
                name_en="Deluxe room at Sen Vàng Hotel Đà Lạt (1 night)",
                description_vi="Gần chợ Đà Lạt và hồ Xuân Hương, gồm bữa sáng cho 2 người.",
                description_en="Close to the Da Lat market and Xuan Huong Lake; breakfast for two.",
                price_amount=1_650_000,
                staff_price_amount=1_100_000,
                max_quantity_per_order=5,
            ),
            Product(
                slug="ve-tham-quan-ba-na-hills",
                category=experiences,
                name_vi="Vé tham quan Bà Nà Hills",
                name_en="Ba Na Hills admission",
                description_vi="Vé cáp treo khứ hồi, Cầu Vàng và khu vui chơi Fantasy Park.",
                description_en="Return cable car, the Golden Bridge and the Fantasy Park.",
                price_amount=900_000,
                staff_price_amount=750_000,
                redemption_mode=RedemptionMode.COUNTER,
            ),
            Product(
                slug="show-ky-uc-hoi-an",
                category=experiences,
                name_vi="Vé show Ký ức Hội An",
                name_en="Hoi An Memories show",
                description_vi="Ghế hạng Eco, suất diễn 20:00 tại đảo Ký ức Hội An.",
                description_en="Eco seats for the 8 pm show on Hoi An Memories Island.",
                price_amount=600_000,
                max_quantity_per_order=10,
            ),
            Product(
                slug="the-qua-tang-500000",
                name_vi="Thẻ quà tặng 500.000 ₫",
                name_en="Gift card 500,000 ₫",
                description_vi=(
                    "Gửi qua e-mail ngay khi thanh toán; dùng cho mọi tour và khách sạn "
                    "Sen Vàng trong 12 tháng."
                ),
                description_en=(
                    "Sent by e-mail as soon as it is paid; good for any Sen Vàng tour or hotel "
                    "for 12 months."
                ),
                price_amount=500_000,
                redemption_mode=RedemptionMode.ON_PAYMENT,
                max_quantity_per_order=5,
            ),
            Product(
                slug="tour-con-dao-2-ngay-1-dem",
                category=tours,
                name_vi="Tour Côn Đảo 2 ngày 1 đêm",
                name_en="Con Dao 2-day tour",
                description_vi="Tạm ngừng mở bán trong mùa mưa bão.",
                description_en="Not on sale during the storm season.",
                price_amount=5_500_000,
                staff_price_amount=4_200_000,
                active=False,
            ),
        ]
        db.session.add_all([*shelves.values(), *products])


def _person(
    rng: random.Random, today: date, name: str, email: str, department: Department, number: int
) -> User:
    birthday = date(2000, 1, 1) + timedelta(days=rng.randrange(366))
    return User(
        email=email,
        name=name,
        employee_number=f"SV{number:05d}",
        department=department,
        location=rng.choice(LOCATIONS),
        employment_type=EmploymentType.STAFF,
        hire_date=today - timedelta(days=rng.randrange(10, 3650)),
        birth_month=birthday.month,
        birth_day=birthday.day,
        locale="vi" if rng.random() < 0.8 else "en",
        session_token=new_session_token(),
    )


def _spread_employment_types(people: list[User], rng: random.Random) -> None:
    # The role logins stay staff; the rest include the operating chain.
    others = people[len(DEMO_LOGINS) :]
    for person, kind in zip(
        rng.sample(others, 12),
        [EmploymentType.CONTRACTOR] * 5
        + [EmploymentType.PARTNER] * 4
        + [EmploymentType.SUPPLIER] * 3,
        strict=True,
    ):
        person.employment_type = kind
