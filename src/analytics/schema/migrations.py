"""The ClickHouse schema as an ordered list of versioned migrations: the same DDL on chDB and a server.

Each migration is idempotent on its own (``IF NOT EXISTS``, a type change to the type it already has, a
backfill that only the creating migration runs), and the runner (``analytics.schema.migrate``) records it
in ``schema_migrations`` once applied, so a store migrates any number of times to the same schema and a run
interrupted between a step and its record simply runs that step again. Never edit a released migration:
append a new one.

The model:

- ``events``: every event, engagement included (likes, follows, shares), one row per event key
  (``ReplacingMergeTree(ingested_at)``: a row written again collapses with the first; ``FINAL`` reads the
  collapsed view). ``sentiment_*`` are NULL where the event has no text: a like is no opinion, so it is not
  a "neutral" one, and ``avg``/``countIf`` over sentiment skip it.
- ``identity_customers`` (identity key -> its customer now, by version) and ``customer_redirects``
  (merged-away customer id -> surviving id, by version; a split deletes the redirect of the id that exists
  again): written by the identity lane in the transaction that merges or splits.
- ``events_current``: the view analysts and the API read events through: ``events FINAL`` with
  ``customer_id`` rewritten at read time to the author identity's current customer (else the redirect of the
  stored id, else the stored id). Rewrite-at-read, not rewrite-at-write: a merge or split touches one small
  row per moved identity instead of mutating every event of the customers, and an unmerge gives events back
  to the split customer, including events written while the two were merged (the stored id would be the
  survivor's; the author's identity says whose they are). A JOIN, not a dictionary: it reads the newest
  rows at once (a dictionary lags by its lifetime) and works the same on chDB and a server.
- ``profiles``: the live profiles, one row per write (``ReplacingMergeTree(version, is_deleted)``; a merged-
  away customer gets a deleted row); read with ``FINAL``.
- Rollups (``AggregatingMergeTree`` fed by materialised views on ``events``; since migration 16 every
  measure is a plain number (``SimpleAggregateFunction``: read ``sum``/``max`` of it, merged or not), which
  ClickHouse adds up several times faster than the ``-State`` blobs of the first rollups):
  ``sentiment_minute`` / ``sentiment_hour`` (brand × platform × topic × language; only events with text;
  ``topic = ''`` is the all-topics row that counts each event once, the other rows count it under each of its
  topics), ``brand_voice_hour`` (share of voice: every event naming a brand), ``topics_hour`` (top topics),
  ``influencers_hour`` (per author account, brand, topic (``''``: all) and language: events, followers,
  engagement received), ``events_hour`` (every event per platform × brand × kind × language: the
  dashboard's breakdowns).

A view fires per inserted block, so the rollups count whatever is inserted: the writer (``analytics.writer``)
never inserts an event key that is stored already, and on retries its blocks carry insert deduplication
tokens (``non_replicated_deduplication_window`` on every table, ``deduplicate_blocks_in_dependent_
materialized_views``). A migration that creates a rollup backfills it from ``events FINAL``: run migrations
with the writers stopped (every entry point migrates as it opens its store, before it writes).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from analytics.client import AnalyticsClient
from analytics.schema.operations import (
    ALERT_STATEMENTS,
    CONNECTOR_STATEMENTS,
    INCIDENT_STATEMENTS,
    SEGMENT_STATEMENTS,
)
from analytics.schema.rekey import rekey_legacy_events
from analytics.schema.tables import (
    BRAND_VOICE_HOUR,
    DEDUP_WINDOW,
    ERASABLE_TABLES,
    EVENTS_HOUR,
    EVENTS_TABLE,
    EVENTS_VIEW,
    IDENTITIES_TABLE,
    INFLUENCERS_HOUR,
    PROFILES_TABLE,
    REDIRECTS_TABLE,
    ROLLUPS,
    SENTIMENT_HOUR,
    SENTIMENT_MINUTE,
    TOPICS_HOUR,
)


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema step: ``statements`` (``{db}`` stands for the analytics database) run in order, then
    ``run`` (for a step SQL alone cannot express). Each must be idempotent."""

    version: int
    name: str
    statements: tuple[str, ...] = ()
    run: Callable[[AnalyticsClient], None] | None = field(default=None, compare=False)


