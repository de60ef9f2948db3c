"""The audit service's Ed25519 key: loading it, signing checkpoints and checking their signatures.

The signed bytes of a checkpoint are the RFC 8785 canonical JSON of
``{"head_hash", "key_id", "log": "eproc-audit", "seq", "signed_at"}`` (see
``eproc_shared.events.types.audit.AuditCheckpointSigned``), so anyone holding the public key and a
checkpoint event can check it with any JCS and Ed25519 implementation.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from eproc_audit.canonical import canonical_bytes

LOG_NAME = "eproc-audit"


class SigningKeyError(RuntimeError):
    pass


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_jwk(public: Ed25519PublicKey) -> dict[str, Any]:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    members = {"crv": "Ed25519", "kty": "OKP", "x": b64url(raw)}
    # RFC 7638 thumbprint: SHA-256 of the required members in lexicographic order, no whitespace (= JCS).
    kid = b64url(hashlib.sha256(canonical_bytes(members)).digest())
    return {**members, "kid": kid, "alg": "EdDSA", "use": "sig"}


def public_key_from_jwk(jwk: dict[str, Any]) -> Ed25519PublicKey:
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise ValueError("not an Ed25519 JWK")
    return Ed25519PublicKey.from_public_bytes(b64url_decode(jwk["x"]))


def checkpoint_message(*, seq: int, head_hash: str, signed_at: str, key_id: str) -> bytes:
    return canonical_bytes(
        {"head_hash": head_hash, "key_id": key_id, "log": LOG_NAME, "seq": seq, "signed_at": signed_at}
    )


def verify_checkpoint(
    jwk: dict[str, Any], *, seq: int, head_hash: str, signed_at: str, key_id: str, signature: str
) -> bool:
    if jwk.get("kid") != key_id:
        return False
    try:
        public_key_from_jwk(jwk).verify(
            b64url_decode(signature),
            checkpoint_message(seq=seq, head_hash=head_hash, signed_at=signed_at, key_id=key_id),
        )
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass(frozen=True)
class SigningKey:
    private: Ed25519PrivateKey
    jwk: dict[str, Any]

    @property
    def key_id(self) -> str:
        return str(self.jwk["kid"])

    @property
    def public_pem(self) -> str:
        return (
            self.private.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )

    def sign_checkpoint(self, *, seq: int, head_hash: str, signed_at: str) -> str:
        message = checkpoint_message(seq=seq, head_hash=head_hash, signed_at=signed_at, key_id=self.key_id)
        return b64url(self.private.sign(message))

    @classmethod
    def from_private(cls, private: Ed25519PrivateKey) -> SigningKey:
        return cls(private=private, jwk=public_jwk(private.public_key()))


def load_signing_key(path: str | None, *, dev_path: str, environment: str) -> SigningKey:
    """The configured key; outside production a key is generated once under ``dev_path`` and kept."""
    if path:
        return SigningKey.from_private(_read(Path(path)))
    if environment == "production":
        raise SigningKeyError("AUDIT_SIGNING_KEY_FILE is required in production")
    dev = Path(dev_path)
    if dev.exists():
        return SigningKey.from_private(_read(dev))
    dev.parent.mkdir(parents=True, exist_ok=True)
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(dev, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    return SigningKey.from_private(private)


def _read(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise SigningKeyError(f"cannot read the audit signing key {path}: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{path} is not an Ed25519 private key")
    return key
