"""The pure pipeline steps (src/streams/steps): decode, identity, enrich, profile fold, alerts, dead-letter
limit. Values in, values out; no storage."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone

import pytest

from alerts.config import AlertingConfig
from alerts.state import DetectorState
from alerts.suite import run_detectors
from enrichment.contracts import Enrichment, ModelStamp, Sentiment
from ingest.codec import encode_event, event_from_dict
from ingest.contracts import SocialEvent
from ingest.deadletter import DeadLetter
from ingest.records import SourceRecord
from profile_store.contracts import AuthorStanding
from streams.exceptions import DeadLetterRatioExceeded
from streams.steps.alert import scored_post, standing_of
from streams.steps.deadletter_limit import DeadLetterLimit, DeadLetterLimits
from streams.steps.decode import decode_record
from streams.steps.enrich import enrich_events
from streams.steps.identity import resolve_customer
from streams.steps.profile import SENTIMENT_ALPHA, TIMELINE_LENGTH, build_profile, fold_event

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
BASE_TIME = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
# Customer ids are persisted everywhere, so the uuid5 namespace is part of the contract.
CUSTOMER_NAMESPACE = uuid.UUID("6f1d3c2e-5b8a-4c59-9a8e-2f4b7d1e0c11")


def new_customer_id(identity_key: str) -> str:
    return str(uuid.uuid5(CUSTOMER_NAMESPACE, identity_key))


STAMP = ModelStamp(name="echo", version="1")


def _fold_all(events):
    """Fold events that arrive in event-time order."""
    profile = None
    for enriched in events:
        profile = fold_event(profile, enriched)
    assert profile is not None
    return profile


# --------------------------------------------------------------------------- decode


def test_decode_record_returns_the_event_for_valid_bytes(event_factory):
    event = event_from_dict(event_factory())
    decoded = decode_record(SourceRecord(value=encode_event(event), topic="scrm.events.raw"))
    assert decoded == event


@pytest.mark.parametrize(
    ("value", "field"),
    [
        (b"\xff\xfe not utf-8", "<payload>"),
        (b"not json at all", "<payload>"),
        (b"[]", "<payload>"),
    ],
)
def test_decode_record_dead_letters_bad_bytes_keeping_original_and_origin(value, field):
    record = SourceRecord(value=value, topic="scrm.events.raw", partition=3, offset=1234, key=b"weibo:1")

    letter = decode_record(record, now=NOW)

    assert isinstance(letter, DeadLetter)
    assert letter.original == value
    assert letter.key == b"weibo:1"
    assert (letter.source_topic, letter.partition, letter.offset) == ("scrm.events.raw", 3, 1234)
    assert letter.field == field
    assert letter.stage == "decode"
    assert letter.failed_at == NOW
    assert letter.error.startswith(f"{field}: ")


def test_decode_record_dead_letter_names_the_invalid_field(event_factory):
    value = json.dumps(event_factory(author={"followers": "many"})).encode()
    letter = decode_record(SourceRecord(value=value, topic="t", partition=0, offset=7))
    assert isinstance(letter, DeadLetter)
    assert letter.field == "author.followers"
    assert letter.original == value
    assert letter.failed_at.tzinfo is not None


def test_decode_record_dead_letters_deeply_nested_json():
    letter = decode_record(SourceRecord(value=b"[" * 100_000, topic="t", partition=0, offset=0))
    assert isinstance(letter, DeadLetter)


# --------------------------------------------------------------------------- identity


def test_new_identity_gets_uuid5_of_its_identity_key(event_factory):
    event = event_from_dict(event_factory(platform="weibo", author={"id": "12345"}))
    customer = resolve_customer(event, {})
    assert customer == str(uuid.uuid5(CUSTOMER_NAMESPACE, "weibo:12345"))
    assert uuid.UUID(customer).version == 5


def test_same_identity_key_resolves_to_the_same_customer_across_events(event_factory):
    first = event_from_dict(event_factory(author={"id": "u-7"}, text="a"))
    second = event_from_dict(event_factory(author={"id": "u-7", "handle": "renamed"}, kind="like"))
    assert resolve_customer(first, {}) == resolve_customer(second, {}) == new_customer_id("weibo:u-7")


def test_different_identity_keys_resolve_to_different_customers(event_factory):
    ids = {
        resolve_customer(event_from_dict(event_factory(platform=p, author={"id": a})), {})
        for p, a in [("weibo", "1"), ("weibo", "2"), ("douyin", "1"), ("x", "1")]
    }
    assert len(ids) == 4


def test_assigned_identity_resolves_through_the_assignment_table(event_factory):
    weibo = event_from_dict(event_factory(platform="weibo", author={"id": "1"}))
    wechat = event_from_dict(event_factory(platform="wechat", author={"id": "w1"}))
    assignments = {"weibo:1": "merged-customer", "wechat:w1": "merged-customer"}

    assert resolve_customer(weibo, assignments) == "merged-customer"
    assert resolve_customer(wechat, assignments) == "merged-customer"
    other = event_from_dict(event_factory(platform="weibo", author={"id": "2"}))
    assert resolve_customer(other, assignments) == new_customer_id("weibo:2")


# --------------------------------------------------------------------------- enrich


class _EchoEnricher:
    """Scores every text by its length so output order is observable."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    @property
    def stamp(self) -> ModelStamp:
        return STAMP

    def enrich(self, texts: Sequence[str]) -> list[Enrichment]:
        self.calls.append(list(texts))
        return [
            Enrichment(
                sentiment=Sentiment(label="neutral", score=0.0, confidence=0.5),
                topics=(text,),
                language="other",
                model=STAMP,
            )
            for text in texts
        ]


