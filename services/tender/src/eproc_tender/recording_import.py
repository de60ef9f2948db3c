"""Bulk import of recorded purchases from CSV: streamed to disk, checked, then processed in the background.

The upload is written to disk as it arrives (bounded memory) and read once to check its header and count
its rows, so the job knows its total before it starts. The importer then reads the file in batches; each
batch is one transaction writing its accepted records, their events, one report line per row (accepted,
or rejected with each reason) and the new processed count. Clients poll the job for progress. A restart
resumes from the processed count: a batch is either wholly in or not at all.
"""

from __future__ import annotations

import asyncio
import csv
import logging
import re
from collections.abc import Iterator
from contextlib import suppress
from itertools import islice
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import insert, select, update

from eproc_shared.auth import Principal, Role
from eproc_shared.outbox import Outbox
from eproc_shared.problems import FieldProblem, ProblemError
from eproc_tender.clock import Clock
from eproc_tender.domain import DomainError
from eproc_tender.flows import recording as flow
from eproc_tender.models import recording_import_rows, recording_imports
from eproc_tender.recording_schemas import RecordIn
from eproc_tender.settings import TenderSettings
from eproc_tender.store import Ctx

log = logging.getLogger(__name__)

REQUIRED = ("kind", "package_name", "fiscal_year", "procurement_type", "pagu", "realised_value")
COLUMNS = frozenset(
    {
        *REQUIRED,
        "method",
        "opd_id",
        "satker",
        "kbli_codes",
        "vendor_id",
        "vendor_name",
        "swakelola_type",
        "organiser",
        "start_date",
        "end_date",
        "legal_basis",
        "proofs",
    }
)
INTEGER_COLUMNS = frozenset({"fiscal_year", "pagu", "realised_value", "swakelola_type"})
DIGITS = re.compile(r"^\d+$")


def import_path(settings: TenderSettings, import_id: str) -> Path:
    return Path(settings.storage_dir) / "imports" / f"{import_id}.csv"


def _bad_file(message: str) -> ProblemError:
    return ProblemError(
        422,
        "Invalid CSV",
        message,
        slug="invalid-csv",
        errors=[FieldProblem(field="file", location="body", message=message, code="invalid-csv")],
    )