def _rollup(version: int, table: str, columns: str, order_by: str, select: str) -> Migration:
    """A rollup: its ``AggregatingMergeTree`` table, the materialised view that feeds it from every insert
    into ``events`` and a backfill from the events stored before (``select`` reads ``{source}``)."""
    return Migration(
        version,
        f"rollup_{table}",
        (
            f"CREATE TABLE IF NOT EXISTS {{db}}.{table} ({columns}) ENGINE = AggregatingMergeTree "
            f"PARTITION BY toYYYYMM(bucket) ORDER BY ({order_by}) SETTINGS {DEDUP_WINDOW}",
            f"CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.{table}_mv TO {{db}}.{table} AS "
            + select.format(source=f"{{db}}.{EVENTS_TABLE}"),
            f"INSERT INTO {{db}}.{table} " + select.format(source=f"{{db}}.{EVENTS_TABLE} FINAL"),
        ),
    )


_LABEL = "coalesce(sentiment_label, '')"
_SENTIMENT_COLUMNS = (
    "bucket DateTime('UTC'), brand LowCardinality(String), platform LowCardinality(String), "
    "topic LowCardinality(String), language LowCardinality(String), events AggregateFunction(count), "
    "positive AggregateFunction(countIf, UInt8), neutral AggregateFunction(countIf, UInt8), "
    "negative AggregateFunction(countIf, UInt8), score_sum AggregateFunction(sum, Float64)"
)
_SENTIMENT_SELECT = (
    "SELECT {bucket}(occurred_at) AS bucket, brand, platform, "
    "arrayJoin(arrayConcat([''], arrayDistinct(topics))) AS topic, language, countState() AS events, "
    f"countIfState({_LABEL} = 'positive') AS positive, countIfState({_LABEL} = 'neutral') AS neutral, "
    f"countIfState({_LABEL} = 'negative') AS negative, "
    "sumState(toFloat64(assumeNotNull(sentiment_score))) AS score_sum "
    "FROM {{source}} WHERE sentiment_label IS NOT NULL GROUP BY bucket, brand, platform, topic, language"
)
_SENTIMENT_ORDER = "brand, platform, topic, language, bucket"
_ENGAGEMENT = "sumState(likes + shares + replies) AS engagement"

