"""brand: the company's brand settings, and the images inside e-mails

``brand_settings`` holds the one row HR or an admin saves at ``/settings/brand`` (perks.branding):
company name, logo (a stored image's name), colours, storefront tagline, contact and legal
footer. Until it is saved the app shows ``COMPANY_NAME``, so nothing is inserted here.
``outbox_attachment`` holds the images an e-mail carries inside itself (the logo, an order's
QR code), written with the message (perks.mail). Messages queued before this revision have
none and go out as they were written. The downgrade drops both tables.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('brand_settings',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('company_name', sa.String(length=120), nullable=False),
    sa.Column('logo_image', sa.String(length=80), nullable=True),
    sa.Column('primary_colour', sa.String(length=7), nullable=False),
    sa.Column('accent_colour', sa.String(length=7), nullable=True),
    sa.Column('tagline_vi', sa.String(length=200), nullable=False),
    sa.Column('tagline_en', sa.String(length=200), nullable=False),
    sa.Column('contact_email', sa.String(length=254), nullable=False),
    sa.Column('contact_phone', sa.String(length=40), nullable=False),
    sa.Column('contact_address', sa.String(length=300), nullable=False),
    sa.Column('legal_footer_vi', sa.Text(), nullable=False),
    sa.Column('legal_footer_en', sa.Text(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_brand_settings_one_row')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['user.id'], name=op.f('fk_brand_settings_updated_by_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_brand_settings'))
    )
    op.create_table('outbox_attachment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('content_id', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=40), nullable=False),
    sa.Column('filename', sa.String(length=100), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['outbox_message.id'], name=op.f('fk_outbox_attachment_message_id_outbox_message'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_attachment'))
    )
    with op.batch_alter_table('outbox_attachment', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_attachment_message_id', ['message_id'], unique=False)


def downgrade():
    with op.batch_alter_table('outbox_attachment', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_attachment_message_id')

    op.drop_table('outbox_attachment')
    op.drop_table('brand_settings')