def _rows(path: Path) -> Iterator[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        yield from csv.DictReader(f)


def check_file(path: Path) -> int:
    """Checks the header and that every row decodes; returns the number of data rows."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header is None:
                raise _bad_file("The file is empty.")
            names = [h.strip() for h in header]
            unknown = [n for n in names if n not in COLUMNS]
            if unknown:
                raise _bad_file(f"Unknown columns: {', '.join(unknown)}. Known: {', '.join(sorted(COLUMNS))}.")
            missing = [n for n in REQUIRED if n not in names]
            if missing:
                raise _bad_file(f"Missing columns: {', '.join(missing)}.")
            if len(set(names)) != len(names):
                raise _bad_file("A column is named twice.")
            count = sum(1 for _ in reader)
    except UnicodeDecodeError as exc:
        raise _bad_file(f"The file is not UTF-8 text (byte {exc.start}).") from exc
    except csv.Error as exc:
        raise _bad_file(f"Not a readable CSV file: {exc}.") from exc
    if count == 0:
        raise _bad_file("The file has a header but no rows.")
    return count


def row_body(row: dict[str, Any], opd_id: str) -> dict[str, Any]:
    """A CSV row as the JSON body of a record: empty cells are absent, lists are `;`-separated,
    proofs are `name=sha256` pairs, integers stay text unless they are whole digits (then the model refuses them)."""
    body: dict[str, Any] = {}
    for key, raw in row.items():
        if key is None:
            raise ValueError("The row has more cells than the header.")
        value = (raw or "").strip()
        if not value:
            continue
        key = key.strip()
        if key in INTEGER_COLUMNS:
            body[key] = int(value) if DIGITS.match(value) else value
        elif key == "kbli_codes":
            body[key] = [c.strip() for c in value.split(";") if c.strip()]
        elif key == "proofs":
            body[key] = [_proof(p) for p in value.split(";") if p.strip()]
        else:
            body[key] = value
    body.setdefault("opd_id", opd_id)
    return body


def _proof(pair: str) -> dict[str, str]:
    name, _, digest = pair.rpartition("=")
    return {"name": name.strip(), "sha256": digest.strip()}


def reasons(exc: Exception) -> list[dict[str, str]]:
    if isinstance(exc, ValidationError):
        return [
            {"field": ".".join(str(p) for p in e["loc"]) or "row", "message": e["msg"], "code": e["type"]}
            for e in exc.errors()
        ]
    if isinstance(exc, DomainError):
        return [{"field": exc.field or "row", "message": exc.message, "code": exc.code}]
    if isinstance(exc, ProblemError):
        return [{"field": "opd_id", "message": exc.detail or exc.title, "code": exc.slug or "forbidden"}]
    return [{"field": "row", "message": str(exc), "code": "invalid-row"}]


class Importer:
    def __init__(self, sessions: Any, outbox: Outbox, settings: TenderSettings, clock: Clock) -> None:
        self.sessions = sessions
        self.outbox = outbox
        self.settings = settings
        self.clock = clock
        self._wake = asyncio.Event()
        # The open reader of each job in progress and the row it stands at, so a batch continues the file
        # instead of parsing it again from the start.
        self._readers: dict[str, tuple[Iterator[dict[str, str]], int]] = {}

    def wake(self) -> None:
        self._wake.set()

    def _next_rows(self, import_id: str, path: Path, start: int, size: int) -> list[dict[str, str]]:
        reader, position = self._readers.pop(import_id, (None, -1))
        if reader is None or position != start:
            reader = _rows(path)
            for _ in islice(reader, start):
                pass
        rows = list(islice(reader, size))
        self._readers[import_id] = (reader, start + len(rows))
        return rows

    async def run(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("import round failed")
            with suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 30.0)

    async def run_once(self) -> None:
        async with self.sessions() as session, session.begin():
            stmt = select(recording_imports.c.id).where(recording_imports.c.status == "running")
            pending = list((await session.execute(stmt.order_by(recording_imports.c.created_at))).scalars())
        for import_id in pending:
            try:
                while await self.batch(import_id):
                    pass
            except Exception as exc:
                log.exception("import %s failed", import_id)
                async with self.sessions() as session, session.begin():
                    await session.execute(
                        update(recording_imports)
                        .where(recording_imports.c.id == import_id)
                        .values(status="failed", error=str(exc)[:2000], finished_at=self.clock.now())
                    )

    async def batch(self, import_id: str) -> bool:
        """Processes the next batch of rows; False when the job is finished."""
        size = self.settings.import_batch_rows
        async with self.sessions() as session, session.begin():
            stmt = select(recording_imports).where(recording_imports.c.id == import_id).with_for_update()
            job = (await session.execute(stmt)).mappings().one()
            if job["status"] != "running":
                return False
            path = import_path(self.settings, import_id)
            start = job["processed_rows"]
            rows = await asyncio.to_thread(self._next_rows, import_id, path, start, size)
            now = self.clock.now()
            principal = Principal(subject=job["ppk_id"], roles=frozenset({Role.PPK.value}), opd_id=job["opd_id"])
            ctx = Ctx(session=session, outbox=self.outbox, settings=self.settings, now=now, principal=principal)
            accepted = 0
            for offset, row in enumerate(rows):
                number = start + offset + 1  # data rows counted from 1; the header is not a row
                try:
                    body = RecordIn.model_validate(row_body(row, job["opd_id"]))
                    recorded = await flow.record(ctx, body, import_id=import_id)
                except (ValidationError, DomainError, ProblemError, ValueError) as exc:
                    values = {"accepted": False, "recording_id": None, "errors": reasons(exc)}
                else:
                    accepted += 1
                    values = {"accepted": True, "recording_id": recorded["id"], "errors": []}
                await session.execute(
                    insert(recording_import_rows).values(import_id=import_id, row_number=number, **values)
                )
            processed = start + len(rows)
            done = processed >= job["total_rows"] or not rows
            await session.execute(
                update(recording_imports)
                .where(recording_imports.c.id == import_id)
                .values(
                    processed_rows=processed,
                    accepted_rows=job["accepted_rows"] + accepted,
                    rejected_rows=job["rejected_rows"] + len(rows) - accepted,
                    status="completed" if done else "running",
                    finished_at=now if done else None,
                )
            )
        if done:
            reader, _ = self._readers.pop(import_id, (None, 0))
            if reader is not None:
                with suppress(AttributeError):
                    reader.close()  # type: ignore[attr-defined]
            await asyncio.to_thread(path.unlink, True)
        return not done
