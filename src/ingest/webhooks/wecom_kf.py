"""The small pull inside the WeCom push connector: fetch the 微信客服 messages a ``kf_msg_or_event`` callback
announced. Blocking HTTP (httpx); map what it returns with ``ingest.adapters.wecom_kf``.

The platform's documentation: 获取access_token (https://developer.work.weixin.qq.com/document/path/91039,
``GET /cgi-bin/gettoken?corpid&corpsecret`` -> ``access_token``, ``expires_in`` seconds) and 微信客服 读取消息
(https://developer.work.weixin.qq.com/document/path/94670, ``POST /cgi-bin/kf/sync_msg?access_token`` with
``cursor``, ``token``, ``limit``, ``open_kfid`` -> ``next_cursor``, ``has_more``, ``msg_list``).

What the caller must store: the ``next_cursor`` of each (connector, open_kfid), written only after the
events of that sync are durable, and passed back as ``cursor`` next time. Without it every sync starts from
the oldest message WeCom still keeps (3 days): nothing is lost, but everything is fetched again (the event
ids, msgids, make that harmless downstream). A call that fails part-way raises and returns nothing, so the
stored cursor still points before the failed pages: the retry fetches them again (at-least-once).
The callback's ``token`` is valid for 10 minutes; a sync without one is rate-limited hard by WeCom.
WeCom puts the secret (gettoken) and the access token (every call) in the query string, and httpx logs
request URLs at INFO: keep the ``httpx`` logger at WARNING where these calls run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

import httpx

from ingest.adapters.base import Pull
from ingest.adapters.wecom import KF_SYNC_MSG, WeComConfig
from ingest.exceptions import PlatformApiError

DEFAULT_BASE_URL = "https://qyapi.weixin.qq.com"
TOKEN_ERRORS = frozenset({40014, 42001})
"""errcodes of an access token WeCom no longer accepts (invalid, expired): refresh once and retry."""


@dataclass(frozen=True, slots=True)
class KfSync:
    """What one sync fetched: ``messages`` (the ``msg_list`` items, in order), the cursor to store, and
    whether WeCom has more (``True`` only when ``max_pages`` stopped the paging: sync again)."""

    messages: tuple[dict[str, Any], ...]
    next_cursor: str | None
    has_more: bool


class WeComApi:
    """A WeCom API client for one connector: a cached access token and the 微信客服 sync.

    Blocking; not thread-safe (one per worker). ``clock`` (aware datetimes) decides token expiry, so
    tests move time by hand. ``base_url`` points tests at a local stand-in. Close it (or use ``with``)."""

    def __init__(
        self,
        config: WeComConfig,
        *,
        clock: Callable[[], datetime],
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 10.0,
        refresh_margin: timedelta = timedelta(minutes=5),
    ) -> None:
        if config.secret is None:
            raise ValueError(f"connector {config.name!r} has no secret: the 微信客服 pull needs one")
        self._corp_id = config.corp_id
        self._secret = config.secret
        self._clock = clock
        self._margin = refresh_margin
        self._http = httpx.Client(base_url=base_url, timeout=timeout)
        self._token: tuple[str, datetime] | None = None

    def __enter__(self) -> WeComApi:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def access_token(self) -> str:
        """A valid access token: the cached one until ``refresh_margin`` before it expires (or half its
        lifetime, when that is shorter), else a fresh one from ``gettoken``. Raises ``PlatformApiError``."""
        now = self._clock()
        if self._token is not None and now < self._token[1]:
            return self._token[0]
        answer = self._answer(self._http.get(
            "/cgi-bin/gettoken", params={"corpid": self._corp_id, "corpsecret": self._secret.get_secret_value()}
        ))
        token, lifetime = answer.get("access_token"), answer.get("expires_in")
        if not isinstance(token, str) or not token or not isinstance(lifetime, int) or lifetime <= 0:
            raise PlatformApiError("wecom", -1, "gettoken answered without access_token/expires_in")
        keep = max(timedelta(seconds=lifetime) - self._margin, timedelta(seconds=lifetime / 2))
        self._token = (token, now + keep)
        return token

    def sync_kf(self, pull: Pull, *, cursor: str | None, limit: int = 1000, max_pages: int = 20) -> KfSync:
        """Fetch what a ``kf_msg_or_event`` callback announced, from ``cursor`` on, paging while WeCom says
        ``has_more`` (at most ``max_pages`` pages per call).

        Blocks on the network. Raises ``PlatformApiError`` for an error code (95007: the callback's token
        expired; sync again without it, or wait for the next callback) and ``httpx.HTTPError`` for transport
        failures; either way nothing is returned and the caller keeps its stored cursor."""
        if pull.api != KF_SYNC_MSG:
            raise ValueError(f"not a 微信客服 pull: {pull.api!r}")
        messages: list[dict[str, Any]] = []
        position = cursor
        for _ in range(max_pages):
            body: dict[str, Any] = {"limit": limit, **pull.params}
            if position:
                body["cursor"] = position
            page = self._post("/cgi-bin/kf/sync_msg", body)
            items = page.get("msg_list") or []
            if not isinstance(items, list):
                raise PlatformApiError("wecom", -1, "sync_msg answered a msg_list that is not a list")
            messages.extend(items)
            position = page.get("next_cursor") or position
            if not page.get("has_more"):
                return KfSync(tuple(messages), position, has_more=False)
        return KfSync(tuple(messages), position, has_more=True)

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            return self._answer(self._http.post(path, params={"access_token": self.access_token()}, json=body))
        except PlatformApiError as exc:
            if exc.code not in TOKEN_ERRORS:
                raise
        self._token = None
        return self._answer(self._http.post(path, params={"access_token": self.access_token()}, json=body))

    @staticmethod
    def _answer(response: httpx.Response) -> dict[str, Any]:
        response.raise_for_status()
        try:
            answer = response.json()
        except ValueError as exc:
            raise PlatformApiError("wecom", -1, "the answer is not JSON") from exc
        if not isinstance(answer, dict):
            raise PlatformApiError("wecom", -1, "the answer is not a JSON object")
        code = answer.get("errcode", 0)
        if code:
            raise PlatformApiError("wecom", int(code), str(answer.get("errmsg", "")))
        return answer
