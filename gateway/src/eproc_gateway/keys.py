"""Signing keys of the built-in issuer, their rotation, and the published JWKS.

Two sources:

* files (production): ``GATEWAY_SIGNING_KEY_FILES`` lists PEM private keys; the first signs and
  all are published. To rotate, put the new key first and keep the old one listed until the
  tokens it signed have expired (``GATEWAY_ACCESS_TOKEN_TTL_S``), then remove it.
* database (development and single-site installs): a key is generated at first start and a new
  one whenever the active key is older than ``GATEWAY_SIGNING_KEY_MAX_AGE_DAYS`` (or on
  ``POST /admin/signing-keys/rotate``). A new key is published ``PUBLISH_AHEAD_S`` before it
  signs, so that services whose JWKS cache predates it fetch it before they meet it; a replaced
  key stays published until every token it signed has expired.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from jwt.algorithms import OKPAlgorithm, RSAAlgorithm
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from eproc_gateway.models import signing_keys
from eproc_shared.auth import Clock

log = logging.getLogger(__name__)
PrivateKey = ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey
PUBLISH_AHEAD_S = 60.0


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


@dataclass(frozen=True)
class SigningKey:
    kid: str
    alg: str
    private_key: PrivateKey
    created_at: datetime

    @classmethod
    def generate(cls, created_at: datetime, alg: str = "EdDSA") -> SigningKey:
        key: PrivateKey
        key = ed25519.Ed25519PrivateKey.generate() if alg == "EdDSA" else rsa.generate_private_key(65537, 3072)
        return cls.from_private_key(key, created_at)

    @classmethod
    def from_pem(cls, pem: bytes, created_at: datetime) -> SigningKey:
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey):
            raise ValueError("signing keys must be Ed25519 or RSA private keys")
        if isinstance(key, rsa.RSAPrivateKey) and key.key_size < 2048:
            raise ValueError("RSA signing keys must have at least 2048 bits")
        return cls.from_private_key(key, created_at)

    @classmethod
    def from_private_key(cls, key: PrivateKey, created_at: datetime) -> SigningKey:
        alg = "EdDSA" if isinstance(key, ed25519.Ed25519PrivateKey) else "RS256"
        return cls(kid=_thumbprint(_public_members(key)), alg=alg, private_key=key, created_at=created_at)

    def private_pem(self) -> str:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()

    def public_jwk(self) -> dict[str, Any]:
        return {**_public_members(self.private_key), "kid": self.kid, "alg": self.alg, "use": "sig"}

    def sign(self, claims: dict[str, Any], *, typ: str = "at+jwt") -> str:
        return jwt.encode(claims, self.private_key, algorithm=self.alg, headers={"kid": self.kid, "typ": typ})


def _public_members(key: PrivateKey) -> dict[str, Any]:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return OKPAlgorithm.to_jwk(key.public_key(), as_dict=True)  # type: ignore[no-any-return]
    return RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)  # type: ignore[no-any-return]


def _thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 JWK thumbprint: a key id that is the same wherever the key is loaded."""
    required = {"OKP": ("crv", "kty", "x"), "RSA": ("e", "kty", "n")}[jwk["kty"]]
    canonical = json.dumps({k: jwk[k] for k in required}, separators=(",", ":"), sort_keys=True)
    return _b64(hashlib.sha256(canonical.encode()).digest())


class KeyRing:
    """The gateway's signing keys: which one signs now, and which are published."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        key_files: Sequence[str],
        max_age: timedelta,
        token_lifetime: timedelta,
        leeway: timedelta,
        clock: Clock,
        publish_ahead: timedelta = timedelta(seconds=PUBLISH_AHEAD_S),
    ) -> None:
        self.engine = engine
        self.key_files = list(key_files)
        self.max_age = max_age
        self.token_lifetime = token_lifetime
        self.leeway = leeway
        self.clock = clock
        self.publish_ahead = publish_ahead
        self.keys: list[SigningKey] = []  # oldest first
        self._lock = asyncio.Lock()

    @property
    def from_files(self) -> bool:
        return bool(self.key_files)

    async def load(self) -> None:
        """Read the keys; in database mode generate the first one or a successor when due."""
        if self.from_files:
            self.keys = self._read_files()
            return
        await self.reload()
        newest = self.keys[-1] if self.keys else None
        if newest is None or self.clock() - newest.created_at > self.max_age:
            await self.rotate(immediate=newest is None)

    def _read_files(self) -> list[SigningKey]:
        now = self.clock()
        loaded = [SigningKey.from_pem(Path(p).read_bytes(), now) for p in self.key_files]
        return list(reversed(loaded))  # the first listed is the newest: it signs

    async def reload(self) -> None:
        if self.from_files:
            return
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(signing_keys).where(signing_keys.c.retired_at.is_(None)).order_by(signing_keys.c.created_at)
                )
            ).all()
            await conn.rollback()
        self.keys = [SigningKey.from_pem(row.private_pem.encode(), aware(row.created_at)) for row in rows]

    async def rotate(self, *, immediate: bool = False) -> SigningKey:
        """Add a new key. It signs once published for ``publish_ahead`` (at once if ``immediate``)."""
        if self.from_files:
            raise RuntimeError("signing keys come from files: rotate by editing GATEWAY_SIGNING_KEY_FILES")
        async with self._lock:
            created = self.clock() - (self.publish_ahead if immediate else timedelta(0))
            key = SigningKey.generate(created)
            async with self.engine.begin() as conn:
                await conn.execute(
                    insert(signing_keys).values(
                        kid=key.kid, alg=key.alg, private_pem=key.private_pem(), created_at=created
                    )
                )
            await self.reload()
            log.info("new signing key %s (signs from %s)", key.kid, created + self.publish_ahead)
            return key

    def active(self) -> SigningKey:
        """The newest key that has been published long enough (the oldest one if none has)."""
        if not self.keys:
            raise RuntimeError("no signing key loaded")
        if self.from_files:
            return self.keys[-1]
        now = self.clock()
        ripe = [k for k in self.keys if k.created_at + self.publish_ahead <= now]
        return ripe[-1] if ripe else self.keys[0]

    def published(self) -> list[SigningKey]:
        if self.from_files:
            return list(reversed(self.keys))
        active = self.active()
        now = self.clock()
        out = []
        for index, key in enumerate(self.keys):
            if key.created_at >= active.created_at:
                out.append(key)  # the active key and the ones being published ahead
                continue
            successor = self.keys[index + 1]
            stopped_signing = successor.created_at + self.publish_ahead
            if stopped_signing + self.token_lifetime + self.leeway > now:
                out.append(key)
        return list(reversed(out))

    def jwks(self) -> dict[str, Any]:
        return {"keys": [k.public_jwk() for k in self.published()]}

    def sign(self, claims: dict[str, Any]) -> str:
        return self.active().sign(claims)


def aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
