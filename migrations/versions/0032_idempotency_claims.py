"""idempotency claims: a key is claimed before its write, with no answer yet

``api_idempotency_key.status_code`` and ``body`` may be empty: the row is written, in a
transaction of its own, before the write it guards, so a twin request with the same key gets
a 409 instead of a second write (``perks.api.idempotency``). The downgrade deletes the claims
without an answer and makes both columns required again.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-05 00:10:00
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("api_idempotency_key") as batch_op:
        batch_op.alter_column("status_code", existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column("body", existing_type=sa.JSON(), nullable=True)


def downgrade():
    op.execute("DELETE FROM api_idempotency_key WHERE status_code IS NULL OR body IS NULL")
    with op.batch_alter_table("api_idempotency_key") as batch_op:
        batch_op.alter_column("status_code", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("body", existing_type=sa.JSON(), nullable=False)
