"""draw commitments: draws nobody can rig (method 2)

``draw`` gains ``method`` (1 for every existing draw, which keeps verifying under its old
rules), the public value's source, date, value and when it was entered, and when entries were
frozen with their hash; ``draw_entry`` gains its ``number`` (unique within a draw), from which
a method 2 entry's key is made. The downgrade drops them (method 2 draws cannot be verified
by the old code).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 17:00:00
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('draw', schema=None) as batch_op:
        batch_op.add_column(sa.Column('method', sa.Integer(), nullable=False, server_default='1'))
        batch_op.add_column(sa.Column('public_value_source', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('public_value_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('public_value', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('public_value_entered_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('entries_frozen_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('entries_hash', sa.String(length=64), nullable=True))
    with op.batch_alter_table('draw', schema=None) as batch_op:
        batch_op.alter_column('method', server_default=None)
    with op.batch_alter_table('draw_entry', schema=None) as batch_op:
        batch_op.add_column(sa.Column('number', sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_draw_entry_draw_id_number'), ['draw_id', 'number'])


def downgrade():
    with op.batch_alter_table('draw_entry', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_draw_entry_draw_id_number'), type_='unique')
        batch_op.drop_column('number')
    with op.batch_alter_table('draw', schema=None) as batch_op:
        batch_op.drop_column('entries_hash')
        batch_op.drop_column('entries_frozen_at')
        batch_op.drop_column('public_value_entered_at')
        batch_op.drop_column('public_value')
        batch_op.drop_column('public_value_date')
        batch_op.drop_column('public_value_source')
        batch_op.drop_column('method')
