"""``GET /v1/connectors`` (agent, admin): each configured webhook connector's health in this API process
(``api.connector_health``: in-memory counters, so each process behind a load balancer reports its own)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from api.connector_health import ConnectorReport
from api.deps import get_receivers, require_role
from api.webhooks import Receivers

router = APIRouter(prefix="/v1/connectors", tags=["connectors"], dependencies=[Depends(require_role("agent"))])


class ConnectorStatus(ConnectorReport):
    name: str
    platform: str
    brand: str | None


@router.get("")
def list_connectors(receivers: Annotated[Receivers, Depends(get_receivers)]) -> list[ConnectorStatus]:
    """Every connector of the connectors file, by name: platform, brand and what this process received
    (reasons only: no payload, no secret)."""
    now = receivers.clock()
    return [
        ConnectorStatus(name=name, platform=connector.platform, brand=connector.brand,
                        **receivers.health.report(name, now).model_dump())
        for name, connector in sorted(receivers.connectors.items())
    ]
