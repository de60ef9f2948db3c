"""Streaming uploads to disk: bounded memory whatever the file size, hashed (and for bids encrypted) as they arrive.

Disk writes run in a worker thread so that a large upload never stalls the event loop that other bids need.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

from eproc_shared.problems import ProblemError
from eproc_tender.domain.sealing import StreamOpener, StreamSealer

CHUNK = 64 * 1024


def too_large(limit: int) -> ProblemError:
    return ProblemError(413, "Too large", f"Files are limited to {limit} bytes.", slug="too-large")


def _open_for_write(path: Path) -> BinaryIO:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("wb")


def _close(out: BinaryIO, *, sync: bool) -> None:
    out.flush()
    if sync:
        os.fsync(out.fileno())  # an accepted document must survive a crash
    out.close()


async def store_plain(chunks: AsyncIterator[bytes], path: Path, limit: int) -> tuple[str, int]:
    """Write a public document; returns its SHA-256 and size."""
    out = await asyncio.to_thread(_open_for_write, path)
    digest, size = hashlib.sha256(), 0
    try:
        async for chunk in chunks:
            size += len(chunk)
            if size > limit:
                raise too_large(limit)
            digest.update(chunk)
            await asyncio.to_thread(out.write, chunk)
        await asyncio.to_thread(_close, out, sync=True)
    except BaseException:
        out.close()
        await asyncio.to_thread(path.unlink, True)
        raise
    return digest.hexdigest(), size


async def store_sealed(chunks: AsyncIterator[bytes], path: Path, limit: int) -> StreamSealer:
    """Encrypt a bid document as it arrives; only ciphertext touches the disk.

    The sealer hashes each chunk's plaintext and ciphertext as it passes (``plain_hash``, ``cipher_hash``), so
    both digests are ready when the stream ends: nothing is read a second time to hash it.
    """
    out = await asyncio.to_thread(_open_for_write, path)
    sealer = StreamSealer()
    try:
        await asyncio.to_thread(out.write, sealer.header())
        async for chunk in chunks:
            if sealer.size + len(chunk) > limit:
                raise too_large(limit)
            await asyncio.to_thread(out.write, sealer.update(chunk))
        await asyncio.to_thread(out.write, sealer.finalize())
        await asyncio.to_thread(_close, out, sync=True)
        if sealer.size == 0:
            raise ProblemError(422, "Empty file", "The uploaded file is empty.", slug="empty-file")
    except BaseException:
        out.close()
        await asyncio.to_thread(path.unlink, True)
        raise
    return sealer


def cipher_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def open_sealed(path: Path, data_key: bytes) -> str:
    """Decrypt a sealed document chunk by chunk, checking its tag; returns the plaintext SHA-256."""
    size = path.stat().st_size
    with path.open("rb") as f:
        header = f.read(13)
        f.seek(size - 16)
        tag = f.read(16)
        f.seek(13)
        opener = StreamOpener(data_key, header, tag)
        digest = hashlib.sha256()
        remaining = size - 13 - 16
        while remaining > 0:
            chunk = f.read(min(CHUNK, remaining))
            remaining -= len(chunk)
            digest.update(opener.update(chunk))
        digest.update(opener.finalize())
    return digest.hexdigest()
