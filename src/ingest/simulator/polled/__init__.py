"""Local stand-ins of the polled platforms' APIs (X, Reddit, YouTube, Weibo), fed by the simulator: the
demo's pollers and the pollers' integration tests run against them over real HTTP.

``STANDINS`` registers one small module per platform (``ingest.simulator.polled.<platform>``): how a
simulated ``SocialEvent`` is rendered as the item that platform's listing would carry, and how the platform
answers the requests the poller sends (paths, paging, credentials, error shapes, as its public API docs
describe). ``PlatformStandIns`` serves them all on one local port.
"""

from __future__ import annotations

from collections.abc import Callable

from ingest.simulator.polled.base import PolledStandIn
from ingest.simulator.polled.reddit import RedditStandIn
from ingest.simulator.polled.weibo import WeiboStandIn
from ingest.simulator.polled.x import XStandIn
from ingest.simulator.polled.youtube import YouTubeStandIn

STANDINS: dict[str, Callable[[], PolledStandIn]] = {
    "x": XStandIn,
    "reddit": RedditStandIn,
    "youtube": YouTubeStandIn,
    "weibo": WeiboStandIn,
}
"""Platform name (a ``Platform`` value and the connectors file's ``platform``) -> its stand-in's factory."""

from ingest.simulator.polled.server import Hold, PlatformStandIns, StandInRequest  # noqa: E402

__all__ = ["STANDINS", "Hold", "PlatformStandIns", "StandInRequest"]
