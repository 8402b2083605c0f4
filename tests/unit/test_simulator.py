"""The simulated SocialEvent stream: deterministic, valid, ordered, realistic enough to drive the pipeline."""

from __future__ import annotations

import itertools
import re
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from ingest.codec import decode_event, encode_event
from ingest.contracts import EventKind, Platform, SocialEvent
from ingest.exceptions import InvalidEvent
from ingest.simulator import (
    DEFAULT_START,
    NEGATIVE_INTENTS,
    SimulatorConfig,
    raw_records,
    simulate_events,
    template_intent,
    write_jsonl,
)


def take(config: SimulatorConfig, n: int) -> list[SocialEvent]:
    return list(itertools.islice(simulate_events(config), n))


@pytest.fixture(scope="module")
def events() -> list[SocialEvent]:
    return take(SimulatorConfig(), 6000)


def test_same_seed_gives_the_same_stream_and_another_seed_a_different_one() -> None:
    first = [encode_event(e) for e in take(SimulatorConfig(seed=3), 500)]
    again = [encode_event(e) for e in take(SimulatorConfig(seed=3), 500)]
    other = [encode_event(e) for e in take(SimulatorConfig(seed=4), 500)]
    assert first == again
    assert len(set(first) & set(other)) == 0


def test_every_event_round_trips_through_the_codec(events: list[SocialEvent]) -> None:
    for event in events:
        assert decode_event(encode_event(event)) == event
        assert event.source == "simulator"


def test_event_time_strictly_increases_and_received_is_seconds_later(events: list[SocialEvent]) -> None:
    assert events[0].occurred_at >= DEFAULT_START
    assert all(a.occurred_at < b.occurred_at for a, b in itertools.pairwise(events))
    lags = [(e.received_at - e.occurred_at).total_seconds() for e in events]
    assert min(lags) > 0 and max(lags) <= 21


def test_rate_matches_events_per_hour_on_average() -> None:
    stream = take(SimulatorConfig(events_per_hour=200.0), 4800)  # about a day
    hours = (stream[-1].occurred_at - stream[0].occurred_at).total_seconds() / 3600
    assert 21 < hours < 27


def test_activity_follows_a_daily_cycle_in_the_authors_timezone() -> None:
    stream = take(SimulatorConfig(events_per_hour=250.0), 6000)
    chinese = {Platform.WEIBO, Platform.WECHAT, Platform.DOUYIN, Platform.XIAOHONGSHU, Platform.ZHIHU}
    shanghai_hours = Counter((e.occurred_at_utc.hour + 8) % 24 for e in stream if e.platform in chinese)
    night = sum(shanghai_hours[h] for h in (2, 3, 4, 5))
    evening = sum(shanghai_hours[h] for h in (19, 20, 21, 22))
    assert evening > 4 * night


def test_event_ids_are_unique_per_platform(events: list[SocialEvent]) -> None:
    keys = [(e.platform, e.event_id) for e in events]
    assert len(keys) == len(set(keys))


def test_parents_and_threads_point_at_earlier_events_on_the_same_platform(events: list[SocialEvent]) -> None:
    seen: set[tuple[Platform, str]] = set()
    replies = 0
    for event in events:
        if event.kind in (EventKind.REPLY, EventKind.COMMENT, EventKind.LIKE):
            assert event.parent_id is not None and event.thread_id is not None
        if event.parent_id is not None:
            assert (event.platform, event.parent_id) in seen
            assert (event.platform, event.thread_id) in seen
        replies += event.kind is EventKind.REPLY
        seen.add((event.platform, event.event_id))
    assert replies > 100


