"""commission rules by audience, tiered rules, returning customers

``commission_rule`` gains its audience (everyone, an employment type, a department or a
named group: ``commission_group`` and its ``commission_group_member`` rows) and a tier
measure; ``commission_tier`` holds a rule's tiers; ``commission`` keeps the tier it got and
whether it was a returning customer's; ``returning_customer_settings`` is finance's one row
(no row: 0 days, off). Existing rules are for everyone, without tiers. The downgrade drops it
all.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-04 20:12:10
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('commission_group',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commission_group')),
    sa.UniqueConstraint('name', name=op.f('uq_commission_group_name'))
    )
    op.create_table('commission_group_member',
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['commission_group.id'], name=op.f('fk_commission_group_member_group_id_commission_group'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_commission_group_member_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('group_id', 'user_id', name=op.f('pk_commission_group_member'))
    )
    with op.batch_alter_table('commission_group_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_commission_group_member_user_id'), ['user_id'], unique=False)

    op.create_table('returning_customer_settings',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('window_days', sa.Integer(), nullable=False),
    sa.Column('rate_bps', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_returning_customer_settings_one_row')),
    sa.CheckConstraint('rate_bps IS NULL OR (rate_bps >= 0 AND rate_bps <= 10000)', name=op.f('ck_returning_customer_settings_rate')),
    sa.CheckConstraint('window_days >= 0 AND window_days <= 3650', name=op.f('ck_returning_customer_settings_days')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['user.id'], name=op.f('fk_returning_customer_settings_updated_by_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_returning_customer_settings'))
    )
    op.create_table('commission_tier',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=False),
    sa.Column('threshold', sa.BigInteger(), nullable=False),
    sa.Column('rate_bps', sa.Integer(), nullable=True),
    sa.Column('flat_amount', sa.BigInteger(), nullable=True),
    sa.CheckConstraint('(rate_bps IS NOT NULL AND rate_bps >= 0 AND rate_bps <= 10000 AND flat_amount IS NULL) OR (flat_amount IS NOT NULL AND flat_amount >= 0 AND rate_bps IS NULL)', name=op.f('ck_commission_tier_terms')),
    sa.CheckConstraint('threshold > 0', name=op.f('ck_commission_tier_threshold')),
    sa.ForeignKeyConstraint(['rule_id'], ['commission_rule.id'], name=op.f('fk_commission_tier_rule_id_commission_rule'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commission_tier')),
    sa.UniqueConstraint('rule_id', 'threshold', name=op.f('uq_commission_tier_rule_id_threshold'))
    )
    with op.batch_alter_table('commission', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tier_threshold', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('tier_measure', sa.Enum('count', 'amount', name='tiermeasure', native_enum=False, length=16), nullable=True))
        batch_op.add_column(sa.Column('returning_customer', sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table('commission_rule', schema=None) as batch_op:
        batch_op.add_column(sa.Column('audience', sa.Enum('everyone', 'employment_type', 'department', 'group', name='ruleaudience', native_enum=False, length=16), server_default='everyone', nullable=False))
        batch_op.add_column(sa.Column('employment_type', sa.Enum('staff', 'contractor', 'partner', 'supplier', name='employmenttype', native_enum=False, length=16), nullable=True))
        batch_op.add_column(sa.Column('department_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('group_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('tier_measure', sa.Enum('count', 'amount', name='tiermeasure', native_enum=False, length=16), nullable=True))
        batch_op.create_index(batch_op.f('ix_commission_rule_department_id'), ['department_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_commission_rule_group_id'), ['group_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_commission_rule_group_id_commission_group'), 'commission_group', ['group_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_commission_rule_department_id_department'), 'department', ['department_id'], ['id'])
        batch_op.create_check_constraint(
            op.f('ck_commission_rule_audience'),
            "(audience = 'everyone' AND employment_type IS NULL AND department_id IS NULL"
            " AND group_id IS NULL)"
            " OR (audience = 'employment_type' AND employment_type IS NOT NULL"
            " AND department_id IS NULL AND group_id IS NULL)"
            " OR (audience = 'department' AND department_id IS NOT NULL"
            " AND employment_type IS NULL AND group_id IS NULL)"
            " OR (audience = 'group' AND group_id IS NOT NULL AND employment_type IS NULL"
            " AND department_id IS NULL)",
        )



def downgrade():
    with op.batch_alter_table('commission_rule', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_commission_rule_audience'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_commission_rule_department_id_department'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_commission_rule_group_id_commission_group'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_commission_rule_group_id'))
        batch_op.drop_index(batch_op.f('ix_commission_rule_department_id'))
        batch_op.drop_column('tier_measure')
        batch_op.drop_column('group_id')
        batch_op.drop_column('department_id')
        batch_op.drop_column('employment_type')
        batch_op.drop_column('audience')

    with op.batch_alter_table('commission', schema=None) as batch_op:
        batch_op.drop_column('returning_customer')
        batch_op.drop_column('tier_measure')
        batch_op.drop_column('tier_threshold')

    op.drop_table('commission_tier')
    op.drop_table('returning_customer_settings')
    with op.batch_alter_table('commission_group_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_commission_group_member_user_id'))

    op.drop_table('commission_group_member')
    op.drop_table('commission_group')
