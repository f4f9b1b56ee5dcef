"""A believable Vietnamese company for demos and screenshots: ``flask perks demo``."""

from __future__ import annotations

import random
from datetime import date, timedelta

from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from perks import audit
from perks.auth.models import EmploymentType, Role, User, new_session_token
from perks.db import transaction
from perks.extensions import db
from perks.people.models import Department

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
    """
    today = today or date.today()  # noqa: DTZ011 - a calendar date for hire dates
    rng = random.Random(2026)
    with transaction():
        if db.session.scalar(select(func.count()).select_from(User)):
            return demo_logins(), False
        departments = {name: Department(name=name) for name in DEPARTMENTS}
        db.session.add_all(departments.values())
        password_hash = generate_password_hash(password)
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
        return demo_logins(), True


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
