"""points: company values, kudos and the append-only points ledger; rewards and gifts of points

``company_value`` holds HR's values a kudos names; ``kudos`` each kudos (never to oneself);
``points_entry`` the points ledger (signs per kind checked; the allowance credited and
expired once per person and month by a partial unique index). ``perk`` gains its price in
points (a reward); ``gift_programme`` may give points instead of a perk and ``gift`` records
them (then it has no claim); ``recognition_settings`` gains the monthly allowance (company
and per role), the per-pair monthly limit and a point's worth in VND.
The downgrade drops them all, with the programmes that give points and their gifts.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04 16:40:00
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('company_value',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name_vi', sa.String(length=80), nullable=False),
    sa.Column('name_en', sa.String(length=80), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_company_value'))
    )
    op.create_table('kudos',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('giver_id', sa.Integer(), nullable=False),
    sa.Column('recipient_id', sa.Integer(), nullable=False),
    sa.Column('value_id', sa.Integer(), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('message', sa.String(length=280), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('given_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('giver_id <> recipient_id', name=op.f('ck_kudos_not_to_oneself')),
    sa.CheckConstraint('points > 0', name=op.f('ck_kudos_points')),
    sa.ForeignKeyConstraint(['giver_id'], ['user.id'], name=op.f('fk_kudos_giver_id_user')),
    sa.ForeignKeyConstraint(['recipient_id'], ['user.id'], name=op.f('fk_kudos_recipient_id_user')),
    sa.ForeignKeyConstraint(['value_id'], ['company_value.id'], name=op.f('fk_kudos_value_id_company_value')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kudos'))
    )
    with op.batch_alter_table('kudos', schema=None) as batch_op:
        batch_op.create_index('ix_kudos_giver_id_month', ['giver_id', 'month'], unique=False)
        batch_op.create_index(batch_op.f('ix_kudos_recipient_id'), ['recipient_id'], unique=False)

    op.create_table('points_entry',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('allowance', 'given', 'expired', 'received', 'gift', 'reward', 'award', name='pointsentrykind', native_enum=False, length=12), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=True),
    sa.Column('kudos_id', sa.Integer(), nullable=True),
    sa.Column('gift_id', sa.Integer(), nullable=True),
    sa.Column('claim_id', sa.Integer(), nullable=True),
    sa.Column('nomination_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.CheckConstraint("(kind = 'allowance' AND points > 0 AND month IS NOT NULL) OR (kind = 'given' AND points < 0 AND month IS NOT NULL AND kudos_id IS NOT NULL) OR (kind = 'expired' AND points < 0 AND month IS NOT NULL) OR (kind = 'received' AND points > 0 AND month IS NULL AND kudos_id IS NOT NULL) OR (kind = 'gift' AND points > 0 AND month IS NULL AND gift_id IS NOT NULL) OR (kind = 'reward' AND points < 0 AND month IS NULL AND claim_id IS NOT NULL) OR (kind = 'award' AND points > 0 AND month IS NULL AND nomination_id IS NOT NULL)", name=op.f('ck_points_entry_kind_sign')),
    sa.ForeignKeyConstraint(['claim_id'], ['claim.id'], name=op.f('fk_points_entry_claim_id_claim')),
    sa.ForeignKeyConstraint(['gift_id'], ['gift.id'], name=op.f('fk_points_entry_gift_id_gift')),
    sa.ForeignKeyConstraint(['kudos_id'], ['kudos.id'], name=op.f('fk_points_entry_kudos_id_kudos')),
    sa.ForeignKeyConstraint(['nomination_id'], ['nomination.id'], name=op.f('fk_points_entry_nomination_id_nomination')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_points_entry_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_points_entry')),
    sa.UniqueConstraint('claim_id', name=op.f('uq_points_entry_claim_id')),
    sa.UniqueConstraint('gift_id', name=op.f('uq_points_entry_gift_id')),
    sa.UniqueConstraint('nomination_id', name=op.f('uq_points_entry_nomination_id'))
    )
    with op.batch_alter_table('points_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_points_entry_kudos_id'), ['kudos_id'], unique=False)
        batch_op.create_index('ix_points_entry_user_id_id', ['user_id', 'id'], unique=False)
        batch_op.create_index('uq_points_entry_user_id_kind_month', ['user_id', 'kind', 'month'], unique=True, postgresql_where=sa.text("kind IN ('allowance', 'expired')"), sqlite_where=sa.text("kind IN ('allowance', 'expired')"))

    with op.batch_alter_table('gift', schema=None) as batch_op:
        batch_op.add_column(sa.Column('points', sa.Integer(), nullable=True))
        batch_op.alter_column('claim_id',
               existing_type=sa.INTEGER(),
               nullable=True)
        batch_op.create_check_constraint('claim_or_points', '(claim_id IS NULL) <> (points IS NULL)')

    with op.batch_alter_table('gift_programme', schema=None) as batch_op:
        batch_op.add_column(sa.Column('points', sa.Integer(), nullable=True))
        batch_op.alter_column('perk_id',
               existing_type=sa.INTEGER(),
               nullable=True)
        batch_op.create_check_constraint('perk_or_points', '(perk_id IS NULL) <> (points IS NULL)')
        batch_op.create_check_constraint('points', 'points IS NULL OR points > 0')

    with op.batch_alter_table('perk', schema=None) as batch_op:
        batch_op.add_column(sa.Column('points_price', sa.Integer(), nullable=True))
        batch_op.create_check_constraint('points_price', 'points_price IS NULL OR points_price > 0')

    with op.batch_alter_table('recognition_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('monthly_allowance', sa.Integer(), nullable=False, server_default='100'))
        batch_op.add_column(sa.Column('role_allowances', sa.JSON(), nullable=False, server_default='{}'))
        batch_op.add_column(sa.Column('pair_monthly_limit', sa.Integer(), nullable=False, server_default='50'))
        batch_op.add_column(sa.Column('point_value_amount', sa.BigInteger(), nullable=False, server_default='1000'))
        batch_op.create_check_constraint('monthly_allowance', 'monthly_allowance >= 0')
        batch_op.create_check_constraint('pair_monthly_limit', 'pair_monthly_limit >= 1')
        batch_op.create_check_constraint('point_value', 'point_value_amount >= 0')

    with op.batch_alter_table('recognition_settings', schema=None) as batch_op:
        batch_op.alter_column('monthly_allowance', server_default=None)
        batch_op.alter_column('role_allowances', server_default=None)
        batch_op.alter_column('pair_monthly_limit', server_default=None)
        batch_op.alter_column('point_value_amount', server_default=None)



def downgrade():
    with op.batch_alter_table('points_entry', schema=None) as batch_op:
        batch_op.drop_index('uq_points_entry_user_id_kind_month', postgresql_where=sa.text("kind IN ('allowance', 'expired')"), sqlite_where=sa.text("kind IN ('allowance', 'expired')"))
        batch_op.drop_index('ix_points_entry_user_id_id')
        batch_op.drop_index(batch_op.f('ix_points_entry_kudos_id'))

    op.drop_table('points_entry')
    with op.batch_alter_table('kudos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kudos_recipient_id'))
        batch_op.drop_index('ix_kudos_giver_id_month')

    op.drop_table('kudos')
    op.drop_table('company_value')

    with op.batch_alter_table('recognition_settings', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_recognition_settings_point_value'), type_='check')
        batch_op.drop_constraint(op.f('ck_recognition_settings_pair_monthly_limit'), type_='check')
        batch_op.drop_constraint(op.f('ck_recognition_settings_monthly_allowance'), type_='check')
        batch_op.drop_column('point_value_amount')
        batch_op.drop_column('pair_monthly_limit')
        batch_op.drop_column('role_allowances')
        batch_op.drop_column('monthly_allowance')

    with op.batch_alter_table('perk', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_perk_points_price'), type_='check')
        batch_op.drop_column('points_price')

    # gifts of points have no claim and their programmes no perk: they cannot stay
    op.execute("DELETE FROM gift WHERE claim_id IS NULL")
    op.execute("DELETE FROM gift_programme WHERE perk_id IS NULL")
    with op.batch_alter_table('gift_programme', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_gift_programme_points'), type_='check')
        batch_op.drop_constraint(op.f('ck_gift_programme_perk_or_points'), type_='check')
        batch_op.alter_column('perk_id',
               existing_type=sa.INTEGER(),
               nullable=False)
        batch_op.drop_column('points')

    with op.batch_alter_table('gift', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_gift_claim_or_points'), type_='check')
        batch_op.alter_column('claim_id',
               existing_type=sa.INTEGER(),
               nullable=False)
        batch_op.drop_column('points')
