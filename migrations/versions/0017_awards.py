"""awards and nominations: HR's awards, managers' nominations and HR's answers

``award`` holds HR's awards (a name and description in both languages, an optional gift
perk, points, an active flag); ``nomination`` a manager's nomination of a person of their
team for an award, its state (pending, approved, declined, withdrawn), the decision and its
reason, the points recorded on approval and the claim of the award's gift.
The downgrade drops both.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 16:40:00
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('award',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name_vi', sa.String(length=120), nullable=False),
    sa.Column('name_en', sa.String(length=120), nullable=False),
    sa.Column('description_vi', sa.Text(), nullable=False),
    sa.Column('description_en', sa.Text(), nullable=False),
    sa.Column('perk_id', sa.Integer(), nullable=True),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('points >= 0', name=op.f('ck_award_points')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_award_created_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['perk_id'], ['perk.id'], name=op.f('fk_award_perk_id_perk')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_award'))
    )
    with op.batch_alter_table('award', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_award_perk_id'), ['perk_id'], unique=False)

    op.create_table('nomination',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('award_id', sa.Integer(), nullable=False),
    sa.Column('nominee_id', sa.Integer(), nullable=False),
    sa.Column('nominator_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('state', sa.Enum('pending', 'approved', 'declined', 'withdrawn', name='nominationstate', native_enum=False, length=16), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_on', sa.Date(), nullable=True),
    sa.Column('decision_reason', sa.Text(), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('claim_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('nominee_id <> nominator_id', name=op.f('ck_nomination_not_self')),
    sa.CheckConstraint('points >= 0', name=op.f('ck_nomination_points')),
    sa.ForeignKeyConstraint(['award_id'], ['award.id'], name=op.f('fk_nomination_award_id_award')),
    sa.ForeignKeyConstraint(['claim_id'], ['claim.id'], name=op.f('fk_nomination_claim_id_claim')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user.id'], name=op.f('fk_nomination_decided_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['nominator_id'], ['user.id'], name=op.f('fk_nomination_nominator_id_user')),
    sa.ForeignKeyConstraint(['nominee_id'], ['user.id'], name=op.f('fk_nomination_nominee_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_nomination')),
    sa.UniqueConstraint('claim_id', name=op.f('uq_nomination_claim_id'))
    )
    with op.batch_alter_table('nomination', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_nomination_award_id'), ['award_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_nomination_decided_on'), ['decided_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_nomination_nominator_id'), ['nominator_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_nomination_nominee_id'), ['nominee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_nomination_state'), ['state'], unique=False)



def downgrade():
    with op.batch_alter_table('nomination', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_nomination_state'))
        batch_op.drop_index(batch_op.f('ix_nomination_nominee_id'))
        batch_op.drop_index(batch_op.f('ix_nomination_nominator_id'))
        batch_op.drop_index(batch_op.f('ix_nomination_decided_on'))
        batch_op.drop_index(batch_op.f('ix_nomination_award_id'))

    op.drop_table('nomination')
    with op.batch_alter_table('award', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_award_perk_id'))

    op.drop_table('award')
