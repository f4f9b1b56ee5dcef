"""gift programmes: gifts on occasions, granted once per person and occasion year

``gift_programme`` holds HR's programmes (an occasion, an audience as perk eligibility has
it, the gift perk, days ahead, a message in both languages, a budget);
``gift_programme_department`` its departments; ``gift_department_budget`` the budget of a
department in a programme; ``gift`` each gift granted, unique per (programme, person,
occasion year). ``user`` gains what HR may record for programmes (gender, children under 15)
and the person's privacy choices (hide birthday and anniversary, public celebration).
The downgrade drops them all.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 10:00:00
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('gift_programme',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name_vi', sa.String(length=120), nullable=False),
    sa.Column('name_en', sa.String(length=120), nullable=False),
    sa.Column('occasion_id', sa.Integer(), nullable=False),
    sa.Column('perk_id', sa.Integer(), nullable=False),
    sa.Column('days_ahead', sa.SmallInteger(), nullable=False),
    sa.Column('message_vi', sa.Text(), nullable=False),
    sa.Column('message_en', sa.Text(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('unit_cost_amount', sa.BigInteger(), nullable=False),
    sa.Column('budget_amount', sa.BigInteger(), nullable=True),
    sa.Column('locations', sa.JSON(), nullable=False),
    sa.Column('employment_types', sa.JSON(), nullable=False),
    sa.Column('min_tenure_days', sa.Integer(), nullable=False),
    sa.Column('gender', sa.Enum('female', 'male', name='gender', native_enum=False, length=8), nullable=True),
    sa.Column('requires_children', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('budget_amount IS NULL OR budget_amount >= 0', name=op.f('ck_gift_programme_budget')),
    sa.CheckConstraint('days_ahead BETWEEN 0 AND 60', name=op.f('ck_gift_programme_days_ahead')),
    sa.CheckConstraint('min_tenure_days >= 0', name=op.f('ck_gift_programme_tenure')),
    sa.CheckConstraint('unit_cost_amount >= 0', name=op.f('ck_gift_programme_unit_cost')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_gift_programme_created_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['occasion_id'], ['occasion.id'], name=op.f('fk_gift_programme_occasion_id_occasion')),
    sa.ForeignKeyConstraint(['perk_id'], ['perk.id'], name=op.f('fk_gift_programme_perk_id_perk')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gift_programme'))
    )
    with op.batch_alter_table('gift_programme', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_gift_programme_occasion_id'), ['occasion_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_gift_programme_perk_id'), ['perk_id'], unique=False)

    op.create_table('gift',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('programme_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('occasion_year', sa.SmallInteger(), nullable=False),
    sa.Column('occasion_on', sa.Date(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('cost_amount', sa.BigInteger(), nullable=False),
    sa.Column('claim_id', sa.Integer(), nullable=False),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('cost_amount >= 0', name=op.f('ck_gift_cost')),
    sa.ForeignKeyConstraint(['claim_id'], ['claim.id'], name=op.f('fk_gift_claim_id_claim')),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], name=op.f('fk_gift_department_id_department'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['programme_id'], ['gift_programme.id'], name=op.f('fk_gift_programme_id_gift_programme')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_gift_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gift')),
    sa.UniqueConstraint('claim_id', name=op.f('uq_gift_claim_id')),
    sa.UniqueConstraint('programme_id', 'user_id', 'occasion_year', name=op.f('uq_gift_programme_id_user_id_occasion_year'))
    )
    with op.batch_alter_table('gift', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_gift_occasion_on'), ['occasion_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_gift_programme_id'), ['programme_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_gift_user_id'), ['user_id'], unique=False)

    op.create_table('gift_department_budget',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('programme_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('amount >= 0', name=op.f('ck_gift_department_budget_amount')),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], name=op.f('fk_gift_department_budget_department_id_department'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['programme_id'], ['gift_programme.id'], name=op.f('fk_gift_department_budget_programme_id_gift_programme'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gift_department_budget')),
    sa.UniqueConstraint('programme_id', 'department_id', name=op.f('uq_gift_department_budget_programme_id_department_id'))
    )
    with op.batch_alter_table('gift_department_budget', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_gift_department_budget_programme_id'), ['programme_id'], unique=False)

    op.create_table('gift_programme_department',
    sa.Column('programme_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], name=op.f('fk_gift_programme_department_department_id_department'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['programme_id'], ['gift_programme.id'], name=op.f('fk_gift_programme_department_programme_id_gift_programme'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('programme_id', 'department_id', name=op.f('pk_gift_programme_department'))
    )
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('gender', sa.Enum('female', 'male', name='gender', native_enum=False, length=8), nullable=True))
        batch_op.add_column(sa.Column('children_under_15', sa.SmallInteger(), nullable=True))
        batch_op.add_column(sa.Column('hide_personal_dates', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('public_celebration', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.create_check_constraint('children_under_15', 'children_under_15 IS NULL OR children_under_15 BETWEEN 0 AND 20')

    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.alter_column('hide_personal_dates', server_default=None)
        batch_op.alter_column('public_celebration', server_default=None)



def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_user_children_under_15'), type_='check')
        batch_op.drop_column('public_celebration')
        batch_op.drop_column('hide_personal_dates')
        batch_op.drop_column('children_under_15')
        batch_op.drop_column('gender')

    op.drop_table('gift_programme_department')
    with op.batch_alter_table('gift_department_budget', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_gift_department_budget_programme_id'))

    op.drop_table('gift_department_budget')
    with op.batch_alter_table('gift', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_gift_user_id'))
        batch_op.drop_index(batch_op.f('ix_gift_programme_id'))
        batch_op.drop_index(batch_op.f('ix_gift_occasion_on'))

    op.drop_table('gift')
    with op.batch_alter_table('gift_programme', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_gift_programme_perk_id'))
        batch_op.drop_index(batch_op.f('ix_gift_programme_occasion_id'))

    op.drop_table('gift_programme')
