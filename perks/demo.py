"""A believable Vietnamese company for demos and screenshots: ``flask perks demo``."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from flask.globals import app_ctx
from sqlalchemy import func, select, update

from perks import audit, images
from perks.audit import AuditEvent
from perks.auth.services import check_password_rules, hash_password
from perks.commissions.summaries import rebuild as rebuild_summaries
from perks.db import transaction, utcnow
from perks.demo_activity import (
    HISTORY_DAYS,
    OFFICE_HOURS,
    Timeline,
    seed_demo_activity,
    seed_demo_ratings,
    seed_demo_rules,
    timeline,
    wait_for_sandbox,
)
from perks.demo_chain import seed_demo_chain_rules
from perks.errors import PerksError
from perks.extensions import db
from perks.feedback.models import Topic
from perks.feedback.surveys_demo import seed_demo_surveys
from perks.i18n import company_today, day_start
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

#: the demo's pictures: PNGs drawn as SVG beside them (``make demo-images`` renders them)
DEMO_IMAGES = Path(__file__).parent / "demo_images"
#: the picture of each demo perk, in the catalog's order
PERK_PICTURES = ("coffee", "ha-long", "cinema", "gym", "course", "ba-na", "phu-quoc")
#: the picture of each demo product, by its slug
PRODUCT_PICTURES = {
    "tour-ha-long-2-ngay-1-dem": "ha-long",
    "tour-sa-pa-3-ngay-2-dem": "sa-pa",
    "mekong-delta-day-trip": "mekong",
    "dem-nghi-sen-vang-resort-phu-quoc": "phu-quoc",
    "phong-deluxe-sen-vang-da-lat": "da-lat",
    "ve-tham-quan-ba-na-hills": "ba-na",
    "show-ky-uc-hoi-an": "hoi-an",
    "the-qua-tang-500000": "gift-card",
    "tour-con-dao-2-ngay-1-dem": "con-dao",
}


def demo_picture(name: str) -> bytes:
    """The PNG bytes of one of the demo's pictures (``DEMO_IMAGES``)."""
    return (DEMO_IMAGES / f"{name}.png").read_bytes()


def demo_logins() -> list[tuple[str, str]]:
    return [(role, f"{local}@{DEMO_DOMAIN}") for role, local, *_ in DEMO_LOGINS]


def seed_demo(*, password: str = DEMO_PASSWORD, today: date | None = None) -> tuple[list, bool]:
    """Create the demo company if the database has no people yet.

    Returns the demo logins and whether anything was created (False: already seeded).

    Raises:
        ValidationFailed: ``password`` breaks the rules every password follows (checked
            first, seeded or not).
        SandboxNotAnswering: the app talks to the Stripe sandbox and it does not answer (checked
            before anything is written: the demo's customers pay there).
    """
    from perks.payments.stripe_gateway import uses_sandbox

    check_password_rules(password)  # the rule of the invitation, reset and change pages

    # the gifts' day is the company's (its birthday card shows on the company's today)
    gifts_day = today or company_today()
    today = today or date.today()  # noqa: DTZ011 - a calendar date for hire dates
    rng = random.Random(2026)
    started = utcnow()
    if uses_sandbox() and not db.session.scalar(select(func.count()).select_from(User)):
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
    seed_demo_brand(actor=people[0])
    seed_demo_occasions(actor=next(p for p in people if Role.HR in p.roles), today=today)
    line = timeline(random.Random(2027))
    seed_demo_catalog(today=today, line=line)
    seed_demo_gifts(today=gifts_day)
    seed_demo_points(today=gifts_day)
    seed_demo_awards(today=gifts_day)
    seed_demo_feedback(today=gifts_day)
    seed_demo_surveys(today=gifts_day)
    from perks.referrals.services import ensure_default_links

    ensure_default_links()
    seed_demo_shop()
    if uses_sandbox():  # the customers pay through the sandbox's test helpers
        seed_demo_rules(today)
        seed_demo_chain_rules(today, HISTORY_DAYS)
    date_the_setup(line, since=started)
    open_the_next_draw(line)
    if uses_sandbox():
        seed_demo_activity(app_ctx.app)
        seed_demo_leaver()
    seed_demo_ratings(app_ctx.app, logins=dict(demo_logins()))
    # The demo dated its ledger entries back past the ORM (date_order_step): the reports'
    # day-by-day summaries are summed again from the entries.
    rebuild_summaries()
    return demo_logins(), True


def seed_demo_leaver() -> User | None:
    """One leaver with a final settlement: someone paid in the demo's payout batch (not a
    demo login) leaves today, so the batch marks their line "final settlement"; the daily
    task's run vests what was not yet payable, deactivates them and e-mails their final
    statement, and the leavers' task ends their unused claims (run here, so the demo does not
    change under its first visitor a minute after it starts). Returns the leaver, or None when
    the batch paid nobody else."""
    from perks.catalog.leavers import end_leavers_claims
    from perks.commissions.leavers import settle_leavers
    from perks.finance.models import LineStatus, PayoutLine

    logins = {email for _role, email in demo_logins()}
    candidates = db.session.scalars(
        select(User)
        .join(PayoutLine, PayoutLine.user_id == User.id)
        .where(PayoutLine.status == LineStatus.INCLUDED, User.active.is_(True))
        .order_by(User.id)
    ).all()
    leaver = next((person for person in candidates if person.email not in logins), None)
    if leaver is None:
        return None
    with transaction():
        leaver.leaving_date = company_today()
        audit.record(
            "people.updated", actor=None, target=leaver, fields=["leaving_date"], demo=True
        )
    settle_leavers()
    end_leavers_claims()
    return leaver