def test_enrich_events_keeps_input_order_and_pairs_each_event_with_its_customer(event_factory):
    events = [event_from_dict(event_factory(text=f"text-{i}")) for i in range(5)]
    events.append(event_from_dict(event_factory(kind="like", text=None)))
    resolved = [(event, f"cust-{i}") for i, event in enumerate(events)]
    enricher = _EchoEnricher()

    enriched = enrich_events(resolved, enricher)

    assert [e.event for e in enriched] == events
    assert [e.customer_id for e in enriched] == [f"cust-{i}" for i in range(6)]
    assert [e.enrichment.topics for e in enriched] == [(f"text-{i}",) for i in range(5)] + [("",)]
    assert enricher.calls == [[f"text-{i}" for i in range(5)] + [""]]  # one model batch


def test_enrich_events_refuses_an_enricher_returning_the_wrong_count(event_factory):
    class Short(_EchoEnricher):
        def enrich(self, texts):
            return super().enrich(texts)[:-1]

    resolved = [(event_from_dict(event_factory()), "c")] * 2
    with pytest.raises(RuntimeError, match="1 results for 2 texts"):
        enrich_events(resolved, Short())


# --------------------------------------------------------------------------- profile fold


def test_first_event_starts_a_profile_for_its_customer(enriched_factory):
    enriched = enriched_factory(customer_id="c-1", platform="douyin", author={"id": "d1"}, at=BASE_TIME)
    profile = fold_event(None, enriched)
    assert profile.customer_id == "c-1"
    assert profile.identities == ("douyin:d1",)
    assert profile.event_count == 1
    assert profile.first_seen == profile.last_seen == BASE_TIME
    assert profile.active_days == 1


def test_profile_counts_events_by_kind_and_platform(enriched_factory):
    events = [
        enriched_factory(kind="post", platform="weibo", at=BASE_TIME),
        enriched_factory(kind="like", platform="weibo", text=None, at=BASE_TIME + timedelta(minutes=1)),
        enriched_factory(
            kind="post", platform="x", author={"id": "x-1"}, at=BASE_TIME + timedelta(minutes=2)
        ),
        enriched_factory(
            kind="comment", platform="x", author={"id": "x-1"}, at=BASE_TIME + timedelta(minutes=3)
        ),
    ]
    profile = _fold_all(events)
    assert profile.event_count == 4
    assert profile.counts_by_kind == {"post": 2, "like": 1, "comment": 1}
    assert profile.counts_by_platform == {"weibo": 2, "x": 2}
    assert set(profile.identities) == {"weibo:u-1", "x:x-1"}
    assert profile.brands == {"acme": 4}


def test_first_and_last_seen_follow_event_time_for_out_of_order_events(enriched_factory):
    middle, early, late = BASE_TIME, BASE_TIME - timedelta(days=3), BASE_TIME + timedelta(days=2)
    arrival = [enriched_factory(at=middle), enriched_factory(at=late), enriched_factory(at=early)]

    profile = build_profile("cust-1", [], arrival)

    assert profile is not None
    assert profile.first_seen == early
    assert profile.last_seen == late
    assert profile.event_count == 3


