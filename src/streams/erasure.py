"""Erasure orchestration (PIPL / GDPR): one request removes a person from every store and topic, lists their
keys so nothing brings them back, and is audited. Both runtimes; ``scrm erase`` and
``DELETE /v1/customers/{id}`` call ``erase``.

The order, and why:

1. A short database transaction: on PostgreSQL it first locks the suppression list exclusively, which
   waits for every lane transaction that has checked it (they read it as their first statement) and holds
   back the ones that would, until the erasure commits (they then see the person listed and drop their
   records). Inside it: find the person (``profile_store.erasure.find_person``), list every identity key and
   customer id (keyed hashes, ``profile_store.privacy``) and write the audit row. From its commit on no lane
   writes the person, and whatever a lane wrote before is committed.
   Then, without that lock (the lanes go on), a second transaction deletes the profile store's rows,
   redacts the alerts store (``alerts.erasure``: counts kept) and deletes the dead letters and (embedded)
   the intake journal's messages keyed by their identities.
2. SQLite: deleted pages are overwritten (``secure_delete``, set on every connection by
   ``profile_store.database``) and the write-ahead log is checkpointed and truncated, so the file holds no
   copy of the deleted rows. PostgreSQL: the rows are deleted; their old versions stay in the table files
   until VACUUM reclaims them (autovacuum does; ``docs/privacy.md``).
3. ClickHouse: mutations rewrite the parts holding the person, and the replaced parts are waited out
   (``analytics.erasure``). The analytics writer inserts a batch's events after the batch's transaction
   committed, so a batch that committed just before step 1 can still be inserting; the erasure therefore
   checks for traces once more after the mutations and deletes again what it finds.
4. Kafka: tombstones for the person's keys on the compacted topics (``scrm.profiles`` by customer id,
   ``scrm.identity.assignments`` by identity key); compaction then drops the older records. The event topics
   (raw, enriched, alerts, dead letters...) are not rewritten: their retention bounds how long a copy lives
   (``docs/privacy.md``), and a replay from them is suppressed.

Blocks; idempotent (erasing an erased person finds nothing, lists nothing new, changes nothing and is still
audited).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from alerts.erasure import Redaction, alert_traces, redact_person
from analytics.erasure import AnalyticsSubject, erase_person, traces
from ingest.deadletter_store import count_keyed, delete_keyed
from profile_store.contracts import ErasureRecord
from profile_store.erasure import Person, delete_person, find_person, person_traces
from profile_store.privacy import (
    PrivacyKey,
    erasures_of,
    is_listed,
    lock_for_erasure,
    record_erasure,
    suppress,
)
from streams.intake_journal import forget_keyed
from streams.storage import Storage
from streams.topics import IDENTITY_ASSIGNMENTS, PROFILES
from streams.transports import Outgoing

log = logging.getLogger(__name__)

Publish = Callable[[Sequence[Outgoing]], None]
"""Sends tombstones to the compacted topics (blocks until they are durable; raises if it cannot)."""


@dataclass(frozen=True)
class Verification:
    """What ``verify`` found for one key or id: ``traces`` per store (all zero when clean), whether the
    suppression list holds it, and the erasures audited for it."""

    subject_listed: bool
    traces: dict[str, int]
    erasures: list[ErasureRecord] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return self.subject_listed and not any(self.traces.values())


def erase(subject: str, *, storage: Storage, privacy: PrivacyKey, requested_by: str, reason: str | None = None,
          publish: Publish | None = None, now: datetime | None = None) -> ErasureRecord | None:
    """Erase the person ``subject`` names (an identity key or a customer id, current or merged away) from
    every store; returns the audit record, or ``None`` when no store knows the subject and it was never
    erased (nothing is listed then: a typo must not suppress a stranger). ``publish`` sends the compacted
    topics' tombstones (the Kafka runtime's producer, the embedded runtime's topics). Blocks; raises on
    database, ClickHouse or broker errors (what committed stays; running it again finishes the job)."""
    at = now or datetime.now(UTC)
    erasure_id = uuid.uuid4().hex
    with storage.session_factory() as session, session.begin():
        lock_for_erasure(session=session)
        person = find_person(subject, session=session)
        if person is None and count_keyed([subject], session=session):
            person = _only_key(subject)  # an account only its invalid input names: its dead letters go
        if person is None and not is_listed(subject, privacy, session=session):
            return None
        keys = [subject] if person is None else [*person.identity_keys, *person.customer_ids]
        counts = {"suppressed_keys": suppress(keys, privacy, erasure_id=erasure_id, at=at, session=session)}
        record = ErasureRecord(erasure_id=erasure_id, subject_digest=privacy.digest(subject),
                               requested_by=requested_by, reason=reason, requested_at=at, counts=counts)
        record_erasure(record, session=session)
    if person is not None:  # listed: no lane writes them any more, so the long part holds no lock
        with storage.session_factory() as session, session.begin():
            counts.update(_erase_sql(person, session=session))
            record_erasure(record.model_copy(update={"counts": counts}), session=session)
    _truncate_sqlite_log(storage)
    if person is not None:
        if storage.analytics is not None:
            counts.update(_erase_analytics(storage, person))
        if publish is not None:
            tombstones = [*(Outgoing(PROFILES, cid.encode(), None) for cid in person.customer_ids),
                          *(Outgoing(IDENTITY_ASSIGNMENTS, key.encode(), None) for key in person.identity_keys)]
            publish(tombstones)
            counts[f"kafka.{PROFILES}"] = len(person.customer_ids)
            counts[f"kafka.{IDENTITY_ASSIGNMENTS}"] = len(person.identity_keys)
    record = record.model_copy(update={"completed_at": datetime.now(UTC), "counts": counts})
    with storage.session_factory() as session, session.begin():
        record_erasure(record, session=session)
    log.info("erasure %s by %s done: %s", erasure_id, requested_by,
             ", ".join(f"{k}={v}" for k, v in sorted(counts.items()) if v))
    return record


def verify(subject: str, *, storage: Storage, privacy: PrivacyKey) -> Verification:
    """Look for ``subject`` (any identity key or customer id the person had) in every store: rows per store
    that still name it, whether the suppression list holds it, and its erasures. Reads only; blocks."""
    probe = _only_key(subject)
    with storage.session_factory() as session:
        person = find_person(subject, session=session)
        found = person_traces(person or probe, session=session)
        found.update(alert_traces(_redaction(person or probe), session=session))
        keys = (person or probe).identity_keys
        found["sql.deadletters"] = count_keyed(keys, session=session)
        listed = is_listed(subject, privacy, session=session)
        erasures = erasures_of(subject, privacy, session=session)
    if storage.analytics is not None:
        found.update(traces(storage.analytics, _analytics_subject(person or probe)))
    return Verification(subject_listed=listed, traces=found, erasures=erasures)


def _only_key(subject: str) -> Person:
    """A person known by ``subject`` alone (as a key and an id): what ``verify`` looks for, and what an
    erasure removes of an account that only dead letters name."""
    return Person(customer_ids=(subject,), identity_keys=(subject,), handle_keys=(), event_keys=(), post_keys=(),
                  author_ids=(), names=(), texts=())


def _erase_sql(person: Person, *, session: Session) -> dict[str, int]:
    counts = delete_person(person, session=session)
    counts.update(redact_person(_redaction(person), session=session))
    counts["sql.deadletters"] = delete_keyed(person.identity_keys, session=session)
    counts["sql.intake_journal"] = forget_keyed(person.identity_keys, session=session)
    return counts


def _erase_analytics(storage: Storage, person: Person) -> dict[str, int]:
    """Mutations, then one more pass for rows a batch that committed just before the erasure inserted while
    the mutations ran (see the module docstring); the counts add up both passes."""
    assert storage.analytics is not None
    subject = _analytics_subject(person)
    counts = erase_person(storage.analytics, subject)
    if any(traces(storage.analytics, subject).values()):
        for table, rows in erase_person(storage.analytics, subject).items():
            counts[table] = rows if table.endswith("old_parts_left") else counts.get(table, 0) + rows
    return counts


def _redaction(person: Person) -> Redaction:
    keys = (*person.identity_keys, *person.customer_ids, *person.event_keys)
    exact = frozenset({*person.author_ids, *person.names, *person.texts, *person.identity_keys, *person.customer_ids,
                       *person.event_keys, *person.post_keys, *(p.split(":", 1)[1] for p in person.post_keys)})
    return Redaction(keys=keys, exact=exact, needles=person.needles(), event_keys=person.event_keys,
                     phrases=person.openings())


def _analytics_subject(person: Person) -> AnalyticsSubject:
    return AnalyticsSubject(identity_keys=person.identity_keys, customer_ids=person.customer_ids,
                            event_keys=person.event_keys, needles=person.needles())


def _truncate_sqlite_log(storage: Storage) -> None:
    """SQLite: copy the write-ahead log into the database file and truncate it (its frames held the deleted
    rows' pages before the erasure). A reader holding an old snapshot keeps frames alive: the checkpoint
    then reports busy, and it is retried a few times."""
    if storage.engine.dialect.name != "sqlite":
        return
    for _ in range(20):
        with storage.engine.connect() as connection:
            busy = connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)")).first()
            connection.commit()
        if busy is None or not busy[0]:
            return
    log.warning("the SQLite write-ahead log could not be truncated (a reader held it); the next checkpoint will")
