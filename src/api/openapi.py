"""Every status code a route can answer, in the OpenAPI document (what clients and the fuzzer hold us to).

A route declares the codes only it knows (``errors(404, 409)``, ``errors(429)`` where it is rate-limited,
in its decorator); ``document_statuses`` adds what the shared layers answer everywhere: 401 and 403 on
every operation that needs a key, and 400 (not UTF-8, a lone surrogate: ``api.hardening``) and 413 (over
the body limit) on every method that can carry a body. 422 comes from FastAPI for any route with
parameters or a body.
"""

from __future__ import annotations

import warnings
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

_REASONS = {
    400: "the body is not readable JSON text, or a value is refused",
    401: "missing, unknown, revoked or expired API key (or stream ticket); a key in the URL",
    403: "the key's role may not do this",
    404: "no such resource",
    409: "the resource is not in a state that allows this",
    413: "the body is over this route's limit",
    422: "the request does not match the schema (a bounded excerpt of the input is echoed)",
    429: "this key's rate limit, or every slot, is in use: see Retry-After",
    499: "the client went away before the answer",
    502: "the analytics store failed",
    503: "a service this route needs is not configured or not reachable",
}


class ErrorOut(BaseModel):
    """What every error answers: ``detail``, a short reason (FastAPI's validation list for 422)."""

    detail: Any


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` entry of a route that answers ``codes`` itself."""
    return {code: {"model": ErrorOut, "description": _REASONS[code]} for code in codes}


def document_statuses(app: FastAPI) -> None:
    """Make ``app``'s OpenAPI document list the shared layers' codes on every operation: 401 and 403 where
    a key is required (every such route checks a role), 400 and 413 where a body can be sent; operation ids
    made unique per method."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        with warnings.catch_warnings():  # a GET+POST route (the webhooks) shares one id: made unique below
            warnings.filterwarnings("ignore", message="Duplicate Operation ID")
            schema = build()
        seen: set[str] = set()
        for item in schema.get("paths", {}).values():
            for method, operation in item.items():
                if operation.get("operationId") in seen:
                    operation["operationId"] = f"{operation['operationId']}_{method}"
                seen.add(operation.get("operationId", ""))
                codes: list[int] = []
                if operation.get("security"):
                    codes += [401, 403]
                if method in ("post", "put", "patch", "delete"):
                    codes += [400, 413]
                responses = operation.setdefault("responses", {})
                for code in codes:
                    responses.setdefault(str(code), {"description": _REASONS[code], "content": {
                        "application/json": {"schema": {"type": "object", "required": ["detail"],
                                                        "properties": {"detail": {}}}}}})
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