def test_profile_does_not_depend_on_arrival_order(enriched_factory):
    events = [
        enriched_factory(
            at=BASE_TIME + timedelta(days=d), label=label, score=score, topics=("price",), text=f"day {d}"
        )
        for d, label, score in [
            (0, "positive", 0.8),
            (3, "negative", -0.7),
            (9, "neutral", 0.0),
            (40, "positive", 0.5),
        ]
    ]
    in_order = build_profile("cust-1", [], events)
    shuffled = build_profile("cust-1", [], [events[2], events[0], events[3], events[1]])
    assert in_order == shuffled


def test_first_seen_is_normalised_to_utc(enriched_factory):
    shanghai = timezone(timedelta(hours=8))
    profile = fold_event(None, enriched_factory(at=datetime(2026, 11, 1, 16, 0, tzinfo=shanghai)))
    assert profile.first_seen == datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    assert profile.first_seen.utcoffset() == timedelta(0)


def test_sentiment_counts_labels_and_ewma_starts_at_first_score(enriched_factory):
    first = fold_event(None, enriched_factory(label="positive", score=0.8, at=BASE_TIME))
    assert first.sentiment.ewma == pytest.approx(0.8)

    second = fold_event(
        first, enriched_factory(label="negative", score=-0.6, at=BASE_TIME + timedelta(hours=1))
    )
    third = fold_event(
        second, enriched_factory(label="neutral", score=0.0, at=BASE_TIME + timedelta(hours=2))
    )

    expected = 0.8
    for score in (-0.6, 0.0):
        expected = (1 - SENTIMENT_ALPHA) * expected + SENTIMENT_ALPHA * score
    assert third.sentiment.ewma == pytest.approx(expected, abs=1e-6)
    assert (third.sentiment.positive, third.sentiment.negative, third.sentiment.neutral) == (1, 1, 1)


def test_sentiment_ewma_follows_event_time_not_arrival(enriched_factory):
    older = enriched_factory(label="negative", score=-1.0, at=BASE_TIME)
    newer = enriched_factory(label="positive", score=1.0, at=BASE_TIME + timedelta(hours=1))
    profile = build_profile("cust-1", [], [newer, older])  # the older one arrived late
    assert profile is not None
    assert profile.sentiment.ewma == pytest.approx((1 - SENTIMENT_ALPHA) * -1.0 + SENTIMENT_ALPHA * 1.0)


def test_events_without_text_do_not_move_sentiment(enriched_factory):
    profile = fold_event(None, enriched_factory(label="positive", score=0.9, at=BASE_TIME))
    after_like = fold_event(
        profile,
        enriched_factory(
            kind="like", text=None, label="neutral", score=0.0, at=BASE_TIME + timedelta(minutes=1)
        ),
    )
    after_blank = fold_event(
        after_like,
        enriched_factory(text="   ", label="negative", score=-1.0, at=BASE_TIME + timedelta(minutes=2)),
    )
    assert after_blank.sentiment == profile.sentiment
    assert after_blank.event_count == 3


def test_topic_affinity_from_30_days_earlier_weighs_half(enriched_factory):
    profile = fold_event(None, enriched_factory(at=BASE_TIME, topics=("price",)))
    profile = fold_event(profile, enriched_factory(at=BASE_TIME + timedelta(days=30), topics=("delivery",)))
    assert profile.topics["price"] == pytest.approx(0.5)
    assert profile.topics["delivery"] == pytest.approx(1.0)


def test_topic_affinity_of_a_late_event_is_decayed_by_its_age(enriched_factory):
    recent = enriched_factory(at=BASE_TIME + timedelta(days=30), topics=("price",))
    late = enriched_factory(at=BASE_TIME, topics=("price", "service"))  # 30 days older, arrives last
    profile = build_profile("cust-1", [], [recent, late])
    assert profile is not None
    assert profile.topics["price"] == pytest.approx(1.5)
    assert profile.topics["service"] == pytest.approx(0.5)


def test_timeline_is_newest_first_by_event_time_and_capped_at_20(enriched_factory):
    times = [BASE_TIME + timedelta(hours=h) for h in range(25)]
    shuffled = times[::2] + times[1::2]
    events = [enriched_factory(at=t, text=f"post at {t.isoformat()}") for t in shuffled]

    profile = build_profile("cust-1", [], events)

    assert profile is not None
    assert len(profile.timeline) == TIMELINE_LENGTH == 20
    assert [item.occurred_at for item in profile.timeline] == sorted(times, reverse=True)[:20]
    newest = profile.timeline[0]
    assert newest.text == f"post at {times[-1].isoformat()}"
    assert newest.platform == "weibo" and newest.kind == "post"


