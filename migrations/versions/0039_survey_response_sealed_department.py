"""survey response sealed department: a department is read only once enough of it answered

``survey_response.sealed_department`` holds the respondent's department encrypted (Fernet,
a key drawn from ``SECRET_KEY``) while fewer than the threshold of that department have
answered; once enough have, every response of it gets ``department_id`` in plain and loses
its seal, and at close the seals left are dropped (``perks.feedback.surveys``). Responses
kept before this revision have no seal: those without a department keep none.

Revision ID: 0039
Revises: 0038
Create Date: 2026-12-15 09:00:00
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0039"
down_revision = "0038"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("survey_response") as batch_op:
        batch_op.add_column(sa.Column("sealed_department", sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table("survey_response") as batch_op:
        batch_op.drop_column("sealed_department")
