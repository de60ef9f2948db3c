"""What every contract operation works with: the transaction, the outbox, the time and the caller."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from eproc_contract.clock import jakarta_date
from eproc_contract.settings import ContractSettings
from eproc_contract.store import get_contract
from eproc_contract.views import public_record
from eproc_shared.auth import Principal
from eproc_shared.events.catalogue import Event
from eproc_shared.events.types.contract import ContractPublicUpdated
from eproc_shared.outbox import Outbox


@dataclass
class Ctx:
    session: AsyncSession
    outbox: Outbox
    now: datetime
    settings: ContractSettings
    principal: Principal | None = None

    @property
    def today(self) -> date:
        return jakarta_date(self.now)

    @property
    def actor(self) -> str:
        return self.principal.subject if self.principal else "system"

    async def emit(self, data: Event, contract_id: str) -> None:
        await self.outbox.add(self.session, data, key=contract_id, subject=f"contract/{contract_id}", time=self.now)

    async def emit_public(self, contract_id: str, change: str) -> None:
        contract = await get_contract(self.session, contract_id)
        record = await public_record(self.session, contract)
        await self.emit(ContractPublicUpdated(change=change, contract=record, changed_at=self.now), contract_id)  # type: ignore[arg-type]
