"""Document storage: uploads stream to disk in chunks, judged by their first bytes, hashed as they pass."""

from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import anyio
import filetype

from eproc_shared.problems import FieldProblem, ProblemError

# filetype looks at most at this many leading bytes.
HEAD_BYTES = 8192


@dataclass(frozen=True)
class StoredFile:
    storage_key: str
    size_bytes: int
    sha256: str
    content_type: str


def too_large(limit: int) -> ProblemError:
    return ProblemError(
        413,
        "Document too large",
        f"A document may be at most {limit} bytes.",
        slug="document-too-large",
        errors=[FieldProblem(field="body", location="body", message=f"larger than {limit} bytes", code="too_large")],
    )


def wrong_type(detail: str) -> ProblemError:
    return ProblemError(
        415,
        "Unsupported document type",
        detail,
        slug="unsupported-document-type",
        errors=[FieldProblem(field="content-type", location="header", message=detail, code="unsupported_type")],
    )


def _judge(head: bytes, declared: str, allowed: list[str]) -> str:
    kind = filetype.guess(head)
    detected = kind.mime if kind is not None else None
    if detected is None or detected not in allowed:
        raise wrong_type(f"The file's content is {detected or 'of an unknown type'}; accepted: {', '.join(allowed)}.")
    if declared not in ("", "application/octet-stream") and declared != detected:
        raise wrong_type(f"The file was declared as {declared} but its content is {detected}.")
    return detected


class DocumentStore:
    def __init__(self, root: str | Path, *, max_bytes: int, allowed: list[str]) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes
        self.allowed = allowed

    def path_of(self, storage_key: str) -> Path:
        return self.root / storage_key

    async def save(self, vendor_id: str, chunks: AsyncIterator[bytes], declared_type: str) -> StoredFile:
        """Writes the stream under ``<root>/<vendor>/``; nothing is left behind when it is refused."""
        folder = self.root / vendor_id
        await anyio.to_thread.run_sync(lambda: folder.mkdir(parents=True, exist_ok=True))
        key = f"{vendor_id}/{uuid.uuid4().hex}"
        final = self.root / key
        partial = final.with_suffix(".part")
        digest = hashlib.sha256()
        size = 0
        head = b""
        detected: str | None = None
        handle = await anyio.open_file(partial, "wb")
        try:
            async for chunk in chunks:
                if not chunk:
                    continue
                size += len(chunk)
                if size > self.max_bytes:
                    raise too_large(self.max_bytes)
                if detected is None:
                    head += chunk[: HEAD_BYTES - len(head)]
                    if len(head) >= HEAD_BYTES:
                        detected = _judge(head, declared_type, self.allowed)
                digest.update(chunk)
                await handle.write(chunk)
            if size == 0:
                raise ProblemError(
                    422,
                    "Empty document",
                    "The request body is empty.",
                    slug="validation",
                    errors=[FieldProblem(field="body", location="body", message="empty", code="missing")],
                )
            if detected is None:
                detected = _judge(head, declared_type, self.allowed)
            await handle.aclose()
            await anyio.to_thread.run_sync(os.replace, partial, final)
        except BaseException:
            await handle.aclose()
            with contextlib.suppress(FileNotFoundError):
                await anyio.to_thread.run_sync(partial.unlink)
            raise
        return StoredFile(storage_key=key, size_bytes=size, sha256=digest.hexdigest(), content_type=detected)

    async def discard(self, storage_key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            await anyio.to_thread.run_sync(self.path_of(storage_key).unlink)
