"""``GET /v1/connectors`` (agent, admin): every connector of the connectors file with its health.

- Webhook connectors: what this API process received (``api.connector_health``: in-memory counters, so
  each process behind a load balancer reports its own).
- Poll connectors: the record the polling process keeps in the platform database
  (``ingest.polling.health``), the same whichever process polls (``scrm serve``, ``scrm poll``).
``state`` sums it up: ``live`` (deliveries in the last minute / the last round succeeded), ``idle`` (no
delivery in the last minute), ``waiting`` (never polled yet), ``stale`` (the next round is overdue: the poller
is not running, or a round is waiting out a long rate limit), ``failing`` (the latest delivery or round failed), ``refused`` (the platform refused the
credentials or settings; not polled again until ``poll.refused_until``). Reasons only: no payload, no
secret.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from api.connector_health import ConnectorReport
from api.deps import get_receivers, get_session, require_role
from api.webhooks import Receivers
from ingest.connectors import PollConnector
from ingest.polling.health import PollHealth, load_health

router = APIRouter(prefix="/v1/connectors", tags=["connectors"], dependencies=[Depends(require_role("agent"))])

State = Literal["live", "idle", "waiting", "stale", "failing", "refused"]
OVERDUE = timedelta(minutes=2)
"""How late a poll round may be (rate-limit waits, slow pages) before the connector counts as stale."""


class ConnectorStatus(ConnectorReport):
    name: str
    platform: str
    brand: str | None
    kind: Literal["webhook", "poll"]
    state: State
    poll: PollHealth | None = None


def webhook_state(report: ConnectorReport) -> State:
    """``failing`` when the latest thing that happened was an error, else ``live``/``idle`` by the last
    minute's deliveries."""
    if report.last_error_at is not None and (report.last_delivery_at is None
                                             or report.last_error_at >= report.last_delivery_at):
        return "failing"
    return "live" if report.deliveries_last_minute else "idle"


def poll_state(health: PollHealth | None, now: datetime) -> State:
    """The state of a poll connector from its stored record at ``now``."""
    if health is None or health.last_round_at is None:
        return "waiting"
    if health.refused_until is not None and health.refused_until > now:
        return "refused"
    if health.next_round_at is not None and now > health.next_round_at + OVERDUE:
        return "stale"
    if health.last_error_at is not None and health.last_error_at >= health.last_round_at:
        return "failing"
    return "live"


@router.get("")
def list_connectors(
    receivers: Annotated[Receivers, Depends(get_receivers)], session: Annotated[Session, Depends(get_session)]
) -> list[ConnectorStatus]:
    """Every connector of the connectors file, by name, with its health (see the module docstring)."""
    now = receivers.clock()
    polled = load_health(session=session) if any(isinstance(c, PollConnector)
                                                 for c in receivers.connectors.values()) else {}
    found = []
    for name, connector in sorted(receivers.connectors.items()):
        report = receivers.health.report(name, now)
        if isinstance(connector, PollConnector):
            health = polled.get(name)
            state, poll = poll_state(health, now), health
        else:
            state, poll = webhook_state(report), None
        found.append(ConnectorStatus(name=name, platform=connector.platform, brand=connector.brand,
                                     kind=connector.kind, state=state, poll=poll, **report.model_dump()))
    return found
