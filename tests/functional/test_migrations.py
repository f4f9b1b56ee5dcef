"""The schema comes only from migrations, and the models agree with it."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, select, text

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


def test_messages_kept_before_they_were_numbered_are_numbered_in_the_order_of_their_ids(app):
    """Revision 0040: a conversation read by its messages' ids is read by their numbers."""
    from perks.feedback import items
    from perks.feedback.models import FeedbackMessage, Topic
    from tests.factories import UserFactory

    first = items.send_feedback(UserFactory(), None, Topic.TOOL, "Wi-Fi", "Slow.").item.id
    second = items.send_feedback(UserFactory(), None, Topic.TOOL, "Printer", "Jams.").item.id
    db.session.remove()
    downgrade(revision="0039")
    with db.engine.begin() as connection:
        for message_id, item_id in ((7, first), (8, second), (9, first), (12, first)):
            connection.execute(
                text(
                    "INSERT INTO feedback_message (id, item_id, author, text, written_on) "
                    "VALUES (:id, :item, 'sender', :text, '2026-12-01')"
                ),
                {"id": message_id, "item": item_id, "text": f"message {message_id}"},
            )
    upgrade()
    numbered = db.session.execute(
        select(FeedbackMessage.item_id, FeedbackMessage.number, FeedbackMessage.text).order_by(
            FeedbackMessage.item_id, FeedbackMessage.number
        )
    ).all()
    assert sorted(numbered) == sorted(
        [
            (first, 1, "message 7"),
            (first, 2, "message 9"),
            (first, 3, "message 12"),
            (second, 1, "message 8"),
        ]
    )


def test_policies_set_before_their_versions_were_kept_become_their_first_versions(app):
    """Revision 0042: finance's returning-customer and leaver policies as they are become
    version 1 of each, dated when they were saved; no row, no version."""
    from perks import rule_history

    db.session.remove()
    downgrade(revision="0041")
    with db.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO returning_customer_settings (id, window_days, rate_bps, created_at,"
                " updated_at) VALUES (1, 0, 1200, '2026-03-01 08:00:00', '2026-05-02 09:30:00')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO leaver_settings (id, policy, updated_at)"
                " VALUES (1, 'forfeit', '2026-06-03 10:00:00')"
            )
        )
    upgrade()
    kept = {
        subject: [(v.number, v.since.date().isoformat(), v.terms) for v in found[1]]
        for subject in (rule_history.RETURNING_CUSTOMERS, rule_history.LEAVERS)
        for found in [rule_history.histories(subject)]
    }
    assert kept == {
        "returning_customers": [
            (1, "2026-05-02", {"window_days": None, "returning_rate_bps": 1200})
        ],
        "leavers": [(1, "2026-06-03", {"policy": "forfeit"})],
    }


#: the "at most one" rules that hold under concurrent writers only because the database
#: enforces them (SECURITY.md: integrity under concurrency), by table: the columns of each
AT_MOST_ONE = {
    "stripe_event": [("event_id",)],  # a webhook's event takes effect once
    "shop_order": [("checkout_session_id",), ("redemption_code",), ("number",)],
    "commission": [("order_line_id",)],  # one commission per order line
    "payout_line": [("batch_id", "user_id", "currency")],  # a person once per batch
    "claim": [("perk_id", "user_id", "period_key", "slot")],  # the per-person limit
    "draw_entry": [("draw_id", "user_id"), ("draw_id", "number"), ("draw_id", "key")],
}


def test_the_database_enforces_every_at_most_one_rule(app):
    """Dropped from the model and the migration alike, the order's checkout session, the
    commission's order line and the payout line's person passed every test (models and
    migrations still agreed, and the concurrency tests race other paths)."""
    inspector = inspect(db.engine)
    for table, rules in AT_MOST_ONE.items():
        enforced = {tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)}
        enforced |= {tuple(i["column_names"]) for i in inspector.get_indexes(table) if i["unique"]}
        for columns in rules:
            assert columns in enforced, (table, columns)