def test_folding_in_order_puts_the_newest_event_first_in_the_timeline(enriched_factory):
    events = [enriched_factory(at=BASE_TIME + timedelta(minutes=m), text=f"m{m}") for m in range(22)]
    profile = _fold_all(events)
    assert [item.text for item in profile.timeline] == [f"m{m}" for m in range(21, 1, -1)]


def test_timeline_truncates_long_text(enriched_factory):
    profile = fold_event(None, enriched_factory(text="长" * 1000))
    assert profile.timeline[0].text == "长" * 280


def _timed(enriched_factory, specs):
    return [enriched_factory(at=BASE_TIME + timedelta(minutes=i), **spec) for i, spec in enumerate(specs)]


def test_new_customer_is_a_prospect(enriched_factory):
    assert fold_event(None, enriched_factory(label="neutral")).lifecycle == "prospect"


def test_repeated_negativity_makes_a_detractor(enriched_factory):
    first, second = _timed(enriched_factory, [{"label": "negative", "score": -0.9}] * 2)
    one = fold_event(None, first)
    assert one.lifecycle != "detractor"  # a single complaint is not "repeated"
    two = fold_event(one, second)
    assert two.lifecycle == "detractor"


def test_brand_shares_with_positive_recommendation_make_an_advocate(enriched_factory):
    events = _timed(
        enriched_factory,
        [
            {"kind": "share", "label": "positive", "score": 0.7, "text": "love this", "intents": ("praise",)},
            {"kind": "share", "label": "positive", "score": 0.8, "text": "best ever", "intents": ("praise",)},
        ],
    )
    assert _fold_all(events).lifecycle == "advocate"


def test_positive_shares_do_not_outrank_repeated_negativity(enriched_factory):
    events = _timed(
        enriched_factory,
        [
            {"kind": "share", "label": "positive", "score": 0.7, "intents": ("praise",)},
            {"kind": "share", "label": "positive", "score": 0.7, "intents": ("praise",)},
            *[{"label": "negative", "score": -1.0}] * 6,
        ],
    )
    assert _fold_all(events).lifecycle == "detractor"


def test_frequent_positive_participation_makes_a_fan(enriched_factory):
    events = _timed(enriched_factory, [{"kind": "comment", "label": "positive", "score": 0.6}] * 5)
    assert _fold_all(events[:4]).lifecycle != "fan"  # fewer than 5 events
    assert _fold_all(events).lifecycle == "fan"


def test_activity_on_three_days_makes_a_member(enriched_factory):
    events = [enriched_factory(at=BASE_TIME + timedelta(days=d), kind="like", text=None) for d in range(3)]
    assert _fold_all(events[:2]).lifecycle == "prospect"
    profile = _fold_all(events)
    assert profile.active_days == 3
    assert profile.lifecycle == "member"


def test_crm_id_hint_makes_a_customer(enriched_factory):
    profile = fold_event(None, enriched_factory(identity_hints={"crm_id": "crm-1"}))
    assert profile.crm_id == "crm-1"
    assert profile.lifecycle == "customer"


def test_influence_grows_with_followers(enriched_factory):
    influences = [
        fold_event(None, enriched_factory(author={"followers": f})).influence
        for f in (0, 100, 10_000, 1_000_000)
    ]
    assert influences == sorted(influences)
    assert len(set(influences)) == 4
    assert influences[0] == 0.0


def test_influence_stays_within_0_and_100(enriched_factory):
    for followers in (0, 1, 10**7, 10**12):
        for verified in (False, True):
            events = _timed(
                enriched_factory,
                [
                    {
                        "author": {"followers": followers, "verified": verified},
                        "kind": kind,
                        "metrics": {"likes": 10**9, "shares": 10**9, "replies": 10**9},
                    }
                    for kind in ("post", "share", "share", "share")
                ],
            )
            profile = _fold_all(events)
            assert 0.0 <= profile.influence <= 100.0


def test_influence_keeps_the_highest_follower_count_seen(enriched_factory):
    big_event, small_event = _timed(
        enriched_factory, [{"author": {"followers": 1_000_000}}, {"author": {"followers": 10}}]
    )
    big = fold_event(None, big_event)
    later = fold_event(big, small_event)
    assert later.followers == 1_000_000
    assert later.influence == big.influence


