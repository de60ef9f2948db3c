"""CSV import of recorded purchases: streamed upload, per-row report, progress counts, bad files refused."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from tender_test_support import START, Tender, ok, problem, service_app, settings_for

from eproc_shared.settings import BrokerSettings
from eproc_shared.testing import TestIssuer, eventually, serve
from eproc_tender.clock import ManualClock

HASH = hashlib.sha256(b"bukti").hexdigest()
HEADER = [
    "kind",
    "method",
    "package_name",
    "satker",
    "fiscal_year",
    "procurement_type",
    "kbli_codes",
    "pagu",
    "realised_value",
    "vendor_id",
    "vendor_name",
    "swakelola_type",
    "organiser",
    "start_date",
    "end_date",
    "legal_basis",
    "proofs",
]


def row(**values: Any) -> list[str]:
    base: dict[str, Any] = {
        "kind": "non_tender",
        "method": "pengadaan_langsung",
        "package_name": "Belanja ATK Puskesmas",
        "fiscal_year": 2026,
        "procurement_type": "barang",
        "kbli_codes": "47611",
        "pagu": 50_000_000,
        "realised_value": 48_000_000,
        "vendor_name": "CV Maju",
        "start_date": "2026-02-02",
        "end_date": "2026-02-10",
        "proofs": f"kuitansi.pdf={HASH};foto.jpg={HASH}",
    }
    base.update(values)
    return [str(base.get(h, "")) for h in HEADER]


def to_csv(rows: list[list[str]], header: list[str] = HEADER) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


async def finished(t: Tender, client: Any, import_id: str) -> dict[str, Any]:
    async def done() -> dict[str, Any] | None:
        job = ok(await client.get(f"/recordings/imports/{import_id}"))
        return job if job["status"] != "running" else None

    return await eventually(done)  # type: ignore[no-any-return]


async def test_import_reports_every_row_and_records_the_good_ones(tender: Tender) -> None:
    t = tender
    t.settings.import_batch_rows = 2  # several batches, so progress advances in steps
    await t.seed_vendor("v-known", legal_name="PT Dikenal")
    rows = [
        row(),
        row(kind="swakelola", method="", vendor_name="", swakelola_type=1, organiser="Dinas Kesehatan"),
        row(pagu=400_000_000, realised_value=350_000_000),  # pengadaan langsung above its ceiling
        row(pagu="50.000.000"),  # not an integer
        row(
            kind="darurat",
            method="",
            pagu=700_000_000,
            realised_value=650_000_000,
            legal_basis="SK Wali Kota, status tanggap darurat bencana banjir",
        ),
        row(vendor_id="ghost", vendor_name=""),
        row(vendor_id="v-known", vendor_name="", end_date="2026-01-01"),
    ]
    ppk = t.ppk()
    job = ok(
        await ppk.post(
            "/recordings/imports",
            params={"name": "catatan-feb.csv"},
            content=to_csv(rows),
            headers={"content-type": "text/csv"},
        ),
        202,
    )
    assert (job["total_rows"], job["status"], job["file_name"]) == (7, "running", "catatan-feb.csv")
    job = await finished(t, ppk, job["id"])
    assert (job["status"], job["processed_rows"], job["accepted_rows"], job["rejected_rows"], job["percent"]) == (
        "completed",
        7,
        3,
        4,
        100,
    )
    report = ok(await ppk.get(f"/recordings/imports/{job['id']}/rows"))["items"]
    assert [r["row"] for r in report] == [1, 2, 3, 4, 5, 6, 7]
    assert [r["accepted"] for r in report] == [True, True, False, False, True, False, False]
    why = {r["row"]: [(e["field"], e["code"]) for e in r["errors"]] for r in report if not r["accepted"]}
    assert why[3] == [("method", "method-above-ceiling")]
    assert why[4][0][0] == "pagu"
    assert why[6] == [("vendor_id", "unknown-vendor")]
    assert why[7] == [("end_date", "dates-reversed")]
    rejected = ok(await ppk.get(f"/recordings/imports/{job['id']}/rows", params={"accepted": "false"}))["items"]
    assert [r["row"] for r in rejected] == [3, 4, 6, 7]

    events = await t.events("tender.purchase_recorded.v1")
    assert sorted(e["kind"] for e in events) == ["darurat", "non_tender", "swakelola"]
    assert {e["import_id"] for e in events} == {job["id"]}
    assert {e["opd_id"] for e in events} == {"dinkes"}
    recorded = {r["recording_id"] for r in report if r["accepted"]}
    listed = ok(await t.public().get("/recordings", params={"opd_id": "dinkes"}))["items"]
    assert {r["id"] for r in listed} == recorded
    # The file is removed once processed; another OPD does not see the job.
    assert not list((Path(t.settings.storage_dir) / "imports").glob("*"))
    problem(await t.ppk(opd="dispora").get(f"/recordings/imports/{job['id']}"), 403)


async def test_a_large_file_is_streamed_and_processed_in_batches(tender: Tender) -> None:
    t = tender
    # More rows than a page of the report (500) and several batches, sent as a stream of chunks.
    t.settings.import_batch_rows = 150
    total = 600

    async def chunks() -> AsyncIterator[bytes]:
        yield to_csv([])
        for start in range(0, total, 100):
            block = [row(package_name=f"Belanja rutin nomor {n}") for n in range(start, start + 100)]
            out = io.StringIO()
            csv.writer(out).writerows(block)
            yield out.getvalue().encode()

    ppk = t.ppk()
    job = ok(await ppk.post("/recordings/imports", content=chunks(), headers={"content-type": "text/csv"}), 202)
    assert job["total_rows"] == total
    seen: list[int] = []

    async def done() -> bool:
        current = ok(await ppk.get(f"/recordings/imports/{job['id']}"))
        seen.append(current["processed_rows"])
        return current["status"] == "completed"

    await eventually(done, timeout_s=60)
    assert seen == sorted(seen)
    assert seen[-1] == total
    assert all(n % 150 == 0 for n in seen)
    first = ok(await ppk.get(f"/recordings/imports/{job['id']}/rows", params={"limit": 500}))
    assert len(first["items"]) == 500
    assert first["next_cursor"]
    assert (await t.sql("SELECT COUNT(*) FROM recordings"))[0][0] == total


async def test_bad_files_are_refused_before_any_work(tender: Tender) -> None:
    t = tender
    ppk = t.ppk()
    bad = to_csv([row()], header=[*HEADER[:-1], "bukti"])
    body = problem(await ppk.post("/recordings/imports", content=bad), 422, "file")
    assert "bukti" in body["detail"]
    problem(await ppk.post("/recordings/imports", content=to_csv([], header=HEADER[1:])), 422, "file")
    problem(await ppk.post("/recordings/imports", content=b""), 422, "file")
    problem(await ppk.post("/recordings/imports", content=to_csv([])), 422, "file")
    problem(await ppk.post("/recordings/imports", content=b"kind,pagu\n\xff\xfe\n"), 422, "file")
    problem(await t.vendor("v1").post("/recordings/imports", content=to_csv([row()])), 403)
    problem(await t.ppk().get("/recordings/imports/nope"), 404)
    assert (await t.sql("SELECT COUNT(*) FROM recording_imports"))[0][0] == 0


async def test_an_import_resumes_after_a_restart_without_importing_a_row_twice(
    issuer: TestIssuer, database_url: str, broker: BrokerSettings, tmp_path: Path
) -> None:
    settings = settings_for(database_url, broker, tmp_path / "files", import_batch_rows=3)
    rows = [row(package_name=f"Belanja rutin nomor {n}") for n in range(10)]
    rows.insert(4, row(pagu="lima puluh juta"))  # row 5 is rejected: a restart must not report it twice either
    token = issuer.token("ppk-1", ["ppk"], opd_id="dinkes")
    headers = {"authorization": f"Bearer {token}", "content-type": "text/csv"}

    first = service_app(settings, ManualClock(START), issuer)
    async with serve(first) as base, httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
        # The test, not the background importer, decides how far the job gets before the service stops.
        [background] = [t for t in first.state.runtime.tasks if t.get_name() == "tender-recording-import"]
        background.cancel()
        job = ok(await client.post("/recordings/imports", content=to_csv(rows)), 202)
        assert await first.state.importer.batch(job["id"])
        assert await first.state.importer.batch(job["id"])
        stopped = ok(await client.get(f"/recordings/imports/{job['id']}"))
        assert (stopped["status"], stopped["processed_rows"], stopped["rejected_rows"]) == ("running", 6, 1)

    # A new process on the same database and storage picks the job up where the last batch committed.
    second = service_app(settings, ManualClock(START), issuer)
    async with serve(second) as base, httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
        done = await finished(Tender(base, second, ManualClock(START), issuer, settings), client, job["id"])
        assert (done["status"], done["processed_rows"], done["accepted_rows"], done["rejected_rows"]) == (
            "completed",
            11,
            10,
            1,
        )
        report = ok(await client.get(f"/recordings/imports/{job['id']}/rows", params={"limit": 100}))["items"]
        assert [r["row"] for r in report] == list(range(1, 12))
        async with second.state.runtime.sessions() as session:
            names = (await session.execute(text("SELECT data FROM recordings"))).scalars().all()
            events = (
                await session.execute(
                    text("SELECT COUNT(*) FROM eproc_outbox WHERE type = 'tender.purchase_recorded.v1'")
                )
            ).scalar_one()
        recorded = sorted((n if isinstance(n, dict) else json.loads(n))["package_name"] for n in names)
        assert recorded == sorted(f"Belanja rutin nomor {n}" for n in range(10))  # each row once
        assert events == 10
