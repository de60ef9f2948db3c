"""Contract types (jenis kontrak) of Perpres 16/2018 art. 27.

Goods, works and other services: lumsum, harga satuan, gabungan lumsum dan harga satuan, terima jadi
(turnkey), kontrak payung. Consultancy: berbasis keluaran (lumsum), berbasis waktu penugasan, kontrak
payung. The tender service sends the package's type as free text; :func:`normalise` maps the usual
spellings and answers ``None`` for anything else, which the PPK then sets on the draft.
"""

from __future__ import annotations

CONTRACT_TYPES: dict[str, str] = {
    "lumsum": "Lumsum (also consultancy 'berbasis keluaran')",
    "harga_satuan": "Harga satuan (unit price)",
    "gabungan": "Gabungan lumsum dan harga satuan",
    "terima_jadi": "Terima jadi (turnkey)",
    "kontrak_payung": "Kontrak payung (framework)",
    "waktu_penugasan": "Berbasis waktu penugasan (consultancy, time based)",
}

_ALIASES = {
    "lump_sum": "lumsum",
    "lumpsum": "lumsum",
    "berbasis_keluaran": "lumsum",
    "unit_price": "harga_satuan",
    "gabungan_lumsum_dan_harga_satuan": "gabungan",
    "gabungan_lumsum_harga_satuan": "gabungan",
    "turnkey": "terima_jadi",
    "payung": "kontrak_payung",
    "framework": "kontrak_payung",
    "time_based": "waktu_penugasan",
    "berbasis_waktu_penugasan": "waktu_penugasan",
}

#: Time-based contracts exist for consultancy only.
CONSULTANCY_ONLY = frozenset({"waktu_penugasan"})
NOT_FOR_CONSULTANCY = frozenset({"harga_satuan", "gabungan", "terima_jadi"})


def normalise(raw: str | None) -> str | None:
    if not raw:
        return None
    key = raw.strip().lower().replace("-", "_").replace(" ", "_")
    key = _ALIASES.get(key, key)
    return key if key in CONTRACT_TYPES else None


def fits(contract_type: str, procurement_type: str | None) -> bool:
    """Whether the type is allowed for the procurement type (unknown procurement types are not judged)."""
    if procurement_type == "jasa_konsultansi":
        return contract_type not in NOT_FOR_CONSULTANCY
    if procurement_type is None:
        return True
    return contract_type not in CONSULTANCY_ONLY
