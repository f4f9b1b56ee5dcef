"""What an edit page showed, in a few characters: a save is compared with it under a lock.

An edit page sends back, in a hidden field, the fingerprint of the values it showed; the
service reads the row again under a lock and computes the fingerprint of the values as they
are then. A difference means someone (another person's page, an import, the person's own
choices) changed a value the page showed after it was opened: saving would overwrite that
change unseen. Unlike a version counter it is moved by nothing the page did not show (a
sign-in, a new session, a stock count), whoever writes the row and however (ORM or a bulk
UPDATE), and it needs no column.

It is not a secret: someone who forges it only skips the check for their own save, which
they could equally make from a freshly opened page.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import date
from enum import Enum

#: the length of a fingerprint (hex characters of a SHA-256)
LENGTH = 64


def _plain(value: object) -> object:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(_plain(v) for v in value)  # type: ignore[type-var]
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def fingerprint(values: Mapping[str, object]) -> str:
    """The fingerprint of ``values`` (names to strings, numbers, booleans, None, dates,
    enums, and lists or sets of them): equal values give equal fingerprints, whatever the
    order of the names or of a set's members. Raises TypeError for anything else."""
    text = json.dumps(
        {name: _plain(value) for name, value in values.items()},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(text.encode()).hexdigest()