def seed_demo_brand(*, actor: User) -> None:
    """The demo company's brand, as its administrator would set it on /settings/brand: name,
    logo (``demo_images/brand/logo.svg``, rendered by ``make demo-images``), colours,
    storefront tagline, contact and legal footer."""
    from perks.branding.services import BrandData, update_brand

    update_brand(
        BrandData(
            company_name="Du lịch Sen Vàng",
            primary_colour="#0b6e4f",
            accent_colour="#b45309",
            tagline_vi="Tour, nghỉ dưỡng và trải nghiệm khắp Việt Nam, đặt trực tuyến.",
            tagline_en="Tours, resorts and experiences across Viet Nam, booked online.",
            contact_email=f"lienhe@{DEMO_DOMAIN}",
            contact_phone="028 3822 2026",
            contact_address="12 Nguyễn Huệ, Phường Sài Gòn, TP. Hồ Chí Minh",
            legal_footer_vi="Công ty TNHH Du lịch Sen Vàng · MST 0312345678 · "
            "Giấy phép lữ hành quốc tế số 79-2026/TCDL-GP LHQT.",
            legal_footer_en="Sen Vang Travel Co., Ltd. · Tax code 0312345678 · "
            "International travel licence 79-2026/TCDL-GP LHQT.",
        ),
        actor=actor,
        logo=(DEMO_IMAGES / "brand" / "logo.png").read_bytes(),
    )


def seed_demo_occasions(*, actor: User, today: date) -> None:
    """The Vietnamese calendar's occasions, the company's founding day (ten years ago this
    spring), its anniversary milestones and one occasion of its own, through the services
    HR's page uses."""
    from perks.recognition import services as occasions
    from perks.recognition.models import OccasionKind

    occasions.add_vietnamese_calendar(actor=actor)
    occasions.update_settings(date(today.year - 10, 3, 15), (1, 3, 5, 10), today=today, actor=actor)
    occasions.create_occasion(
        occasions.OccasionData(
            "Ngày hội gia đình Sen Vàng", "Sen Vàng family day", OccasionKind.SOLAR, 6, 28
        ),
        actor=actor,
    )


