"""Named column mappings for the files finance hands to payroll and to the bank.

An ``ExportMapping`` is finance's once-for-all answer to "which columns, in which order, under
which header does our payroll system (or our bank's bulk-transfer template) import?": a name,
the kind of file it shapes (``payroll`` or ``bank``) and its columns, each a field the app
knows (``perks.finance.payfiles.FIELDS``) and the header written above it. The migration ships
a generic Vietnamese payroll sheet and a generic bank transfer sheet.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from perks.db import Base, TimestampMixin


class ExportMapping(TimestampMixin, Base):
    """One named column layout of the payroll file or of the bank transfer file."""

    __tablename__ = "export_mapping"
    __table_args__ = (CheckConstraint("kind IN ('payroll', 'bank')", name="kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    #: "payroll" or "bank"
    kind: Mapped[str] = mapped_column(String(16))
    #: [{"field": "tax_code", "header": "Mã số thuế"}, ...] in the file's order
    columns: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