def test_verified_adds_influence(enriched_factory):
    plain = fold_event(None, enriched_factory(author={"followers": 1000}))
    verified = fold_event(None, enriched_factory(author={"followers": 1000, "verified": True}))
    assert verified.influence > plain.influence


# --------------------------------------------------------------------------- alerts


def detect_alerts(events, standings):
    """The detector suite over ``events`` (authors' standings by customer id) from empty state, with the
    default configuration."""
    posts = [scored_post(e, standings.get(e.customer_id, standing_of(None))) for e in events]
    return run_detectors(posts, DetectorState(), AlertingConfig())[0]


def _negative(enriched_factory, followers: int = 20_000, **overrides):
    author = {"followers": followers, **overrides.pop("author", {})}
    return enriched_factory(
        label="negative", score=-0.9, confidence=0.9, text="terrible, want a refund", author=author, **overrides
    )


def test_a_confident_negative_post_by_an_author_with_reach_raises_one_crisis_alert(enriched_factory):
    enriched = _negative(enriched_factory, brand="acme", customer_id="c-9")
    alerts = detect_alerts([enriched], {})
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert.kind == "crisis"
    assert alert.rule == "negative_post"
    assert alert.event_id == enriched.event.event_id
    assert alert.customer_id == "c-9"
    assert alert.brand == "acme"
    assert alert.evidence["text"] == "terrible, want a refund"


def test_an_ordinary_negative_post_raises_nothing_on_its_own(enriched_factory):
    assert detect_alerts([_negative(enriched_factory, followers=10)], {}) == []


@pytest.mark.parametrize(
    ("label", "score", "confidence", "kind", "text"),
    [
        ("positive", 0.9, 0.9, "post", "love it"),
        ("neutral", 0.0, 0.9, "post", "ok"),
        ("negative", -0.9, 0.4, "post", "meh bad"),  # not confident
        ("negative", -0.1, 0.9, "post", "slightly bad"),  # not negative enough
        ("negative", -0.9, 0.9, "like", None),
        ("negative", -0.9, 0.9, "follow", None),
        ("negative", -0.9, 0.9, "share", "terrible"),  # not a text kind
    ],
)
def test_no_crisis_alert_for_positive_neutral_unconfident_or_non_text_events(
    enriched_factory, label, score, confidence, kind, text
):
    enriched = enriched_factory(
        label=label, score=score, confidence=confidence, kind=kind, text=text, author={"followers": 20_000}
    )
    assert [a for a in detect_alerts([enriched], {}) if a.kind == "crisis"] == []


def test_alert_ids_are_deterministic_and_one_incident_key_per_complaining_author(enriched_factory):
    a = _negative(enriched_factory, event_id="e-1", customer_id="ann", author={"id": "ann-1"})
    b = _negative(enriched_factory, event_id="e-2", customer_id="bob", author={"id": "bob-1"})
    a_again = _negative(enriched_factory, event_id="e-3", customer_id="ann-merged", author={"id": "ann-1"})
    first = detect_alerts([a, b], {})
    again = detect_alerts([a, b], {})
    assert [x.alert_id for x in first] == [x.alert_id for x in again]
    assert first[0].alert_id != first[1].alert_id
    assert first[0].dedup_key != first[1].dedup_key
    same_author = detect_alerts([a, a_again], {})
    assert len({alert.dedup_key for alert in same_author}) == 1


def test_same_event_twice_in_a_batch_raises_one_alert(enriched_factory):
    a = _negative(enriched_factory)
    assert len(detect_alerts([a, a], {})) == 1


def _standing(influence: float) -> AuthorStanding:
    return AuthorStanding(influence=influence)


def test_severity_grows_with_the_authors_influence(enriched_factory):
    nobody = _negative(enriched_factory, customer_id="small", followers=10)
    notable = _negative(enriched_factory, customer_id="mid", followers=10)
    star = _negative(enriched_factory, customer_id="big", followers=10)
    standings = {"small": _standing(5.0), "mid": _standing(45.0), "big": _standing(80.0)}

    middle, high = detect_alerts([nobody, notable, star], standings)

    assert (middle.customer_id, high.customer_id) == ("mid", "big")
    assert middle.severity < high.severity
    assert high.evidence["author_influence"] == 80.0


