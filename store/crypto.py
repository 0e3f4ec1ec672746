"""Records at rest, sealed with AES-GCM (``cryptography``): names, descriptions and notes
never sit in a store file in plain text when a key is configured.

Each record's data is sealed as one JSON document with a fresh 96-bit nonce; the record's kind
and id are the associated data, so a sealed blob cannot be moved onto another record. Several
keys can be configured: the first seals, all of them open (key rotation re-seals everything
with the first, see ``ops.rotate_key``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from dialogs.ports import StoreCorrupted

MARK = "__sealed__"


class KeyDoesNotOpen(StoreCorrupted):
    """A sealed record's key is not configured (or no key is): the keys and the data do not
    belong together."""


class KeyError_(ValueError):
    """A configured key is not a base64 AES-256 key."""


def key_id(key: bytes) -> str:
    """A short public id for a key (so a sealed record says which key opens it)."""
    return hashlib.sha256(b"online-safety-bot:" + key).hexdigest()[:12]


def parse_key(text: str) -> bytes:
    """A base64 (standard or URL-safe) 32-byte key.

    Raises:
        KeyError_: not base64, or not 32 bytes long.
    """
    try:
        raw = base64.b64decode(text.strip() + "=" * (-len(text.strip()) % 4), altchars=b"-_")
    except ValueError:
        raise KeyError_("the encryption key is not base64") from None
    if len(raw) != 32:
        raise KeyError_(f"the encryption key must be 32 bytes (AES-256), not {len(raw)}")
    return raw


def new_key() -> str:
    """A new random key, base64-encoded (for ``BOT_ENCRYPTION_KEY``)."""
    return base64.b64encode(AESGCM.generate_key(bit_length=256)).decode("ascii")


class RecordCipher:
    """Seals and opens record data."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise KeyError_("at least one key is needed")
        self._current = key_id(keys[0])
        self._keys = {key_id(k): AESGCM(k) for k in keys}

    @property
    def current(self) -> str:
        """The id of the key new records are sealed with."""
        return self._current

    @property
    def ids(self) -> frozenset[str]:
        """The ids of every configured key (each opens what it sealed)."""
        return frozenset(self._keys)

    def seal(self, kind: str, item_id: str, data: Mapping[str, Any]) -> dict[str, str]:
        """The sealed form of ``data`` for record ``kind:item_id``."""
        nonce = os.urandom(12)
        plain = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        sealed = self._keys[self._current].encrypt(nonce, plain, f"{kind}:{item_id}".encode())
        return {
            MARK: "aes-256-gcm",
            "kid": self._current,
            "nonce": base64.b64encode(nonce).decode("ascii"),
            "ct": base64.b64encode(sealed).decode("ascii"),
        }

    def open(self, kind: str, item_id: str, stored: Mapping[str, Any]) -> dict[str, Any]:
        """The data of a stored record (plain records, from before a key was set, pass through).

        Raises:
            StoreCorrupted: no configured key opens it, or it was altered.
        """
        if MARK not in stored:
            return dict(stored)
        cipher = self._keys.get(str(stored.get("kid")))
        if cipher is None:
            raise KeyDoesNotOpen(
                f"record {kind}:{item_id} is sealed with key {stored.get('kid')}, which is not "
                "configured (set the old key in BOT_ENCRYPTION_OLD_KEYS)"
            )
        try:
            plain = cipher.decrypt(
                base64.b64decode(stored["nonce"]),
                base64.b64decode(stored["ct"]),
                f"{kind}:{item_id}".encode(),
            )
        except (InvalidTag, KeyError, ValueError):
            raise StoreCorrupted(f"record {kind}:{item_id} was altered or is damaged") from None
        opened: dict[str, Any] = json.loads(plain)
        return opened

    def needs_reseal(self, stored: Mapping[str, Any]) -> bool:
        """Plain, or sealed with an older key."""
        return MARK not in stored or stored.get("kid") != self._current