def seed_demo_gifts(*, today: date) -> None:
    """What HR records for gift programmes (gender, children under 15, on a random of its
    own so the rest of the demo stays as it was), a birthday today for the demo employee,
    five gift perks and their programmes (Tết, 8/3 with a budget per department, birthdays,
    1/6 for parents of children under 15, work anniversaries at the milestones; the budgets of
    the last two run out),
    through the services HR's pages use; then today's run of the granting job."""
    from perks.catalog import services as catalog
    from perks.catalog.models import CodeMode, LimitPeriod, PerkCategory, PerkKind
    from perks.money import Money
    from perks.people.models import Gender
    from perks.recognition import gifts
    from perks.recognition.models import Occasion

    rng = random.Random(2028)
    hr = db.session.scalar(select(User).where(User.email == f"nhansu@{DEMO_DOMAIN}"))
    employee = db.session.scalar(select(User).where(User.email == f"nhanvien@{DEMO_DOMAIN}"))
    if hr is None or employee is None:
        raise RuntimeError("the demo people must be seeded before the gifts")
    with transaction():
        for person in db.session.scalars(select(User).order_by(User.id)):
            person.gender = Gender.FEMALE if rng.random() < 0.5 else Gender.MALE
            person.children_under_15 = rng.choice((0, 0, 1, 2))
        employee.gender = Gender.MALE
        employee.birth_month, employee.birth_day = today.month, today.day
    gift = {
        "tet": catalog.PerkData(
            title_vi="Hộp quà Tết Sen Vàng",
            title_en="Sen Vàng Tết hamper",
            kind=PerkKind.GIFT,
            category=PerkCategory.FOOD_DRINK,
            value_vi="Hộp quà 800.000 ₫",
            value_en="An 800,000 ₫ hamper",
            terms_vi="Nhận tại lễ tân văn phòng bằng mã phiếu.",
            terms_en="Collect it at the office reception with the voucher number.",
            code_mode=CodeMode.VOUCHER,
            per_person_limit=None,
            limit_period=LimitPeriod.YEAR,
        ),
        "womens_day": catalog.PerkData(
            title_vi="Phiếu quà tặng hoa 8/3",
            title_en="Flowers voucher for 8 March",
            kind=PerkKind.GIFT,
            category=PerkCategory.SHOPPING,
            partner_name="Hoa Yêu Thương",
            value_vi="Phiếu 300.000 ₫",
            value_en="A 300,000 ₫ voucher",
            code_mode=CodeMode.POOL,
            per_person_limit=None,
            limit_period=LimitPeriod.YEAR,
        ),
        "childrens_day": catalog.PerkData(
            title_vi="Quà 1/6 cho con",
            title_en="A 1 June present for your children",
            kind=PerkKind.GIFT,
            category=PerkCategory.SHOPPING,
            partner_name="Nhà sách Sen Vàng",
            value_vi="Phiếu sách và đồ chơi 250.000 ₫",
            value_en="A 250,000 ₫ books and toys voucher",
            code_mode=CodeMode.VOUCHER,
            per_person_limit=None,
            limit_period=LimitPeriod.YEAR,
        ),
        "work_anniversary": catalog.PerkData(
            title_vi="Bữa tối kỷ niệm ngày vào làm",
            title_en="A work anniversary dinner",
            kind=PerkKind.GIFT,
            category=PerkCategory.FOOD_DRINK,
            value_vi="Phiếu ăn tối 1.000.000 ₫ cho hai người",
            value_en="A 1,000,000 ₫ dinner for two",
            code_mode=CodeMode.VOUCHER,
            per_person_limit=None,
            limit_period=LimitPeriod.YEAR,
        ),
        "birthday": catalog.PerkData(
            title_vi="Bánh sinh nhật ABC Bakery",
            title_en="ABC Bakery birthday cake",
            kind=PerkKind.GIFT,
            category=PerkCategory.FOOD_DRINK,
            partner_name="ABC Bakery",
            value_vi="Một bánh kem 350.000 ₫",
            value_en="A 350,000 ₫ cake",
            code_mode=CodeMode.SHARED,
            shared_code="SENVANG-HPBD",
            per_person_limit=None,
            limit_period=LimitPeriod.YEAR,
        ),
    }
    perks = {key: catalog.create_perk(data, actor=hr) for key, data in gift.items()}
    for perk in perks.values():
        catalog.set_perk_image(perk.id, demo_picture("gift-card"), actor=hr)
    codes = "\n".join(f"HOA83-{n:04d}" for n in range(1, PEOPLE_COUNT + 1))
    catalog.import_codes(perks["womens_day"].id, codes, actor=hr)
    for perk in perks.values():
        catalog.publish_perk(perk.id, actor=hr)
    occasion = {
        o.key: o.id for o in db.session.scalars(select(Occasion).where(Occasion.key.in_(gift)))
    }
    departments = {d.name: d.id for d in db.session.scalars(select(Department))}
    programmes = [
        gifts.ProgrammeData(
            name_vi="Quà Tết Nguyên Đán",
            name_en="Lunar New Year gift",
            occasion_id=occasion["tet"],
            perk_id=perks["tet"].id,
            days_ahead=7,
            message_vi="Chúc bạn và gia đình năm mới an khang thịnh vượng!",
            message_en="A happy and prosperous new year to you and your family!",
            unit_cost=Money(800_000, "VND"),
            budget=Money(800_000 * PEOPLE_COUNT, "VND"),
            employment_types=("staff", "contractor"),
        ),
        gifts.ProgrammeData(
            name_vi="Hoa tặng chị em ngày 8/3",
            name_en="Flowers for 8 March",
            occasion_id=occasion["womens_day"],
            perk_id=perks["womens_day"].id,
            days_ahead=1,
            message_vi="Chúc chị em ngày 8/3 luôn xinh đẹp và hạnh phúc!",
            message_en="Happy International Women's Day!",
            unit_cost=Money(300_000, "VND"),
            budget=Money(9_000_000, "VND"),
            gender=Gender.FEMALE,
            department_budgets={departments["Tài chính - Kế toán"]: Money(1_800_000, "VND")},
        ),
        gifts.ProgrammeData(
            name_vi="Quà sinh nhật",
            name_en="Birthday gift",
            occasion_id=occasion["birthday"],
            perk_id=perks["birthday"].id,
            days_ahead=0,
            message_vi="Chúc mừng sinh nhật! Cảm ơn bạn đã đồng hành cùng Sen Vàng.",
            message_en="Happy birthday! Thank you for being part of Sen Vàng.",
            unit_cost=Money(350_000, "VND"),
            budget=None,
        ),
        # the budgets of these two run out before everyone in the audience has theirs
        gifts.ProgrammeData(
            name_vi="Quà 1/6 cho con",
            name_en="Children's Day present",
            occasion_id=occasion["childrens_day"],
            perk_id=perks["childrens_day"].id,
            days_ahead=3,
            message_vi="Chúc các con ngày 1/6 thật vui!",
            message_en="A happy Children's Day to your children!",
            unit_cost=Money(250_000, "VND"),
            budget=Money(5_000_000, "VND"),
            requires_children=True,
        ),
        gifts.ProgrammeData(
            name_vi="Kỷ niệm ngày vào làm",
            name_en="Work anniversary dinner",
            occasion_id=occasion["work_anniversary"],
            perk_id=perks["work_anniversary"].id,
            days_ahead=0,
            message_vi="Cảm ơn bạn đã gắn bó cùng Sen Vàng!",
            message_en="Thank you for your years with Sen Vàng!",
            unit_cost=Money(1_000_000, "VND"),
            budget=Money(8_000_000, "VND"),
            department_budgets={departments["Vận hành tour"]: Money(2_000_000, "VND")},
        ),
    ]
    for data in programmes:
        gifts.create_programme(data, actor=hr)
    gifts.grant_due_gifts(today)


