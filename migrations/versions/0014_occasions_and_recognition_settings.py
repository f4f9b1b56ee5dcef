"""occasions: the company's occasions and its recognition settings

``occasion`` holds the days the company celebrates every year: solar and lunar dates, the
founding day, birthdays and work anniversaries (perks.recognition). The Vietnamese calendar's
occasions carry a unique ``key``; HR adds them from the occasions page (or the demo does), so
nothing is inserted here. ``recognition_settings`` holds the one row HR saves: the founding
day and the work anniversaries' milestones. The downgrade drops both tables.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('occasion',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=40), nullable=True),
    sa.Column('kind', sa.Enum('solar', 'lunar', 'founding_day', 'birthday', 'work_anniversary', name='occasionkind', native_enum=False, length=24), nullable=False),
    sa.Column('name_vi', sa.String(length=120), nullable=False),
    sa.Column('name_en', sa.String(length=120), nullable=False),
    sa.Column('month', sa.SmallInteger(), nullable=True),
    sa.Column('day', sa.SmallInteger(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(kind IN ('solar', 'lunar')) = (month IS NOT NULL AND day IS NOT NULL)", name=op.f('ck_occasion_day_for_dated_kinds')),
    sa.CheckConstraint('month IS NULL OR month BETWEEN 1 AND 12', name=op.f('ck_occasion_month')),
    sa.CheckConstraint('day IS NULL OR day BETWEEN 1 AND 31', name=op.f('ck_occasion_day')),
    sa.CheckConstraint("kind <> 'lunar' OR day <= 30", name=op.f('ck_occasion_lunar_day')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_occasion')),
    sa.UniqueConstraint('key', name=op.f('uq_occasion_key'))
    )
    op.create_table('recognition_settings',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('founded_on', sa.Date(), nullable=True),
    sa.Column('anniversary_milestones', sa.JSON(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_recognition_settings_one_row')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['user.id'], name=op.f('fk_recognition_settings_updated_by_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recognition_settings'))
    )


def downgrade():
    op.drop_table('recognition_settings')
    op.drop_table('occasion')
