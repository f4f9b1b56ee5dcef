"""rules history: every version of each perk's rules, commission rule and gift programme

``rule_version`` holds a rule's terms from the moment they took effect (``perks.rule_history``):
what the public rules history page shows. Nothing about who changed them. The downgrade
drops it.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04 17:00:00
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('rule_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subject', sa.String(length=32), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('terms', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rule_version')),
    sa.UniqueConstraint('subject', 'subject_id', 'number', name=op.f('uq_rule_version_subject_subject_id_number'))
    )


def downgrade():
    op.drop_table('rule_version')
