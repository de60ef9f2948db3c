"""Package documents (download with their hash), the PPK's own drafts (list and edit), the public list newest first."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta

import pytest
from tender_test_support import Tender, ok, package_body, problem, standard_schedule


async def test_drafts_are_listed_and_edited_by_their_ppk_and_documents_download_with_their_hash(
    tender: Tender,
) -> None:
    t = tender
    ppk, pokja, public = t.ppk(), t.pokja(), t.public()
    first = ok(await ppk.post("/packages", json=package_body(name="Rehabilitasi Gedung A")), 201)["id"]
    t.at(t.clock.now() + timedelta(minutes=1))
    second = ok(await ppk.post("/packages", json=package_body(name="Rehabilitasi Gedung B")), 201)["id"]
    ok(await t.ppk(sub="ppk-2").post("/packages", json=package_body(name="Paket PPK lain")), 201)

    # The PPK's own drafts, newest first, with cursor paging; others see none of them.
    page = ok(await ppk.get("/packages/drafts", params={"limit": 1}))
    assert [p["id"] for p in page["items"]] == [second]
    rest = ok(await ppk.get("/packages/drafts", params={"limit": 1, "cursor": page["next_cursor"]}))
    assert [p["id"] for p in rest["items"]] == [first]
    assert rest["next_cursor"] is None
    assert ok(await t.ppk(opd="dispora", sub="ppk-9").get("/packages/drafts"))["items"] == []
    problem(await t.vendor("v1").get("/packages/drafts"), 403)
    problem(await public.get("/packages/drafts"), 401)

    # Editing: validated as a whole, by its own PPK only, before announcement only.
    problem(await ppk.patch(f"/packages/{first}", json={"hps": 2_000_000_000}), 422, "hps")  # above the pagu
    problem(await ppk.patch(f"/packages/{first}", json={"pagu": 1.5}), 422, "pagu")
    problem(await ppk.patch(f"/packages/{first}", json={"method": "seleksi"}), 422, "method")  # not editable
    problem(await t.ppk(sub="ppk-2").patch(f"/packages/{first}", json={"name": "Diambil alih"}), 403)
    items = [{"description": "Struktur", "unit": "ls", "quantity": 1, "unit_price": 900_000_000}]
    edited = ok(
        await ppk.patch(
            f"/packages/{first}", json={"name": "Rehabilitasi Gedung A1", "hps": 900_000_000, "hps_items": items}
        )
    )
    assert edited["name"] == "Rehabilitasi Gedung A1"
    assert edited["hps"] == 900_000_000
    assert edited["pagu"] == 1_100_000_000
    assert ok(await public.get("/packages", params={"q": "A1"}))["items"] == []  # still a draft

    content = b"%PDF-1.4 dokumen pemilihan " * 100
    uploaded = ok(
        await ppk.put(
            f"/packages/{first}/documents/dokumen-pemilihan.pdf",
            content=content,
            headers={"content-type": "application/pdf"},
        ),
        201,
    )
    document_url = f"/packages/{first}/documents/{uploaded['id']}"
    problem(await public.get(document_url), 404)  # not public before the announcement
    own = await ppk.get(document_url)
    assert own.status_code == 200
    assert own.content == content

    ok(await ppk.post(f"/packages/{first}/assignment", json={"pokja_id": "pokja-1"}))
    ok(await pokja.put(f"/packages/{first}/schedule", json=standard_schedule()))
    ok(await pokja.post(f"/packages/{first}/announcement"))
    problem(await ppk.patch(f"/packages/{first}", json={"name": "Terlambat diubah"}), 409)
    assert first not in [p["id"] for p in ok(await ppk.get("/packages/drafts"))["items"]]

    downloaded = await public.get(document_url)
    assert downloaded.status_code == 200
    assert downloaded.content == content
    # The same under /public/..., the path the gateway opens to everyone.
    via_public_path = await public.get(f"/public{document_url}")
    assert via_public_path.status_code == 200
    assert via_public_path.content == content
    sha = hashlib.sha256(content).hexdigest()
    assert downloaded.headers["x-content-sha256"] == sha == uploaded["sha256"]
    assert downloaded.headers["repr-digest"] == f"sha-256=:{base64.b64encode(bytes.fromhex(sha)).decode()}:"
    assert downloaded.headers["content-type"] == "application/pdf"
    # A new version uploaded for an addendum stays the officials' until the addendum publishes it.
    staged = ok(await pokja.put(f"/packages/{first}/documents/dokumen-pemilihan.pdf", content=b"%PDF v2"), 201)
    assert staged["version"] == 2
    problem(await public.get(f"/packages/{first}/documents/{staged['id']}"), 404)
    assert (await pokja.get(f"/packages/{first}/documents/{staged['id']}")).content == b"%PDF v2"
    problem(await public.get(f"/packages/{second}/documents/{uploaded['id']}"), 404)  # another package's id


# Ordering and cursor paging over stored times: both databases.
@pytest.mark.databases("sqlite", "postgres")
async def test_the_public_list_is_newest_first_unless_asked_otherwise(tender: Tender) -> None:
    t = tender
    ppk, pokja, public = t.ppk(), t.pokja(), t.public()
    ids = []
    for name in ("Paket Pertama", "Paket Kedua", "Paket Ketiga"):
        package_id = ok(await ppk.post("/packages", json=package_body(name=name)), 201)["id"]
        ok(await ppk.post(f"/packages/{package_id}/assignment", json={"pokja_id": "pokja-1"}))
        ok(await pokja.put(f"/packages/{package_id}/schedule", json=standard_schedule()))
        t.at(t.clock.now().replace(microsecond=len(ids) + 1))  # announced one after the other
        ok(await pokja.post(f"/packages/{package_id}/announcement"))
        ids.append(package_id)
    seen: list[str] = []
    cursor = None
    while True:
        page = ok(await public.get("/packages", params={"limit": 2, **({"cursor": cursor} if cursor else {})}))
        seen += [p["id"] for p in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert seen == ids[::-1]
    oldest = ok(await public.get("/packages", params={"order": "oldest"}))
    assert [p["id"] for p in oldest["items"]] == ids
    # The same reads under /public/..., the path the gateway opens to everyone; drafts stay hidden there.
    assert [p["id"] for p in ok(await public.get("/public/packages"))["items"]] == ids[::-1]
    assert ok(await public.get(f"/public/packages/{ids[0]}"))["id"] == ids[0]
    draft = ok(await ppk.post("/packages", json=package_body(name="Belum diumumkan")), 201)["id"]
    assert draft not in [p["id"] for p in ok(await public.get("/public/packages"))["items"]]
    assert (await public.get(f"/public/packages/{draft}")).status_code in (403, 404)
    problem(await public.get("/packages", params={"order": "random"}), 422, "order")