def seed_demo_awards(*, today: date) -> None:
    """Two awards HR defined (one with a gift perk, both with points), a year of kudos and
    monthly awards before this month (``perks.demo_recognition``), this month's kudos
    (``DEMO_KUDOS``) and the demo manager's nominations of their team this month: the demo
    employee's and a colleague's approved (the gift granted), one pending in HR's queue, one
    declined with a reason; through the services the pages use."""
    from perks.catalog import services as catalog
    from perks.catalog.models import CodeMode, LimitPeriod, PerkCategory, PerkKind
    from perks.demo_recognition import seed_a_year_of_recognition
    from perks.recognition import awards

    hr = db.session.scalar(select(User).where(User.email == f"nhansu@{DEMO_DOMAIN}"))
    manager = db.session.scalar(select(User).where(User.email == f"quanly@{DEMO_DOMAIN}"))
    employee = db.session.scalar(select(User).where(User.email == f"nhanvien@{DEMO_DOMAIN}"))
    if hr is None or manager is None or employee is None:
        raise RuntimeError("the demo people must be seeded before the awards")
    voucher = catalog.create_perk(
        catalog.PerkData(
            title_vi="Phiếu mua sắm 1.000.000 ₫",
            title_en="A 1,000,000 ₫ shopping voucher",
            kind=PerkKind.GIFT,
            category=PerkCategory.SHOPPING,
            value_vi="Phiếu 1.000.000 ₫",
            value_en="A 1,000,000 ₫ voucher",
            terms_vi="Dùng tại các cửa hàng Sen Vàng bằng mã phiếu.",
            terms_en="Use it in Sen Vàng's shops with the voucher number.",
            code_mode=CodeMode.VOUCHER,
            per_person_limit=None,
            limit_period=LimitPeriod.YEAR,
        ),
        actor=hr,
    )
    catalog.set_perk_image(voucher.id, demo_picture("gift-card"), actor=hr)
    catalog.publish_perk(voucher.id, actor=hr)
    month = awards.create_award(
        awards.AwardData(
            name_vi="Nhân viên xuất sắc tháng",
            name_en="Employee of the month",
            description_vi="Dành cho người có đóng góp nổi bật nhất của tháng.",
            description_en="For the month's most outstanding contribution.",
            perk_id=voucher.id,
            points=200,
        ),
        actor=hr,
    )
    idea = awards.create_award(
        awards.AwardData(
            name_vi="Sáng kiến của quý",
            name_en="Idea of the quarter",
            description_vi="Một sáng kiến giúp khách hàng hoặc đồng nghiệp tốt hơn.",
            description_en="An idea that made things better for customers or colleagues.",
            perk_id=None,
            points=300,
        ),
        actor=hr,
    )
    # the year before this month: kudos, allowances and a monthly award
    seed_a_year_of_recognition(hr=hr, employee=employee, today=today)
    give_this_months_kudos(today=today)
    team = awards.team(manager)
    colleagues = [p for p in team if p.id != employee.id]
    approved = [
        awards.nominate(
            month.id, employee.id, "Đạt doanh số cao nhất phòng trong tháng.", actor=manager
        ),
        awards.nominate(
            idea.id, colleagues[0].id, "Đề xuất quy trình đặt hàng nhanh hơn.", actor=manager
        ),
    ]
    for nomination in approved:
        awards.approve(nomination.id, actor=hr, today=today)
    declined = awards.nominate(idea.id, colleagues[1].id, "Sắp xếp lại kho mẫu.", actor=manager)
    awards.decline(declined.id, "Đề cử lại khi sáng kiến đã được áp dụng.", actor=hr)
    awards.nominate(
        month.id, colleagues[2].id, "Hỗ trợ khách hàng lớn suốt dịp cuối năm.", actor=manager
    )


#: the company's values, Vietnamese and English
COMPANY_VALUES = (
    ("Tận tâm với khách hàng", "Customer care"),
    ("Sáng tạo", "Creativity"),
    ("Đồng đội", "Teamwork"),
    ("Chính trực", "Integrity"),
)
#: the demo's kudos this month: (giver's e-mail name or index, recipient's, points, value, message)
DEMO_KUDOS = (
    ("quanly", "nhanvien", 30, 0, "Cảm ơn em đã ở lại hỗ trợ khách hàng đến tối thứ Sáu."),
    (10, "nhanvien", 20, 2, "Cảm ơn bạn đã giúp mình chuẩn bị buổi demo!"),
    ("nhanvien", 11, 15, 1, "Ý tưởng gói ưu đãi mới rất hay, cảm ơn bạn!"),
    ("nhansu", 12, 25, 2, "Cảm ơn anh đã hướng dẫn nhân viên mới tuần này."),
    (13, "quanly", 10, 3, "Cảm ơn chị đã minh bạch trong buổi họp quý."),
    (14, 15, 20, 0, "Cảm ơn bạn đã trực hộ ca cuối tuần."),
)