def test_all_kinds_but_unfollows_appear_and_likes_and_follows_carry_no_text(events: list[SocialEvent]) -> None:
    kinds = Counter(e.kind for e in events)
    assert set(kinds) == set(EventKind) - {EventKind.UNFOLLOW}, "every kind but the unfollow (a consent withdrawal)"
    assert kinds[EventKind.LIKE] > kinds[EventKind.REVIEW]
    assert all(e.text is None for e in events if e.kind in (EventKind.LIKE, EventKind.FOLLOW))
    chats = {e.platform for e in events if e.kind is EventKind.CHAT_MESSAGE}
    assert chats == {Platform.WECHAT, Platform.WECOM}
    shares = [e for e in events if e.kind is EventKind.SHARE]
    assert sum(e.parent_id is not None for e in shares) == len(shares)


def test_chinese_platforms_dominate_and_brand_is_set_on_most_events(events: list[SocialEvent]) -> None:
    platforms = Counter(e.platform for e in events)
    chinese = sum(
        platforms[p] for p in (Platform.WEIBO, Platform.WECHAT, Platform.DOUYIN, Platform.XIAOHONGSHU)
    )
    assert chinese > len(events) / 2
    assert len(platforms) >= 10
    assert sum(e.brand is not None for e in events) > 0.85 * len(events)
    assert {e.brand for e in events} >= {"acme", "lumo"}


def test_languages_include_simplified_traditional_english_and_mixed(events: list[SocialEvent]) -> None:
    langs = Counter(e.lang for e in events if e.text)
    assert langs["zh-Hans"] > langs["en"] > 0 and langs["zh-Hant"] > 0
    mixed = [e.text for e in events if e.lang == "zh-Hans" and e.text and re.search(r"[a-z]{4,}", e.text)]
    assert any(re.search(r"[\u4e00-\u9fff]", t) for t in mixed)


def test_authors_look_like_their_platform(events: list[SocialEvent]) -> None:
    by_platform = defaultdict(list)
    for event in events:
        by_platform[event.platform].append(event)
    assert all(e.author.id.isdigit() for e in by_platform[Platform.WEIBO])
    assert all(e.author.id[0] in "og" and e.author.followers is None for e in by_platform[Platform.WECHAT])
    assert all(e.url and e.url.startswith("https://weibo.com/") for e in by_platform[Platform.WEIBO]
               if e.kind is EventKind.POST)  # fmt: skip
    assert all(e.raw and e.raw["idstr"] == e.event_id for e in by_platform[Platform.WEIBO])
    assert all(e.author.id.startswith("t2_") for e in by_platform[Platform.REDDIT])
    assert all(e.author.id.startswith("UC") for e in by_platform[Platform.YOUTUBE])
    chinese_names = [e.author.display_name for e in by_platform[Platform.DOUYIN]]
    assert all(re.search(r"[\u4e00-\u9fff]", n or "") for n in chinese_names)


