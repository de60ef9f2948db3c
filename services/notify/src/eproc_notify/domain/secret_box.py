"""Webhook signing secrets encrypted at rest: AES-256-GCM under a key-encryption key from the settings.

A stored value reads ``v1.<key id>.<base64url(nonce || ciphertext || tag)>``:

- a fresh random 96-bit nonce per value, so sealing the same secret twice gives unrelated text;
- the endpoint id is associated data: a value copied into another endpoint's row does not decrypt there,
  so whoever can write the table still cannot make one endpoint sign with another's secret;
- the key id is a fingerprint of the key, not the key, and tells which of the configured keys opens the
  value. New values always use the current key; the old keys only open values written before a rotation
  (the service re-encrypts those under the current key when it starts).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from collections.abc import Iterable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT = "v1"
KEY_BYTES = 32
NONCE_BYTES = 12
_KEY_ID_LABEL = b"eproc-notify webhook-secret key id\x00"


class SecretUnreadable(Exception):
    """A stored secret this process cannot decrypt."""


class UnknownKey(SecretUnreadable):
    """Encrypted under a key that is neither the current key nor one of the old keys."""

    def __init__(self, key_id: str, what: str = "") -> None:
        super().__init__(
            f"{what}encrypted with key {key_id}, which is neither NOTIFY_SECRET_ENCRYPTION_KEY nor one of "
            "NOTIFY_SECRET_ENCRYPTION_OLD_KEYS"
        )
        self.key_id = key_id


def key_id(key: bytes) -> str:
    """A short public name of a key: lets values say which key opens them without revealing it."""
    return hashlib.sha256(_KEY_ID_LABEL + key).hexdigest()[:16]


def _associated_data(kid: str, endpoint_id: str) -> bytes:
    return f"eproc-notify/webhook-secret/{FORMAT}/{kid}/{endpoint_id}".encode()


class SecretBox:
    """Seals secrets under the current key; opens values sealed under it or under any old key."""

    def __init__(self, current: bytes, old: Iterable[bytes] = ()) -> None:
        keys = [current, *old]
        for key in keys:
            if len(key) != KEY_BYTES:
                raise ValueError(f"a secret encryption key must be {KEY_BYTES} bytes")
        self.current_key_id = key_id(current)
        self._current = AESGCM(current)
        self._keys = {key_id(key): AESGCM(key) for key in keys}

    def seal(self, secret: str, endpoint_id: str) -> str:
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._current.encrypt(nonce, secret.encode(), _associated_data(self.current_key_id, endpoint_id))
        body = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
        return f"{FORMAT}.{self.current_key_id}.{body}"

    def open(self, value: str, endpoint_id: str) -> str:
        kid, raw = self._parse(value)
        aead = self._keys.get(kid)
        if aead is None:
            raise UnknownKey(kid)
        try:
            plain = aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _associated_data(kid, endpoint_id))
        except InvalidTag:
            raise SecretUnreadable(
                f"the stored secret of endpoint {endpoint_id} does not belong to it or was altered"
            ) from None
        return plain.decode()

    def is_current(self, value: str) -> bool:
        """Whether a value is already sealed under the current key (nothing to re-encrypt)."""
        return self._parse(value)[0] == self.current_key_id

    @staticmethod
    def _parse(value: str) -> tuple[str, bytes]:
        version, _, rest = value.partition(".")
        kid, _, body = rest.partition(".")
        if version != FORMAT or not kid or not body:
            raise SecretUnreadable(f"not a {FORMAT} encrypted secret")
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except (binascii.Error, ValueError):
            raise SecretUnreadable("the encrypted secret is not base64url") from None
        if len(raw) <= NONCE_BYTES + 16:
            raise SecretUnreadable("the encrypted secret is too short")
        return kid, raw


def decode_key(value: str, setting: str) -> bytes:
    """A key given in the settings as base64 of 32 bytes."""
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"{setting} must be base64") from exc
    if len(raw) != KEY_BYTES:
        raise ValueError(f"{setting} must decode to {KEY_BYTES} bytes (openssl rand -base64 32)")
    return raw