def test_a_verified_author_counts_as_influential(enriched_factory):
    plain = _negative(enriched_factory, followers=10)
    verified = _negative(enriched_factory, followers=10, author={"verified": True})
    assert detect_alerts([plain], {}) == []
    (alert,) = detect_alerts([verified], {})
    assert alert.severity >= 3


# --------------------------------------------------------------------------- dead-letter limit


def _guard(**limits) -> DeadLetterLimit:
    return DeadLetterLimit(limits=DeadLetterLimits(**limits), lane="enrich")


class _Partition:
    """Records of one partition, offsets counting up, fed to a guard."""

    def __init__(self, guard: DeadLetterLimit, partition: int = 0) -> None:
        self.guard, self.partition, self.offset = guard, partition, 0

    def record(self, dead: bool) -> None:
        self.guard.record("scrm.events.raw", self.partition, self.offset, dead)
        self.offset += 1


def test_dead_letter_limit_raises_once_the_ratio_is_exceeded():
    limit = _Partition(_guard(max_ratio=0.5, window=100, min_samples=10))
    for _ in range(9):
        limit.record(True)  # below min_samples: tolerated
    with pytest.raises(DeadLetterRatioExceeded, match="10 of the last 10") as raised:
        limit.record(True)
    assert (raised.value.lane, raised.value.partition, raised.value.offset) == ("enrich", 0, 9)
    assert "scrm deadletters skip --lane enrich" in str(raised.value), "the error says the way forward"


def test_dead_letter_limit_tolerates_anything_below_min_samples():
    limit = _Partition(_guard(max_ratio=0.1, window=1000, min_samples=50))
    for _ in range(49):
        limit.record(True)


def test_dead_letter_limit_allows_a_ratio_at_or_below_the_limit():
    limit = _Partition(_guard(max_ratio=0.5, window=100, min_samples=10))
    for i in range(500):
        limit.record(i % 2 == 1)  # never more than half


def test_dead_letter_limit_looks_only_at_the_window():
    limit = _Partition(_guard(max_ratio=0.5, window=20, min_samples=10))
    for _ in range(10):
        limit.record(False)
        limit.record(True)
    for _ in range(20):
        limit.record(False)  # old dead letters slide out of the window
    for _ in range(10):
        limit.record(True)  # 10 of the last 20: still at the limit
    with pytest.raises(DeadLetterRatioExceeded):
        limit.record(True)


def test_dead_letter_limit_raises_on_a_burst_after_healthy_traffic():
    limit = _Partition(_guard(max_ratio=0.5, window=100, min_samples=10))
    for _ in range(100):
        limit.record(False)
    with pytest.raises(DeadLetterRatioExceeded):
        for _ in range(100):
            limit.record(True)


def test_dead_letter_limit_counts_each_partition_on_its_own():
    guard = _guard(max_ratio=0.5, window=100, min_samples=10)
    healthy, broken = _Partition(guard, 0), _Partition(guard, 1)
    for _ in range(200):
        healthy.record(False)  # the healthy partition's traffic does not dilute the broken one's
    with pytest.raises(DeadLetterRatioExceeded) as raised:
        for _ in range(10):
            broken.record(True)
    assert raised.value.partition == 1


def test_dead_letter_limit_stops_a_run_of_consecutive_dead_letters_below_the_ratio():
    limit = _Partition(_guard(max_ratio=0.9, window=1000, min_samples=10, max_consecutive=30))
    for _ in range(500):
        limit.record(False)
    for _ in range(29):
        limit.record(True)
    limit.record(False)  # a good record ends the run
    for _ in range(29):
        limit.record(True)
    with pytest.raises(DeadLetterRatioExceeded, match="30 dead letters in a row"):
        limit.record(True)


def test_a_waived_burst_counts_as_handled_and_the_guard_starts_anew_after_it():
    guard = _guard(max_ratio=0.5, window=100, min_samples=10)
    guard.waive("scrm.events.raw", 0, through_offset=149)
    limit = _Partition(guard)
    for _ in range(150):
        limit.record(True)  # offsets 0..149: waived
    for _ in range(9):
        limit.record(True)
    with pytest.raises(DeadLetterRatioExceeded):
        limit.record(True)


def test_decoded_events_are_plain_social_events(event_factory):
    decoded = decode_record(SourceRecord(value=json.dumps(event_factory()).encode(), topic="t"))
    assert isinstance(decoded, SocialEvent)