#: the demo's feedback: topic, subject, text, department (None: HR), the owner's answer
DEMO_FEEDBACK = (
    (
        Topic.TOOL,
        "Máy in tầng 3 hay kẹt giấy",
        "Tuần nào cũng kẹt vài lần.",
        "Công nghệ thông tin",
        "Đã thay máy in mới từ thứ Hai.",
    ),
    (
        Topic.TOOL,
        "VPN chậm khi làm việc ở nhà",
        "Buổi sáng rất khó kết nối.",
        "Công nghệ thông tin",
        "Đã nâng băng thông máy chủ VPN gấp đôi.",
    ),
    (
        Topic.PROCESS,
        "Duyệt báo giá tour mất nhiều ngày",
        "Khách chờ lâu nên hủy.",
        "Kinh doanh",
        "Báo giá dưới 50 triệu giờ chỉ cần trưởng nhóm duyệt.",
    ),
    (
        Topic.POLICY,
        "Chính sách làm thêm giờ chưa rõ",
        "Không biết khi nào được tính.",
        None,
        "Đã đăng hướng dẫn làm thêm giờ trên trang nội bộ.",
    ),
    (
        Topic.PERK,
        "Thêm lựa chọn quà sinh nhật",
        "Ai cũng nhận một loại quà.",
        None,
        "Từ quý sau có ba loại quà để chọn.",
    ),
    (
        Topic.SERVICE,
        "Hỗ trợ khách đoàn rất tốt",
        "Cảm ơn nhóm chăm sóc khách hàng.",
        "Kinh doanh",
        "Cảm ơn bạn, đã chuyển lời khen tới cả nhóm.",
    ),
    (
        Topic.PROCESS,
        "Thanh toán công tác phí chậm",
        "Phải chờ hơn một tháng.",
        None,
        "Công tác phí giờ được trả cùng kỳ lương gần nhất.",
    ),
)


def seed_demo_feedback(*, today: date) -> None:
    """Four months of the feedback box: owners for two departments, named and anonymous items
    acknowledged and answered (most within target, some late, some published), one declined,
    a few still open, and the demo employee's own. Through the services, then dated back
    over working days (the demo's only rewrite: its dates)."""
    from perks.feedback import items as feedback
    from perks.feedback.models import FeedbackItem, FeedbackMessage
    from perks.feedback.working_days import add_working_days, is_working_day

    hr = db.session.scalar(select(User).where(User.email == f"nhansu@{DEMO_DOMAIN}"))
    employee = db.session.scalar(select(User).where(User.email == f"nhanvien@{DEMO_DOMAIN}"))
    if hr is None or employee is None:
        raise RuntimeError("the demo people must be seeded before the feedback")
    rng = random.Random(2032)
    departments = {d.name: d for d in db.session.scalars(select(Department))}
    for name in ("Kinh doanh", "Công nghệ thông tin"):
        owner = next(
            p
            for p in db.session.scalars(
                select(User).where(User.department_id == departments[name].id).order_by(User.id)
            )
            if p.has_role(Role.MANAGER) and not p.has_role(Role.ADMIN)
        )
        feedback.set_desk(departments[name].id, feedback.DeskData(owner.id, 2, 10), hr)
    people = list(db.session.scalars(select(User).order_by(User.id)))
    for number in range(28):
        topic, subject, text, department, reply = DEMO_FEEDBACK[number % len(DEMO_FEEDBACK)]
        sender = employee if number in (4, 13) else rng.choice(people)
        received = today - timedelta(days=rng.randint(2, 120))
        while not is_working_day(received):
            received -= timedelta(days=1)
        department_id = departments[department].id if department else None
        item = feedback.send_feedback(
            sender, department_id, topic, subject, text, anonymous=number % 3 == 0
        ).item
        owner = item.owner or hr
        acknowledged = min(add_working_days(received, rng.choice((0, 1, 1, 2, 3))), today)
        answered = add_working_days(acknowledged, rng.choice((2, 4, 6, 8, 9, 12)))
        if acknowledged <= today and number != 5:
            feedback.acknowledge(item.id, owner)
        if number == 5:
            feedback.decline(item.id, owner, "Việc này do công ty lữ hành đối tác quyết định.")
        elif answered <= today:
            feedback.answer(item.id, owner, reply, publish=number % 2 == 0)
        with transaction():
            dated = db.session.get(FeedbackItem, item.id)
            assert dated is not None
            dated.received_on = received
            dated.acknowledged_on = dated.acknowledged_on and acknowledged
            dated.answered_on = dated.answered_on and answered
            dated.closed_on = dated.closed_on and acknowledged
            for message in db.session.scalars(
                select(FeedbackMessage).where(FeedbackMessage.item_id == item.id)
            ):
                message.written_on = answered
            # the job has told the owners of what came (a real run would have)
            dated.owner_told = True


