"""The schema comes only from migrations, and the models agree with it."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from perks.extensions import db


def pending_changes() -> list:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "render_as_batch": True}
        )
        return compare_metadata(context, db.metadata)


def test_models_and_migrations_agree(app):
    # The session fixture ran `flask db upgrade` on an empty database of this run's kind.
    assert pending_changes() == []


def test_migrations_downgrade_to_empty_and_upgrade_again(app):
    db.session.remove()
    downgrade(revision="base")
    with db.engine.connect() as connection:
        tables = set(db.inspect(connection).get_table_names()) - {"alembic_version"}
    assert tables == set()
    upgrade()
    assert pending_changes() == []
