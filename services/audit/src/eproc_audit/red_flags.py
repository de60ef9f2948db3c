"""Integrity red flags as open-contracting monitors use them: pure rules over what the log taught.

Each rule looks at facts (a package, its bids, other awards, a contract amendment) and returns the
flags they justify, each with a stable ``key`` (so raising it again is a no-op: replays and
re-evaluations change nothing), an explanation in plain words and the evidence: the sequence numbers
of the log entries the facts came from. Shares are compared in basis points with integer arithmetic
on integer Rupiah, never with floats.

Explanations carry only what is public once the flag can be raised (package and vendor ids, prices
after the winner announcement, dates): a flag about bids is only raised after the bids were opened,
and never names a network address or a document hash (private facts of the internal topic).
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache

from eproc_audit.settings import AuditSettings

SINGLE_BIDDER = "single_bidder"
SHORT_BIDDING_PERIOD = "short_bidding_period"
PRICE_NEAR_HPS = "price_near_hps"
REPEAT_WINNER = "repeat_winner"
WINNER_NOT_LOWEST = "winner_not_lowest"
SHARED_BID_DOCUMENT = "shared_bid_document"
SHARED_SUBMISSION_METADATA = "shared_submission_metadata"
SPLIT_PURCHASE = "split_purchase"
AMENDMENT_NEAR_CAP = "amendment_near_cap"
AWARD_TOO_FAST = "award_too_fast"
AWARD_TOO_SLOW = "award_too_slow"
KINDS = (
    SINGLE_BIDDER, SHORT_BIDDING_PERIOD, PRICE_NEAR_HPS, REPEAT_WINNER, WINNER_NOT_LOWEST, SHARED_BID_DOCUMENT,
    SHARED_SUBMISSION_METADATA, SPLIT_PURCHASE, AMENDMENT_NEAR_CAP, AWARD_TOO_FAST, AWARD_TOO_SLOW,
)  # fmt: skip


@dataclass(frozen=True)
class Flag:
    key: str
    kind: str
    explanation: str
    evidence: tuple[int, ...]
    package_id: str | None = None
    vendor_id: str | None = None
    opd_id: str | None = None
    contract_id: str | None = None
    record_id: str | None = None


@dataclass(frozen=True)
class Package:
    package_id: str
    opd_id: str | None = None
    method: str | None = None
    evaluation_system: str | None = None
    hps: int | None = None
    kbli_codes: tuple[str, ...] = ()
    announced_at: datetime | None = None
    announced_seq: int | None = None
    submission_ends_at: datetime | None = None
    schedule_seq: int | None = None
    bidders: int | None = None
    opened_seq: int | None = None
    winner_vendor_id: str | None = None
    winning_price: int | None = None
    lowest_price: int | None = None
    lowest_vendor_id: str | None = None
    winner_seq: int | None = None
    awarded_at: datetime | None = None
    awarded_price: int | None = None
    award_seq: int | None = None


@dataclass(frozen=True)
class Bid:
    seq: int
    vendor_id: str
    receipt_sha256: str
    submitter_address: str | None = None
    document_digests: tuple[str, ...] = ()


@dataclass(frozen=True)
class DirectPurchase:
    """A direct purchase judged for splitting: a platform award of a direct method, or a recorded purchase."""

    package_id: str | None
    record_id: str | None
    name: str  # as explanations name it
    opd_id: str
    vendor_id: str | None
    kbli_codes: tuple[str, ...]
    on: date  # calendar date in Asia/Jakarta: of the award, or the start of the recorded purchase
    value: int  # awarded price, or realised value
    seq: int  # the log entry it comes from

    @property
    def ref(self) -> str:
        return self.package_id if self.package_id is not None else f"record:{self.record_id}"


@dataclass(frozen=True)
class Amendment:
    contract_id: str
    package_id: str
    opd_id: str
    vendor_id: str
    amendment_number: int
    original_value: int
    added_value_total: int
    seq: int
    evidence: tuple[int, ...] = field(default=())


def _evidence(*seqs: int | None) -> tuple[int, ...]:
    return tuple(sorted({s for s in seqs if s is not None}))


def _days(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 86400:.1f} days"


def package_flags(p: Package, bids: Sequence[Bid], t: AuditSettings) -> list[Flag]:
    """Flags of one package from its own facts."""
    flags: list[Flag] = []
    at = {"package_id": p.package_id, "opd_id": p.opd_id}
    competitive = p.method in t.flag_competitive_methods
    if p.bidders is not None and 1 <= p.bidders <= t.flag_single_bidder_max and p.opened_seq is not None:
        flags.append(
            Flag(
                f"{SINGLE_BIDDER}:{p.package_id}",
                SINGLE_BIDDER,
                f"Only {p.bidders} bid(s) were opened for package {p.package_id} "
                f"(threshold: at most {t.flag_single_bidder_max}).",
                _evidence(p.opened_seq),
                **at,
            )
        )
    if competitive and p.announced_at and p.submission_ends_at:
        period = p.submission_ends_at - p.announced_at
        if period < timedelta(days=t.flag_min_bidding_days):
            flags.append(
                Flag(
                    f"{SHORT_BIDDING_PERIOD}:{p.package_id}",
                    SHORT_BIDDING_PERIOD,
                    f"Package {p.package_id} ({p.method}) gave vendors {_days(period)} from announcement to the bid "
                    f"deadline; the threshold is {t.flag_min_bidding_days} days.",
                    _evidence(p.announced_seq, p.schedule_seq),
                    **at,
                )
            )
    near_hps = p.winning_price is not None and p.hps and p.winning_price <= p.hps
    if near_hps and p.winning_price * 10_000 >= p.hps * t.flag_near_hps_bp:  # type: ignore[operator]
        flags.append(
            Flag(
                f"{PRICE_NEAR_HPS}:{p.package_id}",
                PRICE_NEAR_HPS,
                f"The winning price Rp{p.winning_price:,} of package {p.package_id} is at least "
                f"{t.flag_near_hps_bp / 100:.2f}% of its HPS Rp{p.hps:,}.",
                _evidence(p.winner_seq),
                vendor_id=p.winner_vendor_id,
                **at,
            )
        )
    if (
        p.winning_price is not None
        and p.lowest_price is not None
        and p.winning_price > p.lowest_price
        and p.evaluation_system not in ("scoring", "quality_cost")
    ):
        flags.append(
            Flag(
                f"{WINNER_NOT_LOWEST}:{p.package_id}",
                WINNER_NOT_LOWEST,
                f"Package {p.package_id} was won by {p.winner_vendor_id} at Rp{p.winning_price:,} while "
                f"{p.lowest_vendor_id} offered Rp{p.lowest_price:,}"
                f"{'' if p.evaluation_system else ' (evaluation system unknown)'}.",
                _evidence(p.winner_seq),
                vendor_id=p.winner_vendor_id,
                **at,
            )
        )
    if p.opened_seq is not None:
        flags.extend(_shared_receipts(p, bids))
        flags.extend(_shared_metadata(p, bids, t))
    if competitive and p.announced_at and p.awarded_at:
        took = p.awarded_at - p.announced_at
        evidence = _evidence(p.announced_seq, p.award_seq)
        if took < timedelta(days=t.flag_min_award_days):
            flags.append(
                Flag(
                    f"{AWARD_TOO_FAST}:{p.package_id}",
                    AWARD_TOO_FAST,
                    f"Package {p.package_id} was awarded {_days(took)} after its announcement "
                    f"(threshold: at least {t.flag_min_award_days} days).",
                    evidence,
                    vendor_id=p.winner_vendor_id,
                    **at,
                )
            )
        elif took > timedelta(days=t.flag_max_award_days):
            flags.append(
                Flag(
                    f"{AWARD_TOO_SLOW}:{p.package_id}",
                    AWARD_TOO_SLOW,
                    f"Package {p.package_id} was awarded {_days(took)} after its announcement "
                    f"(threshold: at most {t.flag_max_award_days} days).",
                    evidence,
                    vendor_id=p.winner_vendor_id,
                    **at,
                )
            )
    return flags


def _shared_receipts(p: Package, bids: Sequence[Bid]) -> list[Flag]:
    """Different vendors whose sealed bids have the same SHA-256: the same bytes were submitted twice."""
    by_hash: dict[str, list[Bid]] = defaultdict(list)
    for bid in bids:
        by_hash[bid.receipt_sha256].append(bid)
    flags = []
    for digest, same in sorted(by_hash.items()):
        vendors = sorted({b.vendor_id for b in same})
        if len(vendors) < 2:
            continue
        flags.append(
            Flag(
                f"{SHARED_BID_DOCUMENT}:{p.package_id}:{digest}",
                SHARED_BID_DOCUMENT,
                f"Vendors {', '.join(vendors)} submitted byte-identical sealed bids (the same SHA-256 receipt) "
                f"for package {p.package_id}.",
                _evidence(*(b.seq for b in same)),
                package_id=p.package_id,
                opd_id=p.opd_id,
            )
        )
    return flags


@lru_cache(maxsize=16)
def _networks(cidrs: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)


def network_address(raw: str | None, ignore: Sequence[str] = ()) -> str | None:
    """One spelling per address (an IPv4-mapped IPv6 address is the IPv4 one; a zone is dropped), or ``None``
    when there is none or it lies in an ignored network. Something that is not an IP address is compared as
    written."""
    text = (raw or "").strip()
    if not text:
        return None
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return text.lower()
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in network for network in _networks(tuple(ignore))):
        return None
    return address.compressed


def _vendors_key(vendors: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(vendors).encode()).hexdigest()[:32]


def _shared_metadata(p: Package, bids: Sequence[Bid], t: AuditSettings) -> list[Flag]:
    """Bids of different vendors sent from one network address, or carrying a document with the same digest.

    One flag per package, kind of sharing and set of vendors: several addresses or documents shared by the same
    vendors are one finding. A vendor re-submitting from its own address shares nothing with anyone. Every
    submission counts, replaced ones included: the sharing happened. The evidence is the bids' log entries;
    the explanation names the vendors, never the address or the hash.
    """
    by_address: dict[str, list[Bid]] = defaultdict(list)
    by_document: dict[str, list[Bid]] = defaultdict(list)
    for bid in bids:
        address = network_address(bid.submitter_address, t.flag_shared_address_ignore)
        if address is not None:
            by_address[address].append(bid)
        for digest in {d.strip().lower() for d in bid.document_digests} - {""}:
            by_document[digest].append(bid)
    flags = []
    for what, groups in (("address", by_address), ("document", by_document)):
        shared: dict[tuple[str, ...], list[list[Bid]]] = defaultdict(list)
        for same in groups.values():
            vendors = tuple(sorted({b.vendor_id for b in same}))
            if len(vendors) >= 2:
                shared[vendors].append(same)
        for vendors, items in sorted(shared.items()):
            names = ", ".join(vendors)
            if what == "address":
                how_many = f" ({len(items)} addresses)" if len(items) > 1 else ""
                explanation = (
                    f"Bids of vendors {names} for package {p.package_id} were submitted from the same network "
                    f"address{how_many}."
                )
            else:
                explanation = (
                    f"Vendors {names} attached {len(items)} identical document(s) (the same keyed digest of "
                    f"the plaintext) to their bids for package {p.package_id}."
                )
            flags.append(
                Flag(
                    f"{SHARED_SUBMISSION_METADATA}:{p.package_id}:{what}:{_vendors_key(vendors)}",
                    SHARED_SUBMISSION_METADATA,
                    explanation,
                    _evidence(*(b.seq for same in items for b in same)),
                    package_id=p.package_id,
                    opd_id=p.opd_id,
                )
            )
    return flags


def repeat_winner(p: Package, wins: Sequence[Package], t: AuditSettings) -> list[Flag]:
    """``wins``: awards at the same OPD to the same vendor (``p`` included). Flags ``p`` when it is at least the
    threshold-th win within the window ending at its award."""
    if not (p.awarded_at and p.winner_vendor_id and p.opd_id):
        return []
    window = timedelta(days=t.flag_repeat_window_days)
    recent = [w for w in wins if w.awarded_at and p.awarded_at - window <= w.awarded_at <= p.awarded_at]
    if len(recent) < t.flag_repeat_wins:
        return []
    return [
        Flag(
            f"{REPEAT_WINNER}:{p.opd_id}:{p.winner_vendor_id}:{p.package_id}",
            REPEAT_WINNER,
            f"Vendor {p.winner_vendor_id} won {len(recent)} packages at OPD {p.opd_id} within "
            f"{t.flag_repeat_window_days} days (threshold {t.flag_repeat_wins}), the latest {p.package_id}.",
            _evidence(*(w.award_seq for w in recent)),
            package_id=p.package_id,
            vendor_id=p.winner_vendor_id,
            opd_id=p.opd_id,
        )
    ]


def split_purchase(p: DirectPurchase, others: Sequence[DirectPurchase], t: AuditSettings) -> list[Flag]:
    """``others``: direct purchases (awards of ``FLAG_DIRECT_METHODS`` and recorded purchases of those methods) at
    the same OPD. Flags ``p`` when, with the purchases from the same vendor (or sharing a KBLI code) within the
    window around it, each under the ceiling, the sum exceeds the ceiling. Every member of such a group is
    flagged (each is judged with its neighbours), whatever the arrival order."""
    if p.value > t.flag_direct_ceiling:
        return []
    window = t.flag_split_window_days
    near = [
        o for o in others if o.ref != p.ref and o.value <= t.flag_direct_ceiling and abs((o.on - p.on).days) <= window
    ]
    groups: list[tuple[str, str, list[DirectPurchase]]] = []
    if p.vendor_id:
        groups.append(("vendor", p.vendor_id, [o for o in near if o.vendor_id == p.vendor_id]))
    for code in sorted(set(p.kbli_codes)):
        groups.append(("kbli", code, [o for o in near if code in o.kbli_codes]))
    flags = []
    for by, value, group in groups:
        if not group:
            continue
        total = p.value + sum(o.value for o in group)
        if total <= t.flag_direct_ceiling:
            continue
        members = sorted([p.name, *(o.name for o in group)])
        # A platform award keeps the key it had before recorded purchases were judged too.
        subject = p.package_id if p.package_id is not None else f"record:{p.record_id}"
        flags.append(
            Flag(
                f"{SPLIT_PURCHASE}:{subject}:{by}:{value}",
                SPLIT_PURCHASE,
                f"OPD {p.opd_id} made {len(members)} direct purchases with the same {by} {value} within "
                f"{window} days ({', '.join(members)}), each under the ceiling "
                f"Rp{t.flag_direct_ceiling:,} but together Rp{total:,}.",
                _evidence(p.seq, *(o.seq for o in group)),
                package_id=p.package_id,
                vendor_id=p.vendor_id if by == "vendor" else None,
                opd_id=p.opd_id,
                record_id=p.record_id,
            )
        )
    return flags


def amendment_near_cap(a: Amendment, t: AuditSettings) -> list[Flag]:
    """Value added by amendments at or above the configured share of the cap (or beyond the cap)."""
    if a.original_value <= 0 or a.added_value_total <= 0:
        return []
    # added / original >= cap_bp/10^4 * near_bp/10^4, in integers.
    if a.added_value_total * 100_000_000 < a.original_value * t.flag_amendment_cap_bp * t.flag_amendment_near_cap_bp:
        return []
    over = a.added_value_total * 10_000 > a.original_value * t.flag_amendment_cap_bp
    level = "over" if over else "near"
    return [
        Flag(
            f"{AMENDMENT_NEAR_CAP}:{a.contract_id}:{level}",
            AMENDMENT_NEAR_CAP,
            f"Amendments to contract {a.contract_id} added Rp{a.added_value_total:,} to its original value "
            f"Rp{a.original_value:,}, {'beyond' if over else 'close to'} the cap of "
            f"{t.flag_amendment_cap_bp / 100:.2f}% (amendment {a.amendment_number}).",
            _evidence(a.seq, *a.evidence),
            package_id=a.package_id,
            vendor_id=a.vendor_id,
            opd_id=a.opd_id,
            contract_id=a.contract_id,
        )
    ]
