"""FastAPI dependencies: API-key auth with roles, and access to the services the app was built with.

Services live on ``app.state`` (set once by ``api.app.create_app``); routes reach them only through these
functions, so tests can build an app around any implementation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from api.auth import Keyring, Principal, Role
from api.webhooks import Receivers
from enrichment.protocols import Enricher

_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)
_bearer = HTTPBearer(auto_error=False)


def current_principal(
    request: Request,
    api_key: Annotated[str | None, Security(_api_key_header)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> Principal:
    """Who calls: the active key's principal (``X-API-Key`` header or ``Authorization: Bearer``), or the one
    a stream ticket (``?ticket=``, ``api.tickets``) names on the one path it was issued for, while that key
    is still active; 401 otherwise. An API key in the query string is refused (401) even when valid: URLs
    end up in logs, histories and referrers."""
    if "api_key" in request.query_params:
        raise _unauthorized("an API key in a URL is refused: send it in the X-API-Key header")
    keyring: Keyring = request.app.state.keyring
    key = api_key or (bearer.credentials if bearer else None)
    ticket = request.query_params.get("ticket")
    principal: Principal | None = None
    if key is not None:
        principal = keyring.authenticate(key)
    elif ticket is not None:
        name = request.app.state.stream_tickets.name_of(ticket, request.url.path)
        principal = keyring.principal(name) if name is not None else None
    if principal is None:
        raise _unauthorized("missing or unknown API key" if ticket is None else "invalid or expired ticket")
    request.state.principal = principal
    return principal


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status_code=status.HTTP_401_UNAUTHORIZED, detail=detail,
                         headers={"WWW-Authenticate": "Bearer"})


def require_role(*allowed: Role) -> Callable[..., Principal]:
    """A dependency that admits the given roles (``admin`` is always admitted) and answers 403 otherwise;
    it gives the caller's ``Principal``."""

    def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if principal.role != "admin" and principal.role not in allowed:
            raise HTTPException(status_code=status.HTTP_403_FORBIDDEN,
                                detail=f"role {principal.role!r} may not do this")
        return principal

    return check


def get_enricher(request: Request) -> Enricher:
    """The enricher the app was built with."""
    enricher: Enricher = request.app.state.enricher
    return enricher


def get_session(request: Request) -> Iterator[Session]:
    """A SQLAlchemy session on the profile/alert database, closed after the request."""
    with request.app.state.session_factory() as session:
        yield session


def get_receivers(request: Request) -> Receivers:
    """The webhook receivers and intake the app was built with."""
    receivers: Receivers = request.app.state.receivers
    return receivers


async def read_body(request: Request, limit: int) -> bytes:
    """The request's exact body bytes; 413 as soon as it exceeds ``limit`` bytes (by its Content-Length or
    while streaming), so an oversized body is never held in memory."""
    too_large = HTTPException(status_code=status.HTTP_413_CONTENT_TOO_LARGE, detail=f"body over {limit} bytes")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)