def test_followers_are_heavy_tailed_and_engagement_grows_with_them(events: list[SocialEvent]) -> None:
    authors = {(e.platform, e.author.id): e.author for e in events}
    followers = sorted(a.followers for a in authors.values() if a.followers is not None)
    median = followers[len(followers) // 2]
    assert followers[-1] > 1000 * max(median, 1)
    assert any(a.verified for a in authors.values())
    posts = [e for e in events if e.kind is EventKind.POST and e.author.followers is not None]
    small = [e.metrics.likes for e in posts if e.author.followers < 300]
    big = [e.metrics.likes for e in posts if e.author.followers > 20_000]
    assert sum(big) / len(big) > 20 * sum(small) / len(small)


def test_some_people_share_an_email_or_phone_across_two_platforms(events: list[SocialEvent]) -> None:
    platforms_by_contact: dict[str, set[Platform]] = defaultdict(set)
    unionid_platforms: dict[str, set[Platform]] = defaultdict(set)
    for event in events:
        hints = event.identity_hints
        for contact in (hints.email, hints.phone):
            if contact:
                platforms_by_contact[contact].add(event.platform)
        if hints.wechat_unionid:
            unionid_platforms[hints.wechat_unionid].add(event.platform)
    shared = [c for c, ps in platforms_by_contact.items() if len(ps) == 2]
    assert any("@" in c for c in shared) and len(shared) >= 5
    assert any(ps == {Platform.WECHAT, Platform.WECOM} for ps in unionid_platforms.values())
    assert any(e.identity_hints.crm_id for e in events)


def test_every_customer_text_maps_back_to_a_template_intent(events: list[SocialEvent]) -> None:
    texts = [e.text for e in events if e.text and e.kind is not EventKind.SHARE]
    assert all(template_intent(t) is not None for t in texts)
    assert template_intent("@Acme官方微博 快递3天了还没到，Acme 你们到底发没发货？") == "delivery"
    assert template_intent("hello world") is None


def _negative_share(events: list[SocialEvent]) -> float:
    intents = [template_intent(e.text) for e in events if e.text]
    return sum(i in NEGATIVE_INTENTS for i in intents) / len(intents)


def test_a_crisis_raises_the_share_of_negative_posts_within_the_hour() -> None:
    crisis_at = DEFAULT_START + timedelta(hours=3)
    config = SimulatorConfig(crisis_at=crisis_at)
    end = crisis_at + timedelta(hours=1)
    stream = list(itertools.takewhile(lambda e: e.occurred_at < end, simulate_events(config)))
    before = [e for e in stream if e.occurred_at < crisis_at]
    after = [e for e in stream if e.occurred_at >= crisis_at]
    calm = list(itertools.takewhile(lambda e: e.occurred_at < end, simulate_events(SimulatorConfig())))
    assert before == [e for e in calm if e.occurred_at < crisis_at]  # history before the crisis is unchanged
    assert _negative_share(after) > _negative_share(before) + 0.15
    assert _negative_share(after) > _negative_share([e for e in calm if e.occurred_at >= crisis_at]) + 0.15
    safety = [e for e in after if template_intent(e.text) == "safety"]
    assert len({e.author.id for e in safety}) > 20
    assert any(e.kind is EventKind.SHARE and e.parent_id for e in after)
    in_last_quarter = [e for e in safety if e.occurred_at >= end - timedelta(minutes=15)]
    in_first_quarter = [e for e in safety if e.occurred_at < crisis_at + timedelta(minutes=15)]
    assert len(in_last_quarter) > 3 * len(in_first_quarter)  # it grows over the hour


def test_invalid_ratio_mixes_in_roughly_that_share_of_rejected_records() -> None:
    config = SimulatorConfig(invalid_ratio=0.1)
    records = list(itertools.islice(raw_records(config), 3000))
    valid, invalid = [], []
    for record in records:
        try:
            valid.append(decode_event(record))
        except InvalidEvent as exc:
            invalid.append(exc.field)
    assert 0.07 < len(invalid) / len(records) < 0.13
    assert set(invalid) == {"<payload>", "occurred_at", "kind"}  # bad UTF-8 / not JSON, naive time, bad kind
    assert valid == take(config, len(valid))


def test_raw_records_without_invalid_ratio_are_the_encoded_events() -> None:
    config = SimulatorConfig(seed=11)
    assert list(itertools.islice(raw_records(config), 300)) == [encode_event(e) for e in take(config, 300)]


def test_write_jsonl_writes_count_valid_lines(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    assert write_jsonl(path, SimulatorConfig(invalid_ratio=0.5), 250) == 250
    lines = path.read_bytes().splitlines()
    assert len(lines) == 250
    assert [decode_event(line) for line in lines] == take(SimulatorConfig(), 250)


@pytest.mark.parametrize(
    "bad",
    [
        {"start": datetime(2026, 11, 1)},
        {"crisis_at": datetime(2026, 11, 1)},
        {"customers": 0},
        {"events_per_hour": 0.0},
        {"invalid_ratio": 1.0},
        {"brands": ()},
    ],
)
def test_config_rejects_out_of_range_values(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        SimulatorConfig(**bad)  # type: ignore[arg-type]
