"""images: uploaded perk and product images stored in the database

``stored_image`` holds every uploaded image (perks.images), so every host serves it; perks and
products keep the image's name in ``image_filename`` as before. The upgrade copies the images
this host holds under ``instance/uploads/perks`` and ``instance/uploads/products`` into the
table (run it on the host that has them; an image whose file is missing stays a 404, as it
was). The downgrade drops the table, and the images in it.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 22:20:00

"""
import re
from datetime import datetime, timezone
from pathlib import Path

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

#: as in perks.images at the time of this migration
NAME_PATTERN = re.compile(r"[0-9a-f]{32}\.(?:png|jpg)")
SIGNATURES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}
MAX_BYTES = 2 * 1024 * 1024
#: where each table's images were kept, under the instance folder
UPLOAD_FOLDERS = {"perk": "perks", "product": "products"}


def upgrade():
    stored_image = op.create_table('stored_image',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('content_type', sa.String(length=40), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stored_image')),
    sa.UniqueConstraint('name', name=op.f('uq_stored_image_name'))
    )
    _copy_uploaded_files(stored_image)


def downgrade():
    op.drop_table('stored_image')


def _instance_path():
    try:
        from flask import current_app

        return Path(current_app.instance_path)
    except RuntimeError:  # no app: nothing to copy from
        return None


def _copy_uploaded_files(stored_image):
    instance = _instance_path()
    if instance is None or op.get_context().as_sql:
        return
    connection = op.get_bind()
    seen = set()
    rows = []
    for table, folder in UPLOAD_FOLDERS.items():
        names = connection.execute(
            sa.text(f"SELECT image_filename FROM {table} WHERE image_filename IS NOT NULL")  # noqa: S608
        ).scalars()
        for name in names:
            path = instance / "uploads" / folder / name
            if name in seen or not NAME_PATTERN.fullmatch(name) or not path.is_file():
                continue
            data = path.read_bytes()
            content_type = next(
                (kind for sig, kind in SIGNATURES.items() if data.startswith(sig)), None
            )
            if content_type is None or len(data) > MAX_BYTES:
                continue
            seen.add(name)
            rows.append(
                {
                    "name": name,
                    "content_type": content_type,
                    "size": len(data),
                    "data": data,
                    "created_at": datetime.fromtimestamp(path.stat().st_mtime, timezone.utc),
                }
            )
    if rows:
        op.bulk_insert(stored_image, rows)
