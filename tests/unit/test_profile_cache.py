"""``ProfileCache``: a profile is reused only while its stored JSON is the text the cache knows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from enrichment.lexicon import LexiconEnricher
from ingest.codec import event_from_dict
from profile_store.contracts import CustomerProfile
from profile_store.profile_cache import ProfileCache
from streams.steps.enrich import enrich_events
from streams.steps.identity import resolve_customer
from streams.steps.profile import build_profile, fold_event

T0 = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
def profile(event_factory) -> CustomerProfile:
    events = [event_from_dict(event_factory(author={"id": "hana"}, text=text, at=T0 + timedelta(hours=n)))
              for n, text in enumerate(("love it, great service", "where can I buy the x1? 想买", "broken, refund"))]
    enriched = enrich_events([(e, resolve_customer(e, {})) for e in events], LexiconEnricher())
    built = build_profile(enriched[0].customer_id, ["weibo:hana"], enriched, centrality=37.5)
    assert built is not None
    return built


def test_an_unchanged_stored_text_gives_back_the_cached_profile_without_validating_again(profile):
    cache = ProfileCache(max_entries=4)
    text = profile.model_dump_json()

    first = cache.parse(profile.customer_id, text)
    again = cache.parse(profile.customer_id, text)

    assert first == profile
    assert again is first


def test_a_changed_stored_text_is_validated_again(profile, event_factory):
    cache = ProfileCache(max_entries=4)
    cache.remember(profile, profile.model_dump_json())
    (later,) = enrich_events(
        [(e, resolve_customer(e, {})) for e in [event_from_dict(event_factory(author={"id": "hana"}, text="meh",
                                                                              at=T0 + timedelta(days=1)))]],
        LexiconEnricher(),
    )
    written_elsewhere = fold_event(profile, later)

    seen = cache.parse(profile.customer_id, written_elsewhere.model_dump_json())

    assert seen == written_elsewhere
    assert seen.event_count == profile.event_count + 1


def test_remembering_what_is_saved_is_sound_because_profiles_round_trip_through_their_json(profile):
    """``save_profiles`` remembers (profile, its JSON) without parsing that JSON back; that is only right
    if parsing the JSON gives the very same profile."""
    assert CustomerProfile.model_validate_json(profile.model_dump_json()) == profile


def test_the_least_recently_used_profile_is_forgotten_first(profile):
    cache = ProfileCache(max_entries=2)
    others = [profile.model_copy(update={"customer_id": f"c-{n}"}) for n in range(3)]
    texts = {p.customer_id: p.model_dump_json() for p in others}
    cache.remember(others[0], texts["c-0"])
    cache.remember(others[1], texts["c-1"])
    kept = cache.parse("c-0", texts["c-0"])  # c-0 is now the most recently used

    cache.remember(others[2], texts["c-2"])  # over capacity: c-1 goes

    assert cache.parse("c-0", texts["c-0"]) is kept
    assert cache.parse("c-1", texts["c-1"]) is not others[1], "forgotten, so parsed again"


def test_a_cache_needs_room_for_one_profile():
    with pytest.raises(ValueError, match="at least 1"):
        ProfileCache(max_entries=0)
