"""Events of the identity domain, published by the gateway on ``eproc.identity.internal``.

Usernames, e-mail addresses and contact names are personal data: they are marked private and
the topic is internal. Consumers: the vendor service (creates the vendor record of a newly
registered vendor user), the audit service (who was given which role, which keys exist).
"""

from __future__ import annotations

from pydantic import Field

from eproc_shared.events.catalogue import Event, event, private

TOPIC = "eproc.identity.internal"


@event("identity.vendor_user_registered", 1, TOPIC)
class VendorUserRegistered(Event):
    """A company registered itself: one vendor user now exists; the vendor service holds the company data."""

    user_id: str = Field(description="Id of the new user (the `sub` of its tokens).")
    vendor_id: str = Field(description="Id the vendor service uses for the company; the user's `vendor_id` claim.")
    company_name: str = Field(description="Company name as entered at registration.")
    tax_id: str | None = Field(default=None, description="Company NPWP as entered (not yet verified).")
    username: str = private(description="The sign-in name.")
    email: str = private(description="Contact e-mail of the registering person.")
    contact_name: str | None = private(default=None, description="Name of the registering person.")


@event("identity.user_created", 1, TOPIC)
class UserCreated(Event):
    """An administrator created an official's (or auditor's) account."""

    user_id: str
    roles: list[str] = Field(description="Platform roles: admin, ppk, pokja, pejabat_pengadaan, verifier, auditor.")
    opd_id: str | None = Field(default=None, description="The agency (OPD) the official belongs to.")
    created_by: str | None = Field(default=None, description="User id of the administrator.")
    username: str = private(description="The sign-in name.")


@event("identity.user_updated", 1, TOPIC)
class UserUpdated(Event):
    """An administrator changed an account's roles, agency or active flag (deactivation revokes its sessions)."""

    user_id: str
    roles: list[str]
    opd_id: str | None = None
    vendor_id: str | None = None
    active: bool
    updated_by: str | None = None


@event("identity.api_key_created", 1, TOPIC)
class ApiKeyCreated(Event):
    """An administrator created an API key for an outside system (the key itself is never published)."""

    api_key_id: str
    name: str
    scopes: list[str]
    created_by: str | None = None


@event("identity.api_key_revoked", 1, TOPIC)
class ApiKeyRevoked(Event):
    api_key_id: str
    revoked_by: str | None = None
