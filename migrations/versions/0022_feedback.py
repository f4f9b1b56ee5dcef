"""feedback box: items, their messages, and each department's owner and service targets

``feedback_item`` keeps dates only (company days), never a moment; an anonymous item has no
``sender_id`` and only the SHA-256 of its follow-up secret (a check constraint holds that).
``feedback_desk`` is a department's owner and targets (none: HR, 2 and 10 working days).
The downgrade drops the three tables.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04 18:00:00
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('feedback_desk',
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('acknowledge_days', sa.SmallInteger(), nullable=False),
    sa.Column('answer_days', sa.SmallInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('acknowledge_days BETWEEN 1 AND 60', name=op.f('ck_feedback_desk_acknowledge_days_range')),
    sa.CheckConstraint('answer_days BETWEEN 1 AND 120', name=op.f('ck_feedback_desk_answer_days_range')),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], name=op.f('fk_feedback_desk_department_id_department'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['owner_id'], ['user.id'], name=op.f('fk_feedback_desk_owner_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('department_id', name=op.f('pk_feedback_desk'))
    )
    op.create_table('feedback_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('topic', sa.Enum('process', 'policy', 'perk', 'tool', 'service', 'other', name='topic', native_enum=False, length=12), nullable=False),
    sa.Column('about_perk_id', sa.Integer(), nullable=True),
    sa.Column('subject', sa.String(length=120), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('anonymous', sa.Boolean(), nullable=False),
    sa.Column('sender_id', sa.Integer(), nullable=True),
    sa.Column('follow_up_hash', sa.String(length=64), nullable=True),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum('new', 'acknowledged', 'in_progress', 'answered', 'closed', 'declined', name='feedbackstatus', native_enum=False, length=12), nullable=False),
    sa.Column('acknowledge_days', sa.SmallInteger(), nullable=False),
    sa.Column('answer_days', sa.SmallInteger(), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('acknowledged_on', sa.Date(), nullable=True),
    sa.Column('answered_on', sa.Date(), nullable=True),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('decline_reason', sa.Text(), nullable=False),
    sa.Column('published', sa.Boolean(), nullable=False),
    sa.Column('rating', sa.SmallInteger(), nullable=True),
    sa.Column('owner_told', sa.Boolean(), nullable=False),
    sa.Column('acknowledge_escalated', sa.Boolean(), nullable=False),
    sa.Column('answer_escalated', sa.Boolean(), nullable=False),
    sa.CheckConstraint('rating IS NULL OR rating BETWEEN 1 AND 5', name=op.f('ck_feedback_item_rating_range')),
    sa.CheckConstraint('(anonymous AND sender_id IS NULL AND follow_up_hash IS NOT NULL) OR (NOT anonymous AND sender_id IS NOT NULL AND follow_up_hash IS NULL)', name=op.f('ck_feedback_item_anonymous_has_no_sender')),
    sa.ForeignKeyConstraint(['about_perk_id'], ['perk.id'], name=op.f('fk_feedback_item_about_perk_id_perk'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], name=op.f('fk_feedback_item_department_id_department'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_id'], ['user.id'], name=op.f('fk_feedback_item_owner_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['sender_id'], ['user.id'], name=op.f('fk_feedback_item_sender_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feedback_item')),
    sa.UniqueConstraint('follow_up_hash', name=op.f('uq_feedback_item_follow_up_hash'))
    )
    with op.batch_alter_table('feedback_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_feedback_item_department_id'), ['department_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_feedback_item_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_feedback_item_received_on'), ['received_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_feedback_item_sender_id'), ['sender_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_feedback_item_status'), ['status'], unique=False)

    op.create_table('feedback_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('author', sa.Enum('sender', 'owner', name='author', native_enum=False, length=8), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('written_on', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['feedback_item.id'], name=op.f('fk_feedback_message_item_id_feedback_item'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feedback_message'))
    )
    with op.batch_alter_table('feedback_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_feedback_message_item_id'), ['item_id'], unique=False)


def downgrade():
    with op.batch_alter_table('feedback_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feedback_message_item_id'))

    op.drop_table('feedback_message')
    with op.batch_alter_table('feedback_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feedback_item_status'))
        batch_op.drop_index(batch_op.f('ix_feedback_item_sender_id'))
        batch_op.drop_index(batch_op.f('ix_feedback_item_received_on'))
        batch_op.drop_index(batch_op.f('ix_feedback_item_owner_id'))
        batch_op.drop_index(batch_op.f('ix_feedback_item_department_id'))

    op.drop_table('feedback_item')
    op.drop_table('feedback_desk')
