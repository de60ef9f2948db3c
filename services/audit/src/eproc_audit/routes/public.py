"""Public: the signed checkpoints and the keys that check them (no sign-in needed)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from eproc_audit.models import checkpoints, signing_keys
from eproc_audit.signing import checkpoint_message, public_key_from_jwk
from eproc_shared.pagination import Page, PageParams, page_params, paginate
from eproc_shared.problems import ProblemError
from eproc_shared.service_app import DbSession

router = APIRouter(prefix="/public", tags=["public"])


class CheckpointOut(BaseModel):
    seq: int = Field(description="Last log entry covered.")
    head_hash: str = Field(description="Hex SHA-256 of that entry.")
    signed_at: str
    key_id: str = Field(description="`kid` of the key in /public/keys.")
    algorithm: Literal["Ed25519"] = "Ed25519"
    signature: str = Field(description="Base64url Ed25519 signature over `signed_payload`'s UTF-8 bytes.")
    signed_payload: str = Field(description="The exact signed text: RFC 8785 canonical JSON.")


def checkpoint_out(row: Any) -> CheckpointOut:
    message = checkpoint_message(seq=row.seq, head_hash=row.head_hash, signed_at=row.signed_at, key_id=row.key_id)
    return CheckpointOut(
        seq=row.seq,
        head_hash=row.head_hash,
        signed_at=row.signed_at,
        key_id=row.key_id,
        signature=row.signature,
        signed_payload=message.decode(),
    )


@router.get("/checkpoints", response_model=Page[CheckpointOut], summary="Signed checkpoints of the audit log")
async def list_checkpoints(
    session: DbSession, page: Annotated[PageParams, Depends(page_params)]
) -> Page[CheckpointOut]:
    rows, cursor = await paginate(session, select(checkpoints), [checkpoints.c.id], page)
    return Page(items=[checkpoint_out(r) for r in rows], next_cursor=cursor)


@router.get("/checkpoints/latest", response_model=CheckpointOut, summary="The latest signed checkpoint")
async def latest_checkpoint(session: DbSession) -> CheckpointOut:
    row = (await session.execute(select(checkpoints).order_by(checkpoints.c.id.desc()).limit(1))).first()
    if row is None:
        raise ProblemError(404, "Not found", "No checkpoint has been signed yet.", slug="not-found")
    return checkpoint_out(row)


@router.get("/keys", summary="Public keys that sign checkpoints (JWKS, every key ever used)")
async def keys(session: DbSession) -> dict[str, list[dict[str, Any]]]:
    rows = (await session.execute(select(signing_keys.c.public_jwk).order_by(signing_keys.c.first_used_at))).all()
    return {"keys": [r.public_jwk for r in rows]}


@router.get("/keys/{key_id}.pem", response_class=PlainTextResponse, summary="One public key as PEM")
async def key_pem(key_id: str, session: DbSession) -> PlainTextResponse:
    from cryptography.hazmat.primitives import serialization

    jwk = await session.scalar(select(signing_keys.c.public_jwk).where(signing_keys.c.key_id == key_id))
    if jwk is None:
        raise ProblemError(404, "Not found", f"No signing key {key_id}.", slug="not-found")
    pem = public_key_from_jwk(jwk).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return PlainTextResponse(pem.decode(), media_type="application/x-pem-file")
