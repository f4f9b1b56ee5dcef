"""API tokens and the idempotency keys their writes are remembered by."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from perks.db import Base, utcnow

if TYPE_CHECKING:
    from perks.people.models import User


class Scope(enum.StrEnum):
    """What a token may do. A personal token holds the ``:read`` scopes of its own data."""

    PEOPLE_READ = "people:read"
    PEOPLE_WRITE = "people:write"
    REDEMPTIONS_WRITE = "redemptions:write"
    PERKS_READ = "perks:read"
    COMMISSIONS_READ = "commissions:read"
    PAYOUTS_READ = "payouts:read"


#: the scopes a person's own token may hold: their claims, commissions and ledger
PERSONAL_SCOPES = (Scope.PERKS_READ, Scope.COMMISSIONS_READ)


class ApiToken(Base):
    """A bearer token. Only the SHA-256 of its secret is kept; the secret is shown once.

    A service token (``personal`` false) is made by an admin and acts with its scopes on the
    whole directory, in its maker's name (audit events, counter redemptions); a personal token
    reads its owner's data only.
    """

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    label: Mapped[str] = mapped_column(String(80))
    #: the secret's first characters, to tell tokens apart on the pages (not secret)
    prefix: Mapped[str] = mapped_column(String(16))
    secret_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    personal: Mapped[bool] = mapped_column(Boolean, default=False)
    #: the admin who made a service token, or the person a personal token belongs to
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship(lazy="joined")


class IdempotencyKey(Base):
    """A write made with an ``Idempotency-Key``: its answer, replayed for 24 hours."""

    __tablename__ = "api_idempotency_key"
    __table_args__ = (UniqueConstraint("token_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("api_token.id"), index=True)
    key: Mapped[str] = mapped_column(String(255))
    #: the SHA-256 of method, path and body: the same key with another request is refused
    request_sha256: Mapped[str] = mapped_column(String(64))
    #: None while the first request with the key is being answered
    status_code: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[Any] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
