"""factory_boy factories for every model; they commit, like the services do."""

from __future__ import annotations

from datetime import date

import factory
from werkzeug.security import generate_password_hash

from perks.auth.models import EmploymentType, Role, User, new_session_token
from perks.extensions import db
from perks.people.models import Department

PASSWORD = "correct horse battery"
_PASSWORD_HASH = generate_password_hash(PASSWORD)


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
