"""Sealed bids: each package has its own X25519 key pair; bids are sealed to its public key.

Sealing is hybrid encryption (ECIES style): an ephemeral X25519 key agreement with the package key,
HKDF-SHA256 to a 256-bit key, AES-256-GCM over the content. Sealed bytes are
``version(1) | ephemeral public key(32) | nonce(12) | ciphertext+tag``; the receipt is the SHA-256 of
those bytes, so opening can prove that what it decrypts is what the vendor was given a receipt for.

The package's private key never rests in clear: it is AES-GCM encrypted under the key-encryption key
from settings (a Kubernetes secret), with the package id as associated data so a wrapped key cannot
be swapped onto another package.

Documents are too large to seal in one piece in memory: each gets a random data key, is encrypted as
a stream (AES-256-GCM, tag at the end), and only its data key is sealed to the package key.

What may be seen of a document before opening is its keyed digest only: HMAC-SHA256, under a key derived
from the key-encryption key and the package id, of the plaintext's SHA-256. It is equal for identical files
within one package (so the audit service sees shared documents) and, unlike a bare SHA-256, lets nobody
without the key test a guessed file (a price sheet where only the price changes) before opening.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = b"\x01"
_INFO = b"eproc-tender-bid-v1"
_DIGEST_INFO = b"eproc-tender-document-digest-v1|"
_RAW = serialization.Encoding.Raw


class SealError(Exception):
    """Sealed data does not decrypt: wrong key, or bytes changed."""


@dataclass(frozen=True)
class PackageKeys:
    public_key: bytes  # raw X25519, stored in clear
    wrapped_private_key: bytes  # nonce | AES-GCM(private key) under the KEK


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def new_package_keys(kek: bytes, package_id: str) -> PackageKeys:
    private = X25519PrivateKey.generate()
    raw_private = private.private_bytes(_RAW, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    nonce = os.urandom(12)
    wrapped = nonce + AESGCM(kek).encrypt(nonce, raw_private, package_id.encode())
    public = private.public_key().public_bytes(_RAW, serialization.PublicFormat.Raw)
    return PackageKeys(public_key=public, wrapped_private_key=wrapped)


def unwrap_private_key(kek: bytes, package_id: str, wrapped: bytes) -> X25519PrivateKey:
    try:
        raw = AESGCM(kek).decrypt(wrapped[:12], wrapped[12:], package_id.encode())
    except InvalidTag as exc:
        raise SealError("the package key does not decrypt with this key-encryption key") from exc
    return X25519PrivateKey.from_private_bytes(raw)


def document_digest_key(kek: bytes, package_id: str) -> bytes:
    """The package's document-digest key: HKDF-SHA256 of the key-encryption key, bound to the package id.

    Its own HKDF label keeps it apart from every other use of the key-encryption key; per package, so that
    digests from different packages never compare equal and one package's key reveals nothing of another's.
    """
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_DIGEST_INFO + package_id.encode()).derive(kek)


def document_digest(kek: bytes, package_id: str, plain_sha256: bytes) -> str:
    """HMAC-SHA256 (hex) of a document's plaintext SHA-256 (the raw 32 bytes) under the package's digest key."""
    return hmac.new(document_digest_key(kek, package_id), plain_sha256, hashlib.sha256).hexdigest()


def _derive(shared: bytes, ephemeral_public: bytes, aad: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=ephemeral_public, info=_INFO + aad).derive(shared)


def seal(public_key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """Encrypt ``plaintext`` so only the package's private key opens it; ``aad`` binds it to its context."""
    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = ephemeral.public_key().public_bytes(_RAW, serialization.PublicFormat.Raw)
    key = _derive(ephemeral.exchange(X25519PublicKey.from_public_bytes(public_key)), ephemeral_public, aad)
    nonce = os.urandom(12)
    return VERSION + ephemeral_public + nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def unseal(private_key: X25519PrivateKey, sealed: bytes, aad: bytes) -> bytes:
    if len(sealed) < 1 + 32 + 12 + 16 or sealed[:1] != VERSION:
        raise SealError("not a sealed envelope of a known version")
    ephemeral_public, nonce, body = sealed[1:33], sealed[33:45], sealed[45:]
    key = _derive(private_key.exchange(X25519PublicKey.from_public_bytes(ephemeral_public)), ephemeral_public, aad)
    try:
        return AESGCM(key).decrypt(nonce, body, aad)
    except InvalidTag as exc:
        raise SealError("the envelope does not decrypt: it was altered or sealed for another package") from exc


class StreamSealer:
    """Encrypts a document chunk by chunk under a fresh data key, hashing plaintext and ciphertext as it goes."""

    def __init__(self) -> None:
        self.data_key = AESGCM.generate_key(bit_length=256)
        self.nonce = os.urandom(12)
        self._encryptor = Cipher(algorithms.AES(self.data_key), modes.GCM(self.nonce)).encryptor()
        self.plain_hash = hashlib.sha256()
        self.cipher_hash = hashlib.sha256()
        self.size = 0

    def header(self) -> bytes:
        out = VERSION + self.nonce
        self.cipher_hash.update(out)
        return out

    def update(self, chunk: bytes) -> bytes:
        self.size += len(chunk)
        self.plain_hash.update(chunk)
        out = self._encryptor.update(chunk)
        self.cipher_hash.update(out)
        return out

    def finalize(self) -> bytes:
        out = self._encryptor.finalize() + self._encryptor.tag
        self.cipher_hash.update(out)
        return out


class StreamOpener:
    """Decrypts what :class:`StreamSealer` wrote; the tag (last 16 bytes) is checked at the end."""

    def __init__(self, data_key: bytes, header: bytes, tag: bytes) -> None:
        if header[:1] != VERSION:
            raise SealError("unknown document format")
        self._decryptor = Cipher(algorithms.AES(data_key), modes.GCM(header[1:13], tag)).decryptor()

    def update(self, chunk: bytes) -> bytes:
        return self._decryptor.update(chunk)

    def finalize(self) -> bytes:
        try:
            return self._decryptor.finalize()
        except InvalidTag as exc:
            raise SealError("the document was altered") from exc
