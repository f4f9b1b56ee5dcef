"""policy versions: finance's returning-customer and leaver policies as they are now become
the first version of each in the rules history

The rules history now keeps finance's returning-customer policy (``returning_customers``) and
leaver policy (``leavers``), each with ``subject_id`` 1. A company that set either before this
revision has its setting as version 1, dated when it was last saved; its next change is
version 2. No row, no version: the defaults (off; vest) are in force, as the page says.

Revision ID: 0042
Revises: 0041
Create Date: 2026-12-07 09:00:00
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0042"
down_revision = "0041"
branch_labels = None
depends_on = None

rule_version = sa.table(
    "rule_version",
    sa.column("subject", sa.String),
    sa.column("subject_id", sa.Integer),
    sa.column("number", sa.Integer),
    sa.column("recorded_at", sa.DateTime(timezone=True)),
    sa.column("terms", sa.JSON),
)
returning_customer_settings = sa.table(
    "returning_customer_settings",
    sa.column("window_days", sa.Integer),
    sa.column("rate_bps", sa.Integer),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)
leaver_settings = sa.table(
    "leaver_settings",
    sa.column("policy", sa.String),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)
SUBJECTS = ("returning_customers", "leavers")


def upgrade():
    connection = op.get_bind()
    kept = {
        subject
        for (subject,) in connection.execute(
            sa.select(rule_version.c.subject).where(rule_version.c.subject.in_(SUBJECTS))
        )
    }
    rows = []
    if "returning_customers" not in kept:
        settings = returning_customer_settings.c
        for window_days, rate_bps, updated_at in connection.execute(
            sa.select(settings.window_days, settings.rate_bps, settings.updated_at)
        ):
            terms = {"window_days": window_days or None, "returning_rate_bps": rate_bps}
            rows.append(("returning_customers", updated_at, terms))
    if "leavers" not in kept:
        for policy, updated_at in connection.execute(
            sa.select(leaver_settings.c.policy, leaver_settings.c.updated_at)
        ):
            rows.append(("leavers", updated_at, {"policy": policy}))
    if rows:
        op.bulk_insert(
            rule_version,
            [
                {
                    "subject": subject,
                    "subject_id": 1,
                    "number": 1,
                    "recorded_at": updated_at,
                    "terms": terms,
                }
                for subject, updated_at, terms in rows
            ],
        )


def downgrade():
    op.execute(rule_version.delete().where(rule_version.c.subject.in_(SUBJECTS)))
