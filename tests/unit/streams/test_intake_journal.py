"""The embedded intake: what a receiver accepted is on disk before ``accept`` returns, reaches the pipeline,
is forgotten once the pipeline has handled it, and is fed again after a process died before that."""

from __future__ import annotations

from datetime import UTC, datetime

from enrichment.lexicon import LexiconEnricher
from ingest.codec import event_from_dict
from ingest.contracts import SocialEvent
from ingest.deadletter import DeadLetter
from ingest.deadletter_store import list_dead_letters
from profile_store.repository import find_profile_by_identity
from streams.config import PipelineConfig
from streams.intake_journal import count_journalled
from streams.runtimes.embedded import EmbeddedRuntime
from streams.runtimes.journal import JournalSink
from streams.steps.intake import intake_messages
from streams.storage import Storage
from streams.topics import DEADLETTER, RAW_EVENTS

AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _runtime(storage: Storage) -> EmbeddedRuntime:
    return EmbeddedRuntime(config=PipelineConfig(batch_size=8), enricher=LexiconEnricher(), storage=storage)


def _event(event_factory, **overrides) -> SocialEvent:
    return event_from_dict(event_factory(**overrides))


def _letter() -> DeadLetter:
    return DeadLetter(original=b"<xml>broken", error="<payload>: not XML", stage="webhook",
                      source_topic="webhook:acme-wechat", failed_at=AT, headers={"content-type": "text/xml"})


def _journalled(storage: Storage) -> int:
    with storage.session_factory() as session:
        return count_journalled(session=session)


def _profile(storage: Storage, key: str):
    with storage.session_factory() as session:
        return find_profile_by_identity(key, session=session)


def test_events_are_keyed_by_identity_and_dead_letters_go_to_the_dead_letter_topic(event_factory):
    event = _event(event_factory, platform="facebook", author={"id": "f-1"})
    messages = intake_messages([event, _letter()])
    assert [(m.topic, m.key) for m in messages] == [(RAW_EVENTS, b"facebook:f-1"), (DEADLETTER, None)]
    assert DeadLetter.model_validate_json(messages[1].value or b"").headers == {"content-type": "text/xml"}


def test_accepted_records_are_journalled_before_processing_and_trimmed_once_drained(storage, event_factory):
    runtime = _runtime(storage)
    sink = JournalSink(runtime, storage.session_factory)
    sink.accept([_event(event_factory, author={"id": "ann"}), _letter()])
    assert _journalled(storage) == 2 and runtime.pending() == 2

    runtime.drain()

    assert _profile(storage, "weibo:ann") is not None
    with storage.session_factory() as session:
        [letter] = list_dead_letters(session=session)
    assert (letter.original, letter.headers) == (b"<xml>broken", {"content-type": "text/xml"})
    assert _journalled(storage) == 0


def test_records_of_a_process_that_died_before_draining_are_fed_again_on_start(storage, event_factory):
    dead_process = JournalSink(_runtime(storage), storage.session_factory)
    dead_process.accept([_event(event_factory, author={"id": "bob"})])  # answered 200, then killed

    runtime = _runtime(storage)
    sink = JournalSink(runtime, storage.session_factory)
    assert sink.recover() == 1
    runtime.drain()

    assert _profile(storage, "weibo:bob") is not None
    assert _journalled(storage) == 0


def test_a_record_fed_twice_counts_once(storage, event_factory):
    event = _event(event_factory, author={"id": "cat"})
    runtime = _runtime(storage)
    sink = JournalSink(runtime, storage.session_factory)
    sink.accept([event])
    runtime.drain()
    sink.accept([event])  # the platform retried
    assert _journalled(storage) == 1  # the first was trimmed, the retry waits for the pipeline
    runtime.drain()

    profile = _profile(storage, "weibo:cat")
    assert profile is not None and profile.event_count == 1


def test_accepting_nothing_writes_nothing(storage):
    runtime = _runtime(storage)
    JournalSink(runtime, storage.session_factory).accept([])
    assert _journalled(storage) == 0 and runtime.pending() == 0


def test_concurrent_accepts_share_commits_and_every_record_is_fed_once(storage, event_factory):
    import threading

    runtime = _runtime(storage)
    sink = JournalSink(runtime, storage.session_factory)
    start = threading.Barrier(16)

    def deliver(n: int) -> None:
        start.wait()
        for k in range(5):
            sink.accept([_event(event_factory, event_id=f"e-{n}-{k}", author={"id": f"a-{n}"})])

    threads = [threading.Thread(target=deliver, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert _journalled(storage) == 80 and runtime.pending() == 80
    runtime.drain()
    assert all(_profile(storage, f"weibo:a-{n}") is not None for n in range(16))
    assert _journalled(storage) == 0
    sink.close()
