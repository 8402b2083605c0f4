"""The demo's native deliveries: every simulated event a push platform would send becomes a signed request
that the platform's own adapter verifies and maps back to the same person, kind, text and brand.

Shapes follow the pages the adapters name: WeChat 公众号 消息加解密 (safe mode), Meta Webhooks (Page
``feed`` / ``mention``, Instagram ``comments``), Douyin 开放平台 Webhooks (``item_comment_reply``,
``new_video_digg``, ``new_follow_action``).
"""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from ingest.adapters import douyin, meta, wechat
from ingest.adapters.base import Delivery, SignatureRejected, WebhookRequest
from ingest.contracts import EventKind, Platform, SocialEvent
from ingest.simulator import SimulatorConfig, simulate_events
from ingest.simulator.native import DemoConnectors, NativeRequest, native_request

START = datetime(2026, 11, 3, 9, tzinfo=UTC)
BRANDS = ("acme", "lumo")


def _connectors() -> dict[str, DemoConnectors]:
    return {brand: DemoConnectors.create(brand, b"s" * 32) for brand in BRANDS}


def _handle(native: NativeRequest, connectors: dict[str, DemoConnectors]) -> Delivery:
    by_name = {c.name: c for brand in connectors.values() for c in (brand.wechat, brand.meta, brand.douyin)}
    config = by_name[native.connector]
    if isinstance(config, wechat.WeChatConfig):
        return wechat.handle(native.request, config)
    if isinstance(config, meta.MetaConnector):
        return meta.handle(native.request, config)
    return douyin.handle(native.request, config)


def _rendered(count: int) -> list[tuple[SocialEvent, NativeRequest]]:
    connectors = _connectors()
    config = SimulatorConfig(seed=5, brands=BRANDS, start=START, events_per_hour=4000)
    pairs = []
    for n, event in enumerate(itertools.islice(simulate_events(config), count)):
        native = native_request(event, connectors, sent_at=event.received_at, nonce=n.to_bytes(16, "big"))
        if native is not None:
            pairs.append((event, native))
    return pairs


def test_pushed_events_map_back_through_their_adapters() -> None:
    connectors = _connectors()
    pairs = _rendered(3000)
    platforms = Counter(event.platform for event, _ in pairs)
    assert set(platforms) == {Platform.WECHAT, Platform.FACEBOOK, Platform.INSTAGRAM, Platform.DOUYIN}
    for event, native in pairs:
        delivery = _handle(native, connectors)
        assert delivery.reply.status == 200
        assert not delivery.skipped, (event.platform, event.kind, delivery.skipped)
        (mapped,) = delivery.events
        kind = EventKind.COMMENT if event.kind is EventKind.REPLY and event.parent_id == event.thread_id else event.kind
        assert (mapped.platform, mapped.kind, mapped.author.id) == (event.platform, kind, event.author.id)
        assert mapped.brand == event.brand
        assert (mapped.text or None) == (event.text or None) or event.kind.value in {"like", "follow"}
        assert abs(mapped.occurred_at - event.occurred_at) < timedelta(seconds=1)
        assert mapped.source == native.connector


def test_the_same_event_renders_to_the_same_event_id() -> None:
    connectors = _connectors()
    for event, native in _rendered(400):
        again = native_request(event, connectors, sent_at=event.received_at + timedelta(seconds=3),
                               nonce=b"\x01" * 16)
        assert again is not None
        first, second = _handle(native, connectors).events, _handle(again, connectors).events
        assert [e.event_key for e in first] == [e.event_key for e in second]


def test_a_wrong_secret_is_refused() -> None:
    pairs = _rendered(400)
    other = {brand: DemoConnectors.create(brand, b"t" * 32) for brand in BRANDS}
    refused = 0
    for _, native in pairs[:40]:
        with pytest.raises(SignatureRejected):
            _handle(native, other)  # same connector names, other secrets
        refused += 1
    assert refused == 40


def test_posts_unbranded_and_hinted_events_are_not_pushed() -> None:
    connectors = _connectors()
    config = SimulatorConfig(seed=5, brands=BRANDS, start=START, events_per_hour=4000)
    for event in itertools.islice(simulate_events(config), 2000):
        native = native_request(event, connectors, sent_at=event.received_at, nonce=b"\x00" * 16)
        hinted = any(getattr(event.identity_hints, f) for f in type(event.identity_hints).model_fields)
        if event.kind.value == "post" or event.brand is None or hinted or event.platform in {
            Platform.WEIBO, Platform.X, Platform.REDDIT, Platform.YOUTUBE, Platform.ZHIHU, Platform.XIAOHONGSHU,
        }:
            assert native is None


def test_a_wechat_push_signed_long_ago_is_refused() -> None:
    connectors = _connectors()
    event, native = next((e, n) for e, n in _rendered(400) if e.platform is Platform.WECHAT)
    late = WebhookRequest(method="POST", query=native.request.query, headers=native.request.headers,
                          body=native.request.body, received_at=native.request.received_at + timedelta(hours=1))
    with pytest.raises(SignatureRejected):
        _handle(NativeRequest(native.connector, late), connectors)