def seed_demo_points(*, today: date) -> None:
    """Kudos and points: HR's settings (allowances per role, the per-pair limit, a point's
    worth), the company values, two rewards priced in points, a work anniversary programme
    that gives points, through the services the pages use (the kudos come with the awards:
    ``seed_demo_awards``)."""
    from perks.catalog import services as catalog
    from perks.catalog.models import CodeMode, LimitPeriod, PerkCategory
    from perks.money import Money
    from perks.recognition import gifts, kudos
    from perks.recognition.models import Occasion

    hr = db.session.scalar(select(User).where(User.email == f"nhansu@{DEMO_DOMAIN}"))
    if hr is None:
        raise RuntimeError("the demo people must be seeded before the points")
    kudos.update_points_settings(
        kudos.PointsSettingsData(
            monthly_allowance=100,
            role_allowances={Role.MANAGER.value: 200},
            pair_monthly_limit=50,
            point_value=1_000,
        ),
        actor=hr,
    )
    for vi, en in COMPANY_VALUES:
        kudos.create_value(kudos.ValueData(vi, en), actor=hr)
    rewards = [
        catalog.PerkData(
            title_vi="Một buổi chiều nghỉ phép",
            title_en="An afternoon off",
            category=PerkCategory.WELLNESS,
            value_vi="Nửa ngày nghỉ có lương",
            value_en="Half a paid day off",
            code_mode=CodeMode.VOUCHER,
            per_person_limit=1,
            limit_period=LimitPeriod.MONTH,
            points_price=150,
        ),
        catalog.PerkData(
            title_vi="Cà phê cho cả nhóm",
            title_en="Coffee for the team",
            category=PerkCategory.FOOD_DRINK,
            partner_name="Cộng Cà Phê",
            value_vi="Phiếu 200.000 ₫",
            value_en="A 200,000 ₫ voucher",
            code_mode=CodeMode.VOUCHER,
            per_person_limit=None,
            points_price=40,
        ),
    ]
    for data in rewards:
        perk = catalog.create_perk(data, actor=hr)
        catalog.set_perk_image(perk.id, demo_picture("coffee"), actor=hr)
        catalog.publish_perk(perk.id, actor=hr)
    anniversary = db.session.scalar(select(Occasion).where(Occasion.key == "work_anniversary"))
    if anniversary is not None:
        gifts.create_programme(
            gifts.ProgrammeData(
                name_vi="Điểm thưởng kỷ niệm ngày vào làm",
                name_en="Work anniversary points",
                occasion_id=anniversary.id,
                perk_id=None,
                points=200,
                days_ahead=0,
                message_vi="Cảm ơn bạn đã gắn bó cùng Sen Vàng!",
                message_en="Thank you for your years with Sen Vàng!",
                unit_cost=Money(0, "VND"),
                budget=Money(200_000 * PEOPLE_COUNT, "VND"),
            ),
            actor=hr,
        )


def give_this_months_kudos(*, today: date) -> None:
    """``DEMO_KUDOS``, given ``today`` (some to the demo employee, who can spend them)."""
    from perks.recognition import kudos

    people = list(db.session.scalars(select(User).order_by(User.id)))
    by_name = {v.name_vi: v for v in kudos.values(active_only=True)}
    ordered = [by_name[vi] for vi, _ in COMPANY_VALUES]

    def who(key: str | int) -> User:
        if isinstance(key, int):
            return people[key]
        return next(p for p in people if p.email == f"{key}@{DEMO_DOMAIN}")

    for giver, recipient, amount, value, message in DEMO_KUDOS:
        kudos.give_kudos(
            who(giver), who(recipient).id, amount, ordered[value].id, message, today=today
        )


def date_the_setup(line: Timeline, *, since: datetime) -> None:
    """What the seed wrote from ``since`` (the real clock) and did not date itself (the
    company, its catalog, shop, links and rules, and their audit events) is dated when the
    company started with Perks, a fortnight before the demo's history; the departments and
    people joined a fortnight before the year of kudos (``perks.demo_recognition``), those
    hired since then on their first day. Claims, draws, orders and kudos keep their own
    dates."""
    from perks.catalog.models import Perk
    from perks.commissions.models import CommissionRule
    from perks.demo_recognition import past_months
    from perks.referrals.models import ReferralLink
    from perks.shop.models import Product, ProductCategory

    zone = line.zone
    start = datetime.combine(line.day(0) - timedelta(days=14), time(9), zone).astimezone(UTC)
    first_month = past_months(line.day(line.days))[0].first
    joined_perks = datetime.combine(first_month - timedelta(days=14), time(9), zone)
    people_start = min(start, joined_perks.astimezone(UTC))
    with transaction():
        db.session.execute(
            update(Department)
            .where(Department.created_at >= since)
            .values(created_at=people_start, updated_at=people_start)
            .execution_options(synchronize_session=False)
        )
        for model in (Perk, Product, ProductCategory, ReferralLink, CommissionRule):
            db.session.execute(
                update(model)
                .where(model.created_at >= since)
                .values(created_at=start, updated_at=start)
                .execution_options(synchronize_session=False)
            )
        for person in db.session.scalars(select(User).where(User.created_at >= since)):
            joined = people_start
            if person.hire_date is not None:
                first_day = datetime.combine(person.hire_date, time(8), zone).astimezone(UTC)
                joined = max(people_start, min(first_day, line.latest))
            person.created_at = person.updated_at = joined
        db.session.execute(
            update(AuditEvent)
            .where(AuditEvent.created_at >= since)
            .values(created_at=start)
            .execution_options(synchronize_session=False)
        )


