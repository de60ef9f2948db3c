"""Events this service consumes: the award letter, from whichever selection method issued it."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from eproc_contract.clock import Clock
from eproc_contract.context import Ctx
from eproc_contract.drafting import create_from_award
from eproc_contract.settings import ContractSettings
from eproc_shared.events.envelope import Envelope
from eproc_shared.events.types.tender import TenderAwarded
from eproc_shared.outbox import Outbox
from eproc_shared.service_app import ConsumerSpec

log = logging.getLogger(__name__)


def consumer_specs(outbox_of: Callable[[], Outbox], clock: Clock, settings: ContractSettings) -> list[ConsumerSpec]:
    async def awarded(session: AsyncSession, envelope: Envelope[TenderAwarded]) -> None:
        # The inbox drops a redelivered event; the award reference also drops the same award sent again
        # as a new event (a producer retry, a re-issued award), so one award makes one contract.
        created = await create_from_award(Ctx(session, outbox_of(), clock(), settings), envelope.data)
        if created is None:
            log.info("award %s of package %s has its contract already", envelope.id, envelope.data.package.package_id)

    return [ConsumerSpec(settings.consumer_group, {TenderAwarded.type_name(): awarded})]
