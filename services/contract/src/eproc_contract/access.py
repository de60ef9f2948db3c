"""Who may do what to a contract (object level), on top of the roles the gateway already checked.

The PPK of the contract's OPD manages it; the vendor sees, signs and reports on its own contracts
only (another vendor's contract answers 404, so its existence is not revealed); an admin may read
any contract but acts on none (signatures and payments are the PPK's own acts). Auditors read
contract histories through the audit service's assignments, not here.
"""

from __future__ import annotations

from typing import Any

from eproc_shared.auth import Principal, Role, ensure_opd, ensure_own_vendor, forbidden


def ensure_ppk(principal: Principal, contract: Any) -> None:
    if not principal.has_role(Role.PPK):
        raise forbidden("Only the PPK of the contract's agency (OPD) manages a contract.")
    ensure_opd(principal, contract["opd_id"], roles=(Role.PPK,))


def ensure_vendor(principal: Principal, contract: Any) -> None:
    if not principal.has_role(Role.VENDOR):
        raise forbidden("Only the contract's vendor does this.")
    ensure_own_vendor(principal, contract["vendor_id"], what="contract")


def ensure_party(principal: Principal, contract: Any) -> str:
    """The PPK of the OPD or the contract's own vendor; answers which party is acting."""
    if principal.has_role(Role.PPK):
        ensure_ppk(principal, contract)
        return "ppk"
    if principal.has_role(Role.VENDOR):
        ensure_vendor(principal, contract)
        return "vendor"
    raise forbidden("Only the contract's PPK or its vendor does this.")


def ensure_reader(principal: Principal, contract: Any) -> None:
    if principal.is_admin:
        return
    if principal.has_role(Role.VENDOR):
        ensure_own_vendor(principal, contract["vendor_id"], what="contract")
        return
    if principal.has_role(Role.PPK):
        ensure_opd(principal, contract["opd_id"], roles=(Role.PPK,))
        return
    raise forbidden("Your role cannot read contracts; see the public contract record instead.")
