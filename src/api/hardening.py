"""What every request and response goes through before the routes: a body-size limit, JSON that is valid
Unicode, bounded validation errors and the console's security headers.

- ``RequestGuard`` (pure ASGI middleware) reads a request body once, up to its limit (``limits``: the
  longest matching path prefix wins, else ``default_limit``), answering 413 beyond it, whether the client sent
  a ``Content-Length`` or streamed chunks; a JSON body that is not UTF-8 or holds a lone surrogate escape
  (``"\\ud800"``, which Python's ``json`` accepts and every database then refuses) gets a short 400. The
  body is then replayed to the app unchanged.
- ``SecurityHeaders`` adds ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer`` and
  ``X-Frame-Options: DENY`` to every response, and to HTML a Content-Security-Policy that allows only the
  console's own scripts, styles and connections (``frame-ancestors 'none'``).
- ``bounded_validation_error`` answers 422 with the errors' locations and messages, each offending input cut
  to ``MAX_ECHO_CHARS`` (a 10 MB body never comes back as a 10 MB error).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_BODY_LIMIT = 1024 * 1024
MAX_ECHO_CHARS = 200
CONSOLE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
               "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
               "frame-ancestors 'none'")
_METHODS_WITH_BODY = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def json_problem(body: bytes) -> str | None:
    """Why a JSON request body is not acceptable text (not UTF-8, a lone surrogate in a string), or ``None``.
    Pure. Malformed JSON is not judged here: the route answers it."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"the body is not UTF-8 (byte {exc.start})"
    if "\\u" not in text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return "the body holds a lone surrogate escape (not a character)" if _has_surrogate(value) else None


def _has_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_has_surrogate(k) or _has_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_surrogate(item) for item in value)
    return False


class RequestGuard:
    """Body-size limit and JSON text check for every request with a body (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, default_limit: int = DEFAULT_BODY_LIMIT,
                 limits: Mapping[str, int] | None = None) -> None:
        self._app = app
        self._default = default_limit
        self._limits = sorted((limits or {}).items(), key=lambda item: -len(item[0]))

    def limit_for(self, path: str) -> int:
        return next((limit for prefix, limit in self._limits if path.startswith(prefix)), self._default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _METHODS_WITH_BODY:
            await self._app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await _refuse(send, 413, f"the body is larger than this route's limit of {limit:,} bytes")
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _refuse(send, 413, f"the body is larger than this route's limit of {limit:,} bytes")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if "json" in headers.get("content-type", "") and (problem := json_problem(body)):
            await _refuse(send, 400, problem)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self._app(scope, replay, send)


class SecurityHeaders:
    """Adds the security headers to every HTTP response (CSP to HTML only)."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                extra = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
                         (b"x-frame-options", b"DENY")]
                content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                if content_type.startswith(b"text/html"):
                    extra.append((b"content-security-policy", CONSOLE_CSP.encode()))
                headers += [(k, v) for k, v in extra if k not in names]
                message = {**message, "headers": headers}
            await send(message)

        await self._app(scope, receive, with_headers)


async def bounded_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    """422 with each error's location, message and type; offending inputs cut to ``MAX_ECHO_CHARS``."""
    assert isinstance(exc, RequestValidationError)
    errors = []
    for error in exc.errors()[:20]:
        item: dict[str, Any] = {"loc": list(error.get("loc", ())), "msg": error.get("msg", ""),
                                "type": error.get("type", "")}
        if "input" in error:
            text = error["input"] if isinstance(error["input"], str) else json.dumps(error["input"], default=str)
            item["input"] = text if len(text) <= MAX_ECHO_CHARS else text[:MAX_ECHO_CHARS] + "…"
        errors.append(item)
    return JSONResponse(status_code=422, content={"detail": errors})


async def _refuse(send: Send, status: int, reason: str) -> None:
    body = json.dumps({"detail": reason}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
