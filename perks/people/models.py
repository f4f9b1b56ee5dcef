"""Departments and people imports."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from perks.db import Base, TimestampMixin


class Department(TimestampMixin, Base):
    """A unit of the company; people belong to at most one."""

    __tablename__ = "department"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)

    def __repr__(self) -> str:
        return f"<Department {self.name}>"


class PeopleImport(TimestampMixin, Base):
    """An uploaded people CSV, kept between its dry run and its confirmation."""

    __tablename__ = "people_import"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    filename: Mapped[str] = mapped_column(String(255))
    #: sha256 of the content, to show that a re-upload is the same file
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[str] = mapped_column(Text)
    #: "pending" after the dry run, "applied" once confirmed
    status: Mapped[str] = mapped_column(String(16), default="pending")
