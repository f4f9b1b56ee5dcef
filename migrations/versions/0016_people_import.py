"""people import: ``user.session_token`` is no longer unique-indexed

The stamp is only ever compared with the person's own row (sessions join on the person's id,
reset tokens sign it with the password hash), never looked up, so its unique index served no
query; it was the costliest index an import of a hundred thousand people maintained
(random 43-character keys). Stamps stay 256-bit random values. The downgrade puts the
constraint back.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 17:00:00
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_constraint('uq_user_session_token', type_='unique')


def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_user_session_token', ['session_token'])
