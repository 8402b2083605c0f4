"""Erasing a person from ClickHouse, physically.

``erase_person`` deletes the person's rows with mutations (``ALTER TABLE ... DELETE``, which rewrite every
part holding a matching row; ``mutations_sync = 2`` waits for them) and redacts the operational tables'
copies of incidents and alerts that name them (titles and dedup keys: the person's strings become
``ERASED``; the rows and so the counts stay). The parts a mutation replaced stay on disk until ClickHouse's
cleanup removes them: for the duration of the erasure the touched tables get ``old_parts_lifetime = 0``
(migration 17 lets the cleanup run every second), and ``erase_person`` waits for that cause, no inactive
part left, before it returns (bounded by ``wait_seconds``; what is left then is reported). A mutation's
command is kept on disk with its parameters spelled out (``mutation_<n>.txt``): ``finished_mutations_to_keep
= 1`` holds for the same time, a no-op mutation follows the person's, and the wait covers their records too.

Aggregates keep their counts: the sentiment, voice, topic and breakdown rollups hold no person (brand,
platform, topic, hour), while the per-account ``influencers_hour`` rows are deleted.

Blocks; idempotent (a second run finds nothing and changes nothing). ``exclude_person`` is the narrower
removal for a withdrawal of analytics consent (docs/consent.md).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from analytics.client import AnalyticsClient
from analytics.schema.tables import (
    ALERTS_TABLE,
    EVENTS_TABLE,
    IDENTITIES_TABLE,
    INCIDENT_CHANGES_TABLE,
    INCIDENTS_TABLE,
    INFLUENCERS_HOUR,
    PROFILES_TABLE,
    REDIRECTS_TABLE,
    SEGMENT_CHANGES_TABLE,
)

ERASED = "[erased]"
MAX_NEEDLES = 200
"""Most strings replaced in a redacted row (one alternation of a regular expression)."""
_ACCOUNT = "concat(platform, ':', author_id)"


@dataclass(frozen=True)
class AnalyticsSubject:
    """Who to erase: every identity key and customer id of the person, the keys of their events, and the
    strings that name them in free text (``Person.needles``: keys and names first; the first
    ``MAX_NEEDLES`` are replaced in titles and dedup keys)."""

    identity_keys: tuple[str, ...]
    customer_ids: tuple[str, ...]
    event_keys: tuple[str, ...] = ()
    needles: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Step:
    table: str
    where: str
    redact: bool = False


_STEPS: tuple[_Step, ...] = (
    _Step(EVENTS_TABLE, f"customer_id IN {{ids:Array(String)}} OR {_ACCOUNT} IN {{keys:Array(String)}} "
          "OR event_key IN {events:Array(String)}"),
    _Step(PROFILES_TABLE, "customer_id IN {ids:Array(String)} OR hasAny(identities, {keys:Array(String)})"),
    _Step(IDENTITIES_TABLE, "identity_key IN {keys:Array(String)} OR customer_id IN {ids:Array(String)}"),
    _Step(REDIRECTS_TABLE, "from_customer_id IN {ids:Array(String)} OR to_customer_id IN {ids:Array(String)}"),
    _Step(INFLUENCERS_HOUR, f"{_ACCOUNT} IN {{keys:Array(String)}} OR customer_id IN {{ids:Array(String)}}"),
    _Step(SEGMENT_CHANGES_TABLE, "customer_id IN {ids:Array(String)}"),
    # incidents and alerts are picked by the person's ids and keys (dedup keys spell the account's key), and
    # redacted with every needle
    _Step(ALERTS_TABLE, "customer_id IN {ids:Array(String)} OR event_key IN {events:Array(String)} "
          "OR match(dedup_key, {strong:String}) OR match(title, {strong:String})", redact=True),
    _Step(INCIDENT_CHANGES_TABLE, "customer_id IN {ids:Array(String)} OR match(dedup_key, {strong:String}) "
          "OR match(title, {strong:String})", redact=True),
    _Step(INCIDENTS_TABLE, "customer_id IN {ids:Array(String)} OR match(dedup_key, {strong:String}) "
          "OR match(title, {strong:String})", redact=True),
)


def erase_person(client: AnalyticsClient, subject: AnalyticsSubject, *, wait_seconds: float = 120.0,
                 clock: Callable[[], float] = time.monotonic) -> dict[str, int]:
    """Delete (or, for incidents and alerts, redact) every row of ``subject``; returns rows per table
    (``clickhouse.<table>``) and, under ``clickhouse.old_parts_left``, the replaced parts still on disk when
    ``wait_seconds`` ran out (0: none). Blocks; raises what the client raises."""
    parameters = _parameters(subject)
    counts: dict[str, int] = {}
    touched: list[str] = []
    for step in _STEPS:
        table = f"{client.database}.{step.table}"
        found = counts[f"clickhouse.{step.table}"] = _count(client, step, parameters)
        if not found:
            continue
        touched.append(step.table)
        client.command(f"ALTER TABLE {table} MODIFY SETTING old_parts_lifetime = 0, finished_mutations_to_keep = 1")
        if step.redact:
            client.command(f"ALTER TABLE {table} UPDATE {_redactions(step.table, subject)} WHERE {step.where} "
                           "SETTINGS mutations_sync = 2", _with_needles(parameters, subject))
        else:
            _delete(client, step, parameters)
        # a no-op mutation after it, so the person's is no longer the one record kept
        client.command(f"ALTER TABLE {table} DELETE WHERE 0 SETTINGS mutations_sync = 2")
    counts["clickhouse.old_parts_left"] = _wait_for_cleanup(client, touched, wait_seconds, clock)
    for table in touched:
        client.command(f"ALTER TABLE {client.database}.{table} RESET SETTING old_parts_lifetime, "
                       "finished_mutations_to_keep")
    return counts


def exclude_person(client: AnalyticsClient, subject: AnalyticsSubject) -> dict[str, int]:
    """Delete the rows of ``subject`` from the tables that analyse people (events, profiles, identities,
    redirects, influencers, segment changes: every step but the redacted incidents and alerts, which are
    operational records, not analysis), for a person who withdrew analytics consent; returns rows per
    table (``clickhouse.<table>``). Unlike ``erase_person`` it neither redacts nor waits for the replaced
    parts to leave the disk: the rows are out of every query once it returns. Blocks; idempotent (a
    second run finds nothing and changes nothing); raises what the client raises."""
    parameters = _parameters(subject)
    counts: dict[str, int] = {}
    for step in _STEPS:
        if step.redact:
            continue
        if found := _count(client, step, parameters):
            _delete(client, step, parameters)
        counts[f"clickhouse.{step.table}"] = found
    return counts


def traces(client: AnalyticsClient, subject: AnalyticsSubject) -> dict[str, int]:
    """Rows per table that still name ``subject`` (redacted rows do not: their strings are gone)."""
    parameters = _parameters(subject)
    return {f"clickhouse.{step.table}": _count(client, step, parameters) for step in _STEPS}


def _count(client: AnalyticsClient, step: _Step, parameters: dict[str, object]) -> int:
    _, rows = client.query(f"SELECT count() FROM {client.database}.{step.table} WHERE {step.where}", parameters)
    return int(rows[0][0])


def _delete(client: AnalyticsClient, step: _Step, parameters: dict[str, object]) -> None:
    client.command(f"ALTER TABLE {client.database}.{step.table} DELETE WHERE {step.where} SETTINGS mutations_sync = 2",
                   parameters)


def _parameters(subject: AnalyticsSubject) -> dict[str, object]:
    # rows are picked by the person's identity keys and customer ids standing on their own in a dedup key or
    # title (every dedup key of theirs spells their account's key; ``weibo:123`` is not in ``weibo:1234``)
    return {"ids": list(subject.customer_ids), "keys": list(subject.identity_keys), "events": list(subject.event_keys),
            "strong": _bounded([*subject.identity_keys, *subject.customer_ids]) or "$^"}


def _bounded(needles: list[str]) -> str | None:
    """An RE2 pattern of any of ``needles`` (longest first) with no id character (ASCII letters, digits,
    ``_``, ``-``: a handle is followed by Chinese text in a reply) next to it; the characters around it are captured (groups 1 and 3) so a replacement keeps them."""
    ordered = sorted({n for n in needles if n}, key=lambda n: (-len(n), n))
    if not ordered:
        return None
    return f"(^|[^A-Za-z0-9_-])({'|'.join(re.escape(n) for n in ordered)})($|[^A-Za-z0-9_-])"


def _redactions(table: str, subject: AnalyticsSubject) -> str:
    """The ``UPDATE`` assignments of a redacted table: the person's needles (the first ``MAX_NEEDLES``) in the
    title and dedup key replaced by the marker, the customer id (and for alerts the event's ids) emptied."""
    assignments = ["customer_id = if(customer_id IN {ids:Array(String)}, '', customer_id)"]
    if _bounded(list(subject.needles[:MAX_NEEDLES])) is not None:
        assignments += [f"{column} = replaceRegexpAll({column}, {{needles:String}}, '\\\\1{ERASED}\\\\3')"
                        for column in ("title", "dedup_key")]
    if table == ALERTS_TABLE:
        assignments += ["event_key = if(event_key IN {events:Array(String)}, '', event_key)",
                        "event_id = if(event_key IN {events:Array(String)}, '', event_id)"]
    return ", ".join(assignments)


def _with_needles(parameters: dict[str, object], subject: AnalyticsSubject) -> dict[str, object]:
    return {**parameters, "needles": _bounded(list(subject.needles[:MAX_NEEDLES])) or "$^"}


def _wait_for_cleanup(client: AnalyticsClient, tables: Sequence[str], wait_seconds: float,
                      clock: Callable[[], float]) -> int:
    """Wait until none of ``tables`` has an inactive (replaced) part on disk nor a finished mutation's record
    (its command, which spells out the person's keys; one record per table, the no-op's, stays), up to
    ``wait_seconds``; returns how many are left."""
    if not tables:
        return 0
    deadline = clock() + wait_seconds
    where = "database = {db:String} AND table IN {tables:Array(String)}"
    while True:
        _, rows = client.query(f"SELECT (SELECT count() FROM system.parts WHERE {where} AND NOT active) + "
                               f"(SELECT count() FROM system.mutations WHERE {where}) - {len(tables)}",
                               {"db": client.database, "tables": list(tables)})
        left = max(0, int(rows[0][0]))
        if not left or clock() >= deadline:
            return left
        time.sleep(0.05)
