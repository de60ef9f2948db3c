"""A Pokja as a committee of 3 or 5 members: any member acts; the winner is determined by a majority of them."""

from __future__ import annotations

from tender_test_support import DEADLINE, Tender, announced_package, at, bid, ok, package_body, problem, register

MEMBERS = ["anggota-1", "anggota-2", "anggota-3"]


async def test_any_member_acts_and_the_winner_needs_a_majority_of_the_same_outcome(tender: Tender) -> None:
    t = tender
    ppk = t.ppk()
    draft = ok(await ppk.post("/packages", json=package_body()), 201)["id"]
    for bad, field in (
        ({"members": MEMBERS[:2]}, "members"),
        ({"members": [*MEMBERS[:2], MEMBERS[0]]}, "members"),
        ({}, "pokja_id"),
    ):
        problem(await ppk.post(f"/packages/{draft}/assignment", json=bad), 422, field)
    assert ok(await ppk.get(f"/packages/{draft}"))["status"] == "draft"  # nothing changed
    assert await t.events("tender.package_assigned.v1") == [], "a refused assignment tells no one"

    assignment = {"pokja_id": "pokja-konstruksi", "members": MEMBERS}
    package_id = await announced_package(t, assignment=assignment)  # member 1 schedules and announces
    shown = ok(await t.public().get(f"/packages/{package_id}"))
    assert shown["pokja_id"] == "pokja-konstruksi"
    assert shown["pokja_members"] == MEMBERS
    [assigned] = await t.events("tender.package_assigned.v1")
    assert (assigned["package_id"], assigned["assigned_role"]) == (package_id, "pokja")
    assert assigned["assignee_ids"] == MEMBERS, "every member hears that the package waits on them"
    await register(t, package_id, "k1", "k2")
    m1, m2, m3, outsider = (t.pokja(m) for m in (*MEMBERS, "pokja-1"))
    t.at(at(1, 10))
    question = ok(await t.vendor("k1").post(f"/packages/{package_id}/questions", json={"question": "Boleh?"}), 201)
    problem(
        await outsider.post(f"/packages/{package_id}/questions/{question['id']}/answer", json={"answer": "Ya"}), 403
    )
    ok(await m2.post(f"/packages/{package_id}/questions/{question['id']}/answer", json={"answer": "Ya."}))
    t.at(at(2, 10))
    ok(await t.vendor("k1").post(f"/packages/{package_id}/bids", json=bid(900_000_000)), 201)
    ok(await t.vendor("k2").post(f"/packages/{package_id}/bids", json=bid(950_000_000)), 201)
    t.at(DEADLINE)
    ok(await m3.post(f"/packages/{package_id}/opening"))
    passed = {"administrative_passed": True, "technical_passed": True}
    for vendor_id in ("k1", "k2"):
        ok(await m1.put(f"/packages/{package_id}/evaluations/{vendor_id}", json=passed))
    ok(await m2.put(f"/packages/{package_id}/evaluations/k1", json={"qualification_passed": True}))

    # One approval of three is not a decision; an approval of a different outcome does not count with it.
    t.at(at(9, 10))
    first = await m1.post(f"/packages/{package_id}/winner")
    assert first.status_code == 202
    assert first.json()["status"] == "evaluation"
    assert [a["user_id"] for a in first.json()["committee_approvals"]] == ["anggota-1"]
    problem(await outsider.post(f"/packages/{package_id}/winner"), 403)
    ok(
        await m3.put(
            f"/packages/{package_id}/evaluations/k1",
            json={"qualification_passed": False, "qualification_reason": "SBU kedaluwarsa"},
        )
    )
    ok(await m3.put(f"/packages/{package_id}/evaluations/k2", json={"qualification_passed": True}))
    assert (await m2.post(f"/packages/{package_id}/winner")).status_code == 202  # m1 approved k1, m2 approves k2
    decided = ok(await m3.post(f"/packages/{package_id}/winner"))
    assert decided["status"] == "winner_announced"
    assert decided["winner"]["vendor_id"] == "k2"
    (event,) = await t.events("tender.committee_decided.v1")
    assert event["approved_by"] == ["anggota-2", "anggota-3"]
    assert event["members"] == MEMBERS
    assert event["winner_vendor_id"] == "k2"
