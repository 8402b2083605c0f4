"""The simulated stream as the platforms deliver it, for ``scrm simulate --format platform``: one JSON
object per line, each one of

- ``{"kind": "webhook", "platform", "connector", "sent_at", "method", "query", "headers", "body"}``: a signed
  webhook request (``ingest.simulator.native``: WeChat, Facebook/Instagram through Meta, Douyin) as it would
  reach ``/v1/ingest/webhooks/<connector>``; ``body`` is the exact body as UTF-8 text; platforms that sign a
  timestamp signed ``sent_at`` (receivers accept it for five minutes);
- ``{"kind": "page", "platform", "connector", "endpoint", "page"}``: one page of a polled API listing
  (``ingest.simulator.polled``: X, Reddit, YouTube, Weibo), after everything was published, as a first drain
  of the brand's listings would get it;
- ``{"kind": "event", "event"}``: a ``SocialEvent`` no platform would deliver natively (likes and follows
  where no listing carries them, events with identity hints, platforms without an adapter here), as the
  generic ingest route takes it.

``connectors_toml`` gives the connectors file whose secrets signed the requests and whose configs read the
pages (``base_url`` left at the platforms' defaults). Pure: the same events, secret and time give the same
lines.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from ingest.codec import encode_event
from ingest.contracts import SocialEvent
from ingest.simulator.native import DemoConnectors, native_request
from ingest.simulator.polled import STANDINS
from ingest.simulator.polled.base import PolledStandIn, letters

PAGE_SIZE = 50
URL_KEYS = frozenset({"base_url", "auth_url"})


class PlatformFile:
    """Renders a stream for brands ``brands`` with credentials derived from ``secret``."""

    def __init__(self, brands: Sequence[str], *, secret: bytes, sent_at: datetime) -> None:
        self._push = {brand: DemoConnectors.create(brand, secret) for brand in brands}
        self._polled: dict[str, PolledStandIn] = {name: make() for name, make in STANDINS.items()}
        self._secret = hashlib.sha256(secret).hexdigest()
        self._sent_at = sent_at
        self._tables = {(p, b): s.connector(b, "", letters(f"{self._secret}:{p}:{b}", 32))
                        for p, s in self._polled.items() for b in brands}

    @staticmethod
    def polled_name(platform: str, brand: str) -> str:
        return f"sim-{platform}-{brand}"

    def lines(self, events: Iterable[SocialEvent]) -> Iterator[dict[str, Any]]:
        """Every event as a webhook request or an event line as it comes, then the polled platforms' pages."""
        for n, event in enumerate(events):
            native = native_request(event, self._push, sent_at=self._sent_at, nonce=n.to_bytes(16, "big"))
            if native is not None:
                request = native.request
                yield {"kind": "webhook", "platform": event.platform.value, "connector": native.connector,
                       "sent_at": self._sent_at.isoformat(), "method": request.method, "query": dict(request.query), "headers": dict(request.headers),
                       "body": request.body.decode("utf-8")}
                continue
            polled = self._polled.get(event.platform.value)
            if polled is not None and polled.publish(event):
                continue
            yield {"kind": "event", "event": json.loads(encode_event(event))}
        for (platform, brand), _ in sorted(self._tables.items()):
            for endpoint, page in self._polled[platform].pages(brand, PAGE_SIZE):
                yield {"kind": "page", "platform": platform, "connector": self.polled_name(platform, brand),
                       "endpoint": endpoint, "page": page}

    def connectors_toml(self) -> str:
        """The connectors file of every connector the lines name (secrets included: simulated data only)."""
        tables = [connectors.connectors_toml() for connectors in self._push.values()]
        for (platform, brand), table in sorted(self._tables.items()):
            lines = [f"[connectors.{self.polled_name(platform, brand)}]", f'platform = "{platform}"',
                     f"brand = {json.dumps(brand)}"]
            lines += [f"{k} = {json.dumps(v, ensure_ascii=False)}" for k, v in table.items() if k not in URL_KEYS]
            tables.append("\n".join(lines) + "\n")
        return "\n".join(tables)
