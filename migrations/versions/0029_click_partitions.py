"""clicks by month: ``click`` partitioned by month of ``clicked_at`` on PostgreSQL

On PostgreSQL the plain ``click`` table becomes a partitioned one (declarative, by range of
``clicked_at``), its rows kept: one partition per company-time month from the oldest click's
to three months ahead, named ``click_YYYY_MM``, and ``click_default`` for anything outside,
all in the schema ``click_partitions``. The primary key becomes ``(id, clicked_at)`` (a
partitioned table's unique constraints must hold the partition key); the ids keep their
sequence, the indexes and the foreign key to ``referral_link`` their names. Nothing
references ``click`` by a foreign key. ``perks.referrals.partitions`` makes the coming months
and drops the expired ones. SQLite keeps the plain table.

``click_rollup.raw_from`` (both): raw clicks of the days before it are dropped.

The downgrade makes ``click`` a plain table again, with every row still there, and drops
``raw_from``.

Revision ID: 0029
Revises: 0024
Create Date: 2026-12-04 20:30:00
"""
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None

SCHEMA = "click_partitions"
AHEAD_MONTHS = 3
COLUMNS = "id, link_id, clicked_at, ip_hash, user_agent_family, is_bot, referrer_domain"


def _zone():
    try:
        from flask import current_app

        name = current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "Asia/Ho_Chi_Minh"
    except RuntimeError:  # no app: the company's usual zone
        name = "Asia/Ho_Chi_Minh"
    return ZoneInfo(name)


def _add_months(month, months):
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def upgrade():
    with op.batch_alter_table('click_rollup', schema=None) as batch_op:
        batch_op.add_column(sa.Column('raw_from', sa.Date(), nullable=True))
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    zone = _zone()
    execute = op.execute
    execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    execute("ALTER TABLE click RENAME TO click_unpartitioned")
    execute("ALTER TABLE click_unpartitioned RENAME CONSTRAINT pk_click TO pk_click_unpartitioned")
    execute(
        "ALTER TABLE click_unpartitioned RENAME CONSTRAINT fk_click_link_id_referral_link "
        "TO fk_click_unpartitioned_link"
    )
    execute("ALTER INDEX ix_click_link_id_clicked_at RENAME TO ix_click_unpartitioned_link")
    execute("ALTER INDEX ix_click_clicked_at RENAME TO ix_click_unpartitioned_clicked_at")
    execute(
        "CREATE TABLE click ("
        "id BIGINT NOT NULL DEFAULT nextval('click_id_seq'::regclass), "
        "link_id INTEGER NOT NULL, "
        "clicked_at TIMESTAMP WITH TIME ZONE NOT NULL, "
        "ip_hash VARCHAR(64) NOT NULL, "
        "user_agent_family VARCHAR(40) NOT NULL, "
        "is_bot BOOLEAN NOT NULL, "
        "referrer_domain VARCHAR(255) NOT NULL, "
        "CONSTRAINT pk_click PRIMARY KEY (id, clicked_at), "
        "CONSTRAINT fk_click_link_id_referral_link FOREIGN KEY (link_id) "
        "REFERENCES referral_link (id)"
        ") PARTITION BY RANGE (clicked_at)"
    )
    execute("CREATE INDEX ix_click_link_id_clicked_at ON click (link_id, clicked_at)")
    execute("CREATE INDEX ix_click_clicked_at ON click (clicked_at)")
    execute(f"CREATE TABLE {SCHEMA}.click_default PARTITION OF click DEFAULT")
    oldest = bind.execute(sa.text("SELECT min(clicked_at) FROM click_unpartitioned")).scalar()
    this_month = datetime.now(zone).date().replace(day=1)
    month = oldest.astimezone(zone).date().replace(day=1) if oldest else this_month
    month = min(month, this_month)
    last = _add_months(this_month, AHEAD_MONTHS)
    while month <= last:
        after = _add_months(month, 1)
        start = datetime.combine(month, time(), zone).isoformat()
        end = datetime.combine(after, time(), zone).isoformat()
        execute(
            f'CREATE TABLE {SCHEMA}."click_{month.year:04d}_{month.month:02d}" '
            f"PARTITION OF click FOR VALUES FROM ('{start}') TO ('{end}')"
        )
        month = after
    execute(f"INSERT INTO click ({COLUMNS}) SELECT {COLUMNS} FROM click_unpartitioned")
    execute("ALTER SEQUENCE click_id_seq OWNED BY click.id")
    execute("DROP TABLE click_unpartitioned")
    execute("ANALYZE click")


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        kind = bind.execute(
            sa.text("SELECT relkind FROM pg_class WHERE oid = to_regclass('public.click')")
        ).scalar()
        if kind == "p":
            execute = op.execute
            execute(
                "CREATE TABLE click_plain ("
                "id BIGINT NOT NULL DEFAULT nextval('click_id_seq'::regclass), "
                "link_id INTEGER NOT NULL, "
                "clicked_at TIMESTAMP WITH TIME ZONE NOT NULL, "
                "ip_hash VARCHAR(64) NOT NULL, "
                "user_agent_family VARCHAR(40) NOT NULL, "
                "is_bot BOOLEAN NOT NULL, "
                "referrer_domain VARCHAR(255) NOT NULL)"
            )
            execute(f"INSERT INTO click_plain ({COLUMNS}) SELECT {COLUMNS} FROM click")
            execute("ALTER SEQUENCE click_id_seq OWNED BY click_plain.id")
            execute("DROP TABLE click")
            execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
            execute("ALTER TABLE click_plain RENAME TO click")
            execute("ALTER TABLE click ADD CONSTRAINT pk_click PRIMARY KEY (id)")
            execute(
                "ALTER TABLE click ADD CONSTRAINT fk_click_link_id_referral_link "
                "FOREIGN KEY (link_id) REFERENCES referral_link (id)"
            )
            execute("CREATE INDEX ix_click_link_id_clicked_at ON click (link_id, clicked_at)")
            execute("CREATE INDEX ix_click_clicked_at ON click (clicked_at)")
    with op.batch_alter_table('click_rollup', schema=None) as batch_op:
        batch_op.drop_column('raw_from')