def seed_demo_catalog(*, today: date, line: Timeline) -> None:
    """Perks, codes, six months of claims (many used at the counter) and last quarter's
    finished draw for the resort weekend, made through the real catalog services and dated
    on ``line``."""
    from perks.catalog import services
    from perks.catalog.models import (
        Allocation,
        CodeMode,
        LimitPeriod,
        Perk,
        PerkCategory,
        PerkKind,
    )

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
        # an offer of this week only (the claim reminder's example, below)
        services.PerkData(
            title_vi="Vé Bà Nà Hills giá nhân viên, chỉ trong tuần này",
            title_en="Ba Na Hills tickets at staff price, this week only",
            partner_name="Sun World Ba Na Hills",
            category=PerkCategory.TRAVEL,
            value_vi="Giảm 40% vé cáp treo",
            value_en="40% off cable car tickets",
            code_mode=CodeMode.VOUCHER,
            per_person_limit=1,
            ends_on=today + timedelta(days=REMINDER_EXAMPLE_DAYS_LEFT),
        ),
        services.PerkData(
            title_vi="Cuối tuần nghỉ dưỡng tại Phú Quốc cho 2 người",
            title_en="A weekend for two at a Phú Quốc resort",
            partner_name="Sen Vàng Resort Phú Quốc",
            category=PerkCategory.TRAVEL,
            kind=PerkKind.EXPERIENCE,
            value_vi="2 đêm, vé máy bay khứ hồi",
            value_en="2 nights with return flights",
            terms_vi="10 suất mỗi đợt, bốc thăm công khai.",
            terms_en="10 seats a round, allocated by a public draw.",
            code_mode=CodeMode.VOUCHER,
            total_stock=DRAW_SEATS,
            allocation=Allocation.DRAW,
            min_tenure_days=180,
        ),
    ]
    perks = [services.create_perk(data, actor=hr) for data in catalog]
    for perk, picture in zip(perks, PERK_PICTURES, strict=True):
        services.set_perk_image(perk.id, demo_picture(picture), actor=hr)
    codes = "\n".join(f"HL-{n:05d}-SV" for n in range(1, 201))
    services.import_codes(perks[0].id, codes, actor=hr)
    for perk in perks:
        services.publish_perk(perk.id, actor=hr)
    staff = list(
        db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.id).limit(30))
    )
    redeemer = db.session.scalar(select(User).where(User.email == f"letan@{DEMO_DOMAIN}"))
    assert redeemer is not None  # one of DEMO_LOGINS
    for person in staff[:25]:
        for perk, most in ((perks[0], 3), (perks[1], 1), (perks[2], 2)):
            for _ in range(line.rng.randint(0, most)):
                _claim_in_the_past(perk.id, person, line, redeemer)
    _unused_claim_ending_soon(perks[-2].id, today=today)
    drawn = _finished_draw(perks[-1].id, staff[1:19], line, hr)
    # HR adds this quarter's seats for the next round the day after.
    since = utcnow()
    services.update_perk(perks[-1].id, replace(catalog[-1], total_stock=2 * DRAW_SEATS), actor=hr)
    with transaction():
        _date_audit(Perk.__name__, perks[-1].id, since=since, at=drawn + timedelta(days=1))


#: the resort weekend's seats a round
DRAW_SEATS = 10

#: the Ba Na Hills offer's days left: within ``claims.REMINDER_DAYS``, so the demo employee's
#: unused claim of it is reminded
REMINDER_EXAMPLE_DAYS_LEFT = 5


def _unused_claim_ending_soon(perk_id: int, *, today: date) -> None:
    """The demo employee claimed ``perk_id`` two days ago and has not used it: the claim
    reminder (``claims.remind_expiring_claims``, run here as beat would within the hour)
    tells them on their bell and by e-mail that it ends within the week."""
    from perks.catalog import claims
    from perks.catalog.models import Claim

    employee = db.session.scalar(select(User).where(User.email == f"nhanvien@{DEMO_DOMAIN}"))
    assert employee is not None  # one of DEMO_LOGINS
    two_days_ago = today - timedelta(days=2)
    since = utcnow()
    claim = claims.claim_perk(perk_id, employee, today=two_days_ago)
    with transaction():
        made = db.session.get(Claim, claim.id)
        assert made is not None  # just made
        made.claimed_at = made.created_at = made.updated_at = day_start(two_days_ago) + (
            timedelta(hours=12, minutes=40)
        )
        _date_audit(Claim.__name__, made.id, since=since, at=made.claimed_at)
    claims.remind_expiring_claims(today)


def _claim_in_the_past(perk_id: int, person: User, line: Timeline, redeemer: User) -> None:
    """A claim made on a day of the demo's history (it counts in that day's limit period),
    most used at the counter within days; nothing when the rules said no that day."""
    from perks.catalog import claims
    from perks.catalog.models import Claim

    moment = line.moment()
    day = moment.astimezone(line.zone).date()
    if person.hire_date is not None and day < person.hire_date:
        return
    try:
        claim = claims.claim_perk(perk_id, person, today=day)
    except PerksError:
        return  # not eligible or over the limit that day: the demo shows those reasons too
    used = line.after(moment, (0, 12)) if line.rng.random() < 0.6 else None
    since = utcnow()
    if used is not None:
        claims.redeem_claim(claim.reference, redeemer)
    with transaction():
        made = db.session.get(Claim, claim.id)
        assert made is not None  # just made
        made.claimed_at = made.created_at = moment
        made.updated_at = used or moment
        if used is not None:
            made.used_at = used
        _date_audit(Claim.__name__, made.id, since=since, at=used or moment)