_SUM = "SimpleAggregateFunction(sum, UInt64)"
_PLAIN_SENTIMENT_COLUMNS = (
    "bucket DateTime('UTC'), brand LowCardinality(String), platform LowCardinality(String), "
    f"topic LowCardinality(String), language LowCardinality(String), events {_SUM}, positive {_SUM}, "
    f"neutral {_SUM}, negative {_SUM}, score_sum SimpleAggregateFunction(sum, Float64)"
)
_PLAIN_SENTIMENT_SELECT = (
    "SELECT {bucket}(occurred_at) AS bucket, brand, platform, "
    "arrayJoin(arrayConcat([''], arrayDistinct(topics))) AS topic, language, count() AS events, "
    f"countIf({_LABEL} = 'positive') AS positive, countIf({_LABEL} = 'neutral') AS neutral, "
    f"countIf({_LABEL} = 'negative') AS negative, sum(toFloat64(assumeNotNull(sentiment_score))) AS score_sum "
    "FROM {{source}} WHERE sentiment_label IS NOT NULL GROUP BY bucket, brand, platform, topic, language"
)
# topic and brand lead the sentiment key: each has a handful of values, so a window of time without a brand
# (the console's charts) is still a few narrow ranges of the index, and a brand's series one
_PLAIN_SENTIMENT_ORDER = "topic, brand, bucket, platform, language"
_PLAIN_ENGAGEMENT = "sum(likes + shares + replies) AS engagement"
PLAIN_ROLLUPS: tuple[tuple[str, str, str, str], ...] = (
    (SENTIMENT_MINUTE, _PLAIN_SENTIMENT_COLUMNS, _PLAIN_SENTIMENT_ORDER,
     _PLAIN_SENTIMENT_SELECT.format(bucket="toStartOfMinute")),
    (SENTIMENT_HOUR, _PLAIN_SENTIMENT_COLUMNS, _PLAIN_SENTIMENT_ORDER,
     _PLAIN_SENTIMENT_SELECT.format(bucket="toStartOfHour")),
    (BRAND_VOICE_HOUR,
     "bucket DateTime('UTC'), brand LowCardinality(String), platform LowCardinality(String), "
     f"events {_SUM}, voiced {_SUM}, negative {_SUM}, reach {_SUM}, engagement {_SUM}",
     "bucket, brand, platform",
     "SELECT toStartOfHour(occurred_at) AS bucket, brand, platform, count() AS events, "
     f"countIf(sentiment_label IS NOT NULL) AS voiced, countIf({_LABEL} = 'negative') AS negative, "
     f"sum(author_followers) AS reach, {_PLAIN_ENGAGEMENT} "
     "FROM {source} WHERE brand != '' GROUP BY bucket, brand, platform"),
    (TOPICS_HOUR,
     "bucket DateTime('UTC'), brand LowCardinality(String), platform LowCardinality(String), "
     "language LowCardinality(String), topic LowCardinality(String), "
     f"events {_SUM}, positive {_SUM}, negative {_SUM}, reach {_SUM}, engagement {_SUM}",
     "bucket, brand, platform, language, topic",
     "SELECT toStartOfHour(occurred_at) AS bucket, brand, platform, language, "
     "arrayJoin(arrayDistinct(topics)) AS topic, count() AS events, "
     f"countIf({_LABEL} = 'positive') AS positive, countIf({_LABEL} = 'negative') AS negative, "
     f"sum(author_followers) AS reach, {_PLAIN_ENGAGEMENT} "
     "FROM {source} GROUP BY bucket, brand, platform, language, topic"),
    # ``customer_id``: the greatest id the account's events were written under in the hour (any of them:
    # ``identity_customers`` and ``customer_redirects`` give the current customer of each at read time)
    (INFLUENCERS_HOUR,
     "bucket DateTime('UTC'), platform LowCardinality(String), author_id String, brand LowCardinality(String), "
     "topic LowCardinality(String), language LowCardinality(String), "
     f"customer_id SimpleAggregateFunction(max, String), events {_SUM}, "
     f"followers SimpleAggregateFunction(max, UInt64), engagement {_SUM}, negative {_SUM}",
     "topic, bucket, platform, author_id, brand, language",
     "SELECT toStartOfHour(occurred_at) AS bucket, platform, author_id, brand, "
     "arrayJoin(arrayConcat([''], arrayDistinct(topics))) AS topic, language, "
     f"max(customer_id) AS customer_id, count() AS events, max(author_followers) AS followers, "
     f"{_PLAIN_ENGAGEMENT}, countIf({_LABEL} = 'negative') AS negative "
     "FROM {source} GROUP BY bucket, platform, author_id, brand, topic, language"),
    (EVENTS_HOUR,
     "bucket DateTime('UTC'), platform LowCardinality(String), brand LowCardinality(String), "
     "kind LowCardinality(String), language LowCardinality(String), "
     f"events {_SUM}, voiced {_SUM}, negative {_SUM}, score_sum SimpleAggregateFunction(sum, Float64)",
     "bucket, platform, brand, kind, language",
     "SELECT toStartOfHour(occurred_at) AS bucket, platform, brand, kind, language, count() AS events, "
     f"countIf(sentiment_label IS NOT NULL) AS voiced, countIf({_LABEL} = 'negative') AS negative, "
     "sum(toFloat64(coalesce(sentiment_score, 0))) AS score_sum "
     "FROM {source} GROUP BY bucket, platform, brand, kind, language"),
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "events", (
        """CREATE TABLE IF NOT EXISTS {db}.events (
            event_key String, event_id String, customer_id String, platform LowCardinality(String),
            kind LowCardinality(String), brand LowCardinality(String), occurred_at DateTime64(3, 'UTC'),
            author_id String, author_followers UInt64, text String, language LowCardinality(String),
            sentiment_label LowCardinality(String), sentiment_score Float32, sentiment_confidence Float32,
            topics Array(LowCardinality(String)), intents Array(LowCardinality(String)), spam Float32,
            likes UInt64, shares UInt64, replies UInt64, model_name LowCardinality(String),
            model_version LowCardinality(String), ingested_at DateTime64(3, 'UTC')
        ) ENGINE = ReplacingMergeTree(ingested_at) PARTITION BY toYYYYMM(occurred_at)
        ORDER BY (platform, event_key)""",
    )),
    Migration(2, "event_keys_name_the_author", run=rekey_legacy_events),
    Migration(3, "sentiment_null_without_text", (
        "ALTER TABLE {db}.events MODIFY COLUMN sentiment_label LowCardinality(Nullable(String))",
        "ALTER TABLE {db}.events MODIFY COLUMN sentiment_score Nullable(Float32)",
        "ALTER TABLE {db}.events MODIFY COLUMN sentiment_confidence Nullable(Float32)",
        "ALTER TABLE {db}.events UPDATE sentiment_label = NULL, sentiment_score = NULL, "
        "sentiment_confidence = NULL WHERE match(text, '^\\\\s*$') AND sentiment_label IS NOT NULL "
        "SETTINGS mutations_sync = 2",
        f"ALTER TABLE {{db}}.events MODIFY SETTING {DEDUP_WINDOW}",
    )),
    Migration(4, "identities_and_redirects", (
        f"CREATE TABLE IF NOT EXISTS {{db}}.{IDENTITIES_TABLE} (identity_key String, customer_id String, "
        "version UInt64) ENGINE = ReplacingMergeTree(version) ORDER BY identity_key",
        f"CREATE TABLE IF NOT EXISTS {{db}}.{REDIRECTS_TABLE} (from_customer_id String, to_customer_id String, "
        "version UInt64, is_deleted UInt8) ENGINE = ReplacingMergeTree(version, is_deleted) "
        "ORDER BY from_customer_id",
        f"CREATE VIEW IF NOT EXISTS {{db}}.{EVENTS_VIEW} AS SELECT e.* REPLACE (multiIf(i.customer_id != '', "
        "i.customer_id, r.to_customer_id != '', r.to_customer_id, e.customer_id) AS customer_id) "
        "FROM {db}.events AS e FINAL "
        f"LEFT JOIN (SELECT identity_key, customer_id FROM {{db}}.{IDENTITIES_TABLE} FINAL) AS i "
        "ON i.identity_key = concat(e.platform, ':', e.author_id) "
        f"LEFT JOIN (SELECT from_customer_id, to_customer_id FROM {{db}}.{REDIRECTS_TABLE} FINAL) AS r "
        "ON r.from_customer_id = e.customer_id",
    )),
    Migration(5, "profiles", (
        f"""CREATE TABLE IF NOT EXISTS {{db}}.{PROFILES_TABLE} (
            customer_id String, version UInt64, is_deleted UInt8, display_name Nullable(String),
            identities Array(String), first_seen DateTime64(3, 'UTC'), last_seen DateTime64(3, 'UTC'),
            event_count UInt64, lifecycle LowCardinality(String), followers UInt64, verified Bool,
            influence Float32, churn_risk Float32, sentiment_ewma Float32, positive UInt64, neutral UInt64,
            negative UInt64, brands Map(String, UInt64), topics Map(String, Float64), crm_id Nullable(String)
        ) ENGINE = ReplacingMergeTree(version, is_deleted) ORDER BY customer_id""",
    )),
    _rollup(6, SENTIMENT_MINUTE, _SENTIMENT_COLUMNS, _SENTIMENT_ORDER,
            _SENTIMENT_SELECT.format(bucket="toStartOfMinute")),
    _rollup(7, SENTIMENT_HOUR, _SENTIMENT_COLUMNS, _SENTIMENT_ORDER, _SENTIMENT_SELECT.format(bucket="toStartOfHour")),
    _rollup(
        8, BRAND_VOICE_HOUR,
        "bucket DateTime('UTC'), brand LowCardinality(String), platform LowCardinality(String), "
        "events AggregateFunction(count), voiced AggregateFunction(countIf, UInt8), "
        "negative AggregateFunction(countIf, UInt8), reach AggregateFunction(sum, UInt64), "
        "engagement AggregateFunction(sum, UInt64)",
        "bucket, brand, platform",
        "SELECT toStartOfHour(occurred_at) AS bucket, brand, platform, countState() AS events, "
        f"countIfState(sentiment_label IS NOT NULL) AS voiced, countIfState({_LABEL} = 'negative') AS negative, "
        f"sumState(author_followers) AS reach, {_ENGAGEMENT} "
        "FROM {source} WHERE brand != '' GROUP BY bucket, brand, platform",
    ),
    _rollup(
        9, TOPICS_HOUR,
        "bucket DateTime('UTC'), brand LowCardinality(String), platform LowCardinality(String), "
        "language LowCardinality(String), topic LowCardinality(String), events AggregateFunction(count), "
        "positive AggregateFunction(countIf, UInt8), negative AggregateFunction(countIf, UInt8), "
        "reach AggregateFunction(sum, UInt64), engagement AggregateFunction(sum, UInt64)",
        "bucket, brand, platform, language, topic",
        "SELECT toStartOfHour(occurred_at) AS bucket, brand, platform, language, "
        "arrayJoin(arrayDistinct(topics)) AS topic, countState() AS events, "
        f"countIfState({_LABEL} = 'positive') AS positive, countIfState({_LABEL} = 'negative') AS negative, "
        f"sumState(author_followers) AS reach, {_ENGAGEMENT} "
        "FROM {source} GROUP BY bucket, brand, platform, language, topic",
    ),
    _rollup(
        10, INFLUENCERS_HOUR,
        "bucket DateTime('UTC'), platform LowCardinality(String), author_id String, brand LowCardinality(String), "
        "topic LowCardinality(String), language LowCardinality(String), "
        "customer_id AggregateFunction(argMax, String, DateTime64(3, 'UTC')), events AggregateFunction(count), "
        "followers AggregateFunction(max, UInt64), engagement AggregateFunction(sum, UInt64), "
        "negative AggregateFunction(countIf, UInt8)",
        "bucket, platform, author_id, brand, topic, language",
        "SELECT toStartOfHour(occurred_at) AS bucket, platform, author_id, brand, "
        "arrayJoin(arrayConcat([''], arrayDistinct(topics))) AS topic, language, "
        "argMaxState(customer_id, ingested_at) AS customer_id, countState() AS events, "
        f"maxState(author_followers) AS followers, {_ENGAGEMENT}, "
        f"countIfState({_LABEL} = 'negative') AS negative "
        "FROM {source} GROUP BY bucket, platform, author_id, brand, topic, language",
    ),
    Migration(11, "incidents", INCIDENT_STATEMENTS),
    Migration(12, "alerts", ALERT_STATEMENTS),
    Migration(13, "segment_changes", SEGMENT_STATEMENTS),
    Migration(14, "connector_health", CONNECTOR_STATEMENTS),
    _rollup(
        15, EVENTS_HOUR,
        "bucket DateTime('UTC'), platform LowCardinality(String), brand LowCardinality(String), "
        "kind LowCardinality(String), language LowCardinality(String), events AggregateFunction(count), "
        "voiced AggregateFunction(countIf, UInt8), negative AggregateFunction(countIf, UInt8), "
        "score_sum AggregateFunction(sum, Float64)",
        "platform, brand, kind, language, bucket",
        "SELECT toStartOfHour(occurred_at) AS bucket, platform, brand, kind, language, countState() AS events, "
        f"countIfState(sentiment_label IS NOT NULL) AS voiced, countIfState({_LABEL} = 'negative') AS negative, "
        "sumState(toFloat64(coalesce(sentiment_score, 0))) AS score_sum "
        "FROM {source} GROUP BY bucket, platform, brand, kind, language",
    ),
    Migration(16, "rollups_of_plain_numbers", (
        *(statement for table in ROLLUPS for statement in (
            f"DROP VIEW IF EXISTS {{db}}.{table}_mv", f"DROP TABLE IF EXISTS {{db}}.{table} SYNC")),
        *(statement for rollup in PLAIN_ROLLUPS for statement in _rollup(16, *rollup).statements),
    )),
    # erasure (``analytics.erasure``) waits until the parts its mutations replaced are gone from disk: let the
    # cleanup of the tables that can hold a person run every second instead of every 30-40 s (detached and
    # attached again, as a running table keeps the period it started with until its next cleanup)
    Migration(17, "cleanup_every_second", tuple(statement for table in ERASABLE_TABLES for statement in (
        f"ALTER TABLE {{db}}.{table} MODIFY SETTING cleanup_delay_period = 1, cleanup_delay_period_random_add = 0, "
        "cleanup_thread_preferred_points_per_iteration = 0",
        f"DETACH TABLE {{db}}.{table}", f"ATTACH TABLE {{db}}.{table}"))),
)
