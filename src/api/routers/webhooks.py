"""``GET|POST /v1/ingest/webhooks/{connector}``: the platforms' webhook receivers (``api.webhooks``).

No API key: the platform's signature authenticates every request (the adapter checks it). Unknown
connector, or a poll connector (it has no webhook): 404. Body over ``MAX_BODY`` (1 MiB): 413. The reply
is the adapter's (``success`` for WeChat, the ``hub.challenge`` for Meta's handshake, ...), sent once the
delivery is durable.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from starlette.concurrency import run_in_threadpool

from api.deps import get_receivers, read_body
from api.webhooks import Receivers
from ingest.adapters.base import WebhookRequest
from ingest.connectors import Connector

MAX_BODY = 1024 * 1024

router = APIRouter(prefix="/v1/ingest/webhooks", tags=["webhooks"])


_ANY: dict[str, Any] = {"content": {"*/*": {}}}
_REPLIES: dict[int | str, dict[str, Any]] = {
    200: {**_ANY, "description": "delivered and durable: the platform's expected reply"},
    400: {**_ANY, "description": "the platform's payload or handshake is malformed"},
    401: {**_ANY, "description": "the platform's signature is missing or wrong"},
    403: {**_ANY, "description": "signed for another receiver"},
    404: {**_ANY, "description": "no such webhook connector"},
    405: {**_ANY, "description": "the platform's protocol does not use this method here"},
    413: {**_ANY, "description": "body over 1 MiB"},
    503: {**_ANY, "description": "intake unavailable; the platform retries"},
}


@router.api_route("/{connector}", methods=["GET", "POST"], response_class=Response, responses=_REPLIES)
async def receive_webhook(
    connector: str, request: Request, receivers: Annotated[Receivers, Depends(get_receivers)]
) -> Response:
    """One platform request to the named connector: verified, made durable, answered as the platform
    expects (see ``api.webhooks``)."""
    found = receivers.connectors.get(connector)
    if not isinstance(found, Connector):
        detail = "no such connector" if found is None else "a poll connector has no webhook"
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail=detail)
    body = await read_body(request, MAX_BODY)
    webhook_request = WebhookRequest(
        method=request.method,
        query=dict(request.query_params),
        headers={name.lower(): value for name, value in request.headers.items()},
        body=body,
        received_at=receivers.clock(),
    )
    reply = await run_in_threadpool(receivers.receive, found, webhook_request)
    return Response(content=reply.body, status_code=reply.status, media_type=reply.content_type)