#: the demo's draws name a lottery result as their public value, but the demo's value is
#: made up, and its source says so
DEMO_PUBLIC_VALUE_SOURCE = "Giải đặc biệt XSMB (demo: số minh hoạ, illustrative number)"
DEMO_PUBLIC_VALUE = "47193"


def _finished_draw(perk_id: int, entrants: list[User], line: Timeline, hr: User) -> datetime:
    """Last quarter's round of the resort draw: opened, entered over a fortnight and drawn
    by HR, through the real services at those moments, its winners' claims dated then.
    Returns when it was drawn."""
    from perks.catalog import draws
    from perks.catalog.models import Claim, Draw

    opened = line.ago(days=80, hours=OFFICE_HOURS)
    closes = opened + timedelta(days=14)
    since = utcnow()
    draw = draws.open_draw(
        perk_id,
        entries_close_at=closes,
        public_value_source=DEMO_PUBLIC_VALUE_SOURCE,
        actor=hr,
        now=opened,
    )
    for person in entrants:
        entered = line.minutes_after(opened, 30, 13 * 24 * 60)
        try:
            draws.enter_draw(perk_id, person, now=entered)
        except PerksError:
            continue  # not eligible: fewer entries
    frozen = closes + timedelta(minutes=5)  # the scheduled run, minutes after the close
    draws.close_entries(draw.id, actor=None, now=frozen)
    # The next evening, after the lottery: HR types the value in and makes the draw.
    drawn = closes + timedelta(days=1, hours=10)
    draws.enter_public_value(draw.id, DEMO_PUBLIC_VALUE, actor=hr, now=drawn)
    draws.run_draw(draw.id, actor=hr, now=drawn)
    with transaction():
        made = db.session.get(Draw, draw.id)
        assert made is not None  # just made
        made.created_at, made.updated_at = opened, drawn
        won = [e.claim_id for e in draws.draw_entries(draw.id) if e.claim_id is not None]
        for claim in db.session.scalars(select(Claim).where(Claim.id.in_(won))):
            claim.claimed_at = claim.created_at = claim.updated_at = drawn
        for action, at in (
            ("catalog.draw_opened", opened),
            ("catalog.draw_entries_closed", frozen),
            ("catalog.draw_public_value_entered", drawn),
            ("catalog.draw_made", drawn),
        ):
            db.session.execute(
                update(AuditEvent)
                .where(
                    AuditEvent.target_type == Draw.__name__,
                    AuditEvent.target_id == str(draw.id),
                    AuditEvent.action == action,
                    AuditEvent.created_at >= since,
                )
                .values(created_at=at)
                .execution_options(synchronize_session=False)
            )
    return drawn


def open_the_next_draw(line: Timeline) -> None:
    """The resort weekend's next round is open (HR added its seats after the last one), and
    people who did not win the last one have entered."""
    from perks.catalog import draws
    from perks.catalog.models import Allocation, DrawStatus, EntryOutcome, Perk

    hr = db.session.scalar(select(User).where(User.email == f"nhansu@{DEMO_DOMAIN}"))
    perk = db.session.scalar(select(Perk).where(Perk.allocation == Allocation.DRAW).limit(1))
    last = draws.current_draw(perk.id) if perk is not None else None
    if hr is None or perk is None or last is None or last.status is not DrawStatus.DRAWN:
        return
    winners = {e.user_id for e in draws.draw_entries(last.id) if e.outcome is EntryOutcome.WON}
    draws.open_draw(
        perk.id,
        entries_close_at=utcnow() + timedelta(days=10),
        public_value_source=DEMO_PUBLIC_VALUE_SOURCE,
        actor=hr,
    )
    people = db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.id))
    for person in [p for p in people if p.id not in winners][:30:2]:
        try:
            draws.enter_draw(perk.id, person, now=line.latest)
        except PerksError:
            continue


def _date_audit(target_type: str, target_id: int, *, since: datetime, at: datetime) -> None:
    db.session.execute(
        update(AuditEvent)
        .where(
            AuditEvent.target_type == target_type,
            AuditEvent.target_id == str(target_id),
            AuditEvent.created_at >= since,
        )
        .values(created_at=at)
        .execution_options(synchronize_session=False)
    )


#: the storefront's shelves: slug, Vietnamese and English names
SHOP_CATEGORIES = (
    ("tour-trong-nuoc", "Tour trong nước", "Domestic tours"),
    ("khach-san-resort", "Khách sạn & resort", "Hotels & resorts"),
    ("trai-nghiem", "Trải nghiệm", "Experiences"),
)


def seed_demo_shop() -> None:
    """The travel company's storefront: shelves and products, in VND and one in USD, each
    with its picture."""
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
        for product in products:
            product.image_filename = images.save_image(demo_picture(PRODUCT_PICTURES[product.slug]))
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
