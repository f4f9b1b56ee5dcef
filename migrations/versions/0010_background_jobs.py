"""background jobs: progress and result of long work (imports, exports, payouts)

``background_job`` is one piece of long work run by a Celery worker (perks.background): its
kind, state, progress, heartbeat and small JSON result, seen by every host. The files a job
makes (a large export, an import's error report) are kept in ``background_job_piece``, one
row per piece of at most 1 MiB, deleted with the job.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 22:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('background_job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('subject', sa.String(length=64), nullable=False),
    sa.Column('state', sa.Enum('queued', 'running', 'succeeded', 'failed', name='jobstate', native_enum=False, length=16), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('locale', sa.String(length=5), nullable=False),
    sa.Column('stage', sa.String(length=32), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=True),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_background_job_created_by_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_background_job')),
    sa.UniqueConstraint('token', name=op.f('uq_background_job_token'))
    )
    with op.batch_alter_table('background_job', schema=None) as batch_op:
        # "my recent jobs"
        batch_op.create_index('ix_background_job_created_by_id_id', ['created_by_id', 'id'], unique=False)
        # the sweep's question: what is queued or running, oldest heartbeat first
        batch_op.create_index('ix_background_job_state_heartbeat_at', ['state', 'heartbeat_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_background_job_subject'), ['subject'], unique=False)

    op.create_table('background_job_piece',
    sa.Column('job_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['job_id'], ['background_job.id'], name=op.f('fk_background_job_piece_job_id_background_job'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('job_id', 'seq', name=op.f('pk_background_job_piece'))
    )


def downgrade():
    op.drop_table('background_job_piece')
    with op.batch_alter_table('background_job', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_background_job_subject'))
        batch_op.drop_index('ix_background_job_state_heartbeat_at')
        batch_op.drop_index('ix_background_job_created_by_id_id')

    op.drop_table('background_job')
