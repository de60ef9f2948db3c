"""e-Audit: assignments (surat tugas), what an auditor may read within them and when, timelines with
filters, paging and CSV, and every auditor read recorded in the log; events come over the real broker."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

from audit_test_support import Service

from eproc_shared.testing import eventually


class World:
    """Packages of two OPDs and two years, a contract, a vendor bidding on two packages."""

    def __init__(self, service: Service) -> None:
        run = uuid.uuid4().hex[:6]
        self.run = run
        self.s = service
        self.pa, self.pb, self.pc = f"PA-{run}", f"PB-{run}", f"PC-{run}"
        self.contract, self.vendor = f"CA-{run}", f"V-{run}"
        self.ids: dict[str, str] = {}

    async def build(self) -> None:
        t = "eproc.tender.internal"
        for name, pkg, opd, year in (
            ("a", self.pa, "dinkes", 2026),
            ("b", self.pb, "dishub", 2026),
            ("c", self.pc, "dinkes", 2025),
        ):
            self.ids[f"created_{name}"] = await self.s.send(
                t,
                "tender.package_registered.v1",
                {"package_id": pkg, "opd_id": opd, "fiscal_year": year, "created_by": f"ppk-{opd}"},
                key=pkg,
            )
        # Events naming only the package: found by their key (tender domain) or payload.
        self.ids["bid_a"] = await self.s.send(
            t, "tender.bid_submitted.v1", {"package_id": self.pa, "vendor_id": self.vendor, "submitted_by": "vu-1"}
        )
        self.ids["bid_b"] = await self.s.send(
            t, "tender.bid_submitted.v1", {"package_id": self.pb, "vendor_id": self.vendor, "submitted_by": "vu-1"}
        )
        self.ids["opened_a"] = await self.s.send(t, "tender.opened.v2", {"opened_by": "pokja-1"}, key=self.pa)
        self.ids["contract_a"] = await self.s.send(
            "eproc.contract.internal",
            "contract.signed.v1",
            {"contract_id": self.contract, "package_id": self.pa, "vendor_id": self.vendor, "signed_by": "ppk-dinkes"},
            key=self.contract,
        )
        self.ids["contract_a_later"] = await self.s.send(
            "eproc.contract.internal", "contract.handed_over.v1", {"received_by": "ppk-dinkes"}, key=self.contract
        )
        self.ids["vendor_profile"] = await self.s.send(
            "eproc.vendor.internal", "vendor.verified.v1", {"verified_by": "verifier-1"}, key=self.vendor
        )
        wanted = tuple(self.ids.values())

        async def all_logged() -> bool:
            return len(await self.s.logged(*wanted)) == len(wanted)

        await eventually(all_logged)

    def names(self, items: list[dict[str, Any]]) -> set[str]:
        back = {v: k for k, v in self.ids.items()}
        return {back.get(i["event_id"], "?") for i in items}


async def _get(service: Service, path: str, headers: dict[str, str], **params: Any) -> Any:
    return await service.client.get(path, params=params, headers=headers)


async def _assign(service: Service, **body: Any) -> dict[str, Any]:
    base = {"auditor_id": "auditor-1", "letter_number": "ST-700/001/Inspektorat/2026"}
    response = await service.client.post("/assignments", json={**base, **body}, headers=service.admin)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_an_auditor_reads_its_packages_only_while_the_assignment_runs(service: Service) -> None:
    w = World(service)
    await w.build()
    auditor = service.auditor("auditor-1")
    assert (await _get(service, f"/timelines/package/{w.pa}", auditor)).status_code == 403  # no assignment yet
    assignment = await _assign(service, package_ids=[w.pa], valid_from="2026-03-01", valid_until="2026-03-31")
    assert assignment["active"] is True

    package = await _get(service, f"/timelines/package/{w.pa}", auditor)
    assert package.status_code == 200, package.text
    assert w.names(package.json()["items"]) == {"created_a", "bid_a", "opened_a", "contract_a", "contract_a_later"}
    assert (await _get(service, f"/timelines/package/{w.pb}", auditor)).status_code == 403
    assert (await _get(service, f"/timelines/contract/{w.contract}", auditor)).status_code == 200
    vendor = await _get(service, f"/timelines/vendor/{w.vendor}", auditor)
    assert w.names(vendor.json()["items"]) == {"bid_a", "contract_a"}  # not its bid elsewhere, not its profile

    # Filters: type, actor, time; paging; CSV.
    only_bids = await _get(service, f"/timelines/package/{w.pa}", auditor, type="tender.bid_submitted.v1")
    assert w.names(only_bids.json()["items"]) == {"bid_a"}
    by_actor = await _get(service, f"/timelines/package/{w.pa}", auditor, actor="ppk-dinkes")
    assert w.names(by_actor.json()["items"]) == {"created_a", "contract_a", "contract_a_later"}
    later = await _get(service, f"/timelines/package/{w.pa}", auditor, since="2100-01-01T00:00:00+07:00")
    assert later.json()["items"] == []
    naive = await _get(service, f"/timelines/package/{w.pa}", auditor, since="2026-01-01T00:00:00")
    assert naive.status_code == 422
    assert naive.json()["errors"][0]["field"] == "since"
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await _get(service, f"/timelines/package/{w.pa}", auditor, **params)).json()
        seen.extend(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert [i["seq"] for i in seen] == sorted(i["seq"] for i in package.json()["items"])
    exported = await _get(service, f"/timelines/package/{w.pa}", auditor, format="csv", limit=3)
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [int(r["seq"]) for r in rows] == [i["seq"] for i in seen[:3]]
    assert exported.headers["x-next-cursor"]
    assert rows[0]["hash"] == seen[0]["hash"]
    bad_cursor = await _get(service, f"/timelines/package/{w.pa}", auditor, cursor="!!")
    assert bad_cursor.status_code == 400

    # Every read is in the log, with what was asked and what came back.
    async def reads() -> list[dict[str, Any]] | None:
        # The broker is shared by the whole session: keep this run's reads.
        found = [
            e
            for e in await service.entries(type="audit.auditor_read.v1")
            if e["actor"] == "auditor-1" and e["data"]["resource"].endswith(w.run)
        ]
        return found if len(found) >= 10 else None

    recorded = await eventually(reads)
    resources = [r["data"]["resource"] for r in recorded]
    assert f"package/{w.pa}" in resources
    assert f"vendor/{w.vendor}" in resources
    csv_read = next(r for r in recorded if r["data"]["export_format"] == "csv")
    assert csv_read["data"]["entries"] == 3
    assert csv_read["data"]["assignment_ids"] == [assignment["id"]]
    assert f"package/{w.pb}" not in resources  # a refused read returned nothing and recorded nothing

    # The day after the letter ends (Asia/Jakarta), nothing.
    service.clock.advance(days=29, hours=14)  # 2026-03-31 17:00 UTC = 1 April 00:00 in Jakarta
    expired = await _get(service, f"/timelines/package/{w.pa}", auditor)
    assert expired.status_code == 403
    assert "no active assignment" in expired.json()["detail"]
    mine = (await _get(service, "/assignments", auditor)).json()
    assert [(a["id"], a["active"]) for a in mine] == [(assignment["id"], False)]


async def test_an_opd_and_year_assignment_and_its_revocation(service: Service) -> None:
    w = World(service)
    await w.build()
    auditor = service.auditor("auditor-2")
    assignment = await _assign(
        service,
        auditor_id="auditor-2",
        opd_id="dinkes",
        fiscal_year=2026,
        valid_from="2026-03-02",
        valid_until="2026-03-02",
    )
    assert (await _get(service, f"/timelines/package/{w.pa}", auditor)).status_code == 200
    assert (await _get(service, f"/timelines/package/{w.pc}", auditor)).status_code == 403  # dinkes, but 2025
    assert (await _get(service, f"/timelines/package/{w.pb}", auditor)).status_code == 403  # another OPD
    opd = await _get(service, "/timelines/opd/dinkes", auditor)
    names = w.names(opd.json()["items"])
    assert {"created_a", "bid_a", "opened_a", "contract_a", "contract_a_later"} <= names
    assert not names & {"created_c", "created_b", "bid_b", "vendor_profile"}
    assert all(not i["type"].startswith("audit.") for i in opd.json()["items"])
    # The admin sees everything, and its reads are not auditor reads.
    admin_view = await _get(service, "/timelines/opd/dinkes", service.admin)
    assert {"created_a", "created_c"} <= w.names(admin_view.json()["items"])

    revoked = await service.client.post(f"/assignments/{assignment['id']}/revoke", headers=service.admin)
    assert (revoked.status_code, revoked.json()["active"]) == (200, False)
    assert (
        await service.client.post(f"/assignments/{assignment['id']}/revoke", headers=service.admin)
    ).status_code == 409
    assert (await _get(service, f"/timelines/package/{w.pa}", auditor)).status_code == 403

    # Granting and revoking are in the log too.
    async def grants() -> list[dict[str, Any]] | None:
        found = [
            e["type"]
            for e in await service.entries(type=["audit.assignment_registered.v1", "audit.assignment_revoked.v1"])
            if e["data"]["assignment_id"] == assignment["id"]
        ]
        return found if len(found) == 2 else None

    assert await eventually(grants) == ["audit.assignment_registered.v1", "audit.assignment_revoked.v1"]


async def test_assignment_rules_and_roles(service: Service) -> None:
    both = await service.client.post(
        "/assignments",
        json={
            "auditor_id": "a",
            "letter_number": "ST-1",
            "package_ids": ["P-1"],
            "opd_id": "dinkes",
            "fiscal_year": 2026,
            "valid_from": "2026-03-01",
            "valid_until": "2026-03-31",
        },
        headers=service.admin,
    )
    assert both.status_code == 422
    assert both.headers["content-type"] == "application/problem+json"
    assert both.json()["errors"][0]["field"] == "package_ids"
    backwards = await service.client.post(
        "/assignments",
        json={
            "auditor_id": "a",
            "letter_number": "ST-1",
            "package_ids": ["P-1"],
            "valid_from": "2026-03-31",
            "valid_until": "2026-03-01",
        },
        headers=service.admin,
    )
    assert [e["field"] for e in backwards.json()["errors"]] == ["valid_until"]
    year_only = await service.client.post(
        "/assignments",
        json={
            "auditor_id": "a",
            "letter_number": "ST-1",
            "fiscal_year": 2026,
            "valid_from": "2026-03-01",
            "valid_until": "2026-03-01",
        },
        headers=service.admin,
    )
    assert [e["field"] for e in year_only.json()["errors"]] == ["opd_id"]
    body = {
        "auditor_id": "a",
        "letter_number": "ST-1",
        "package_ids": ["P-1"],
        "valid_from": "2026-03-01",
        "valid_until": "2026-03-02",
    }
    assert (await service.client.post("/assignments", json=body, headers=service.auditor())).status_code == 403
    assert (await service.client.post("/assignments", json=body)).status_code == 401
    official = service.auth("ppk-1", "ppk", opd_id="dinkes")
    assert (await _get(service, "/timelines/package/P-1", official)).status_code == 403
    assert (await _get(service, "/entries", service.auditor())).status_code == 403
    assert (await service.client.get("/assignments", headers=service.admin)).json() == []
