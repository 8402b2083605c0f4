"""Pollers for the platforms that do not push: X, Reddit, YouTube, Weibo.

``POLLERS`` is the registry the connectors file plugs into: platform name (``platform = "x"`` in the
file) -> ``PollerEntry(config, factory)``. Build a connector with ``entry.config.model_validate(fields)``
(the file's table without ``platform``), then ``entry.factory(config)`` gives the ``Poller`` a
``PollEngine`` runs::

    entry = POLLERS["x"]
    poller = entry.factory(entry.config.model_validate({"name": "acme-x", "bearer_token": "...", "query": "acme"}))
    engine = PollEngine(poller, http=client, sink=sink, cursors=store, clock=clock, sleep=time.sleep)
    stats = engine.poll_once()
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ingest.adapters.polled import PollConfig
from ingest.adapters.reddit import RedditConfig
from ingest.adapters.weibo import WeiboConfig
from ingest.adapters.x import XConfig
from ingest.adapters.youtube import YouTubeConfig
from ingest.polling import reddit, weibo, x, youtube
from ingest.polling.spec import Poller


@dataclass(frozen=True, slots=True)
class PollerEntry:
    """One pollable platform: its connector config model and the factory of its ``Poller``."""

    config: type[PollConfig]
    factory: Callable[[Any], Poller]


POLLERS: dict[str, PollerEntry] = {
    "x": PollerEntry(XConfig, x.poller),
    "reddit": PollerEntry(RedditConfig, reddit.poller),
    "youtube": PollerEntry(YouTubeConfig, youtube.poller),
    "weibo": PollerEntry(WeiboConfig, weibo.poller),
}
"""Platform name -> config model and poller factory (the platform names are ``Platform`` values)."""
