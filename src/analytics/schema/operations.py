"""Migrations of the operational tables: incidents and alerts, segment membership history, connector health.

Their source of truth is the platform database (the alerts store, ``segment_changes``, ``poll_health``);
``streams.jobs.analytics_sync`` copies new rows here by watermark, and inserts only keys not stored yet
(``analytics.writer.write_new_rows``), so a sync repeated or overlapping an earlier one adds nothing. Every
table is a ``ReplacingMergeTree`` over a unique key as well, so whatever slipped past the key lookup
collapses under ``FINAL``.

- ``incident_changes``: one row per incident version (opened, updated, acknowledged, assigned, snoozed,
  escalated, resolved, ...), ``changed_at`` the wall-clock time of the change: the history.
- ``incidents``: ``ReplacingMergeTree(version)`` by ``incident_id``, fed from ``incident_changes`` by a
  materialised view: the newest version of each incident under ``FINAL`` (the current state).
- ``alerts``: every detector signal by ``alert_id`` with its incident.
- ``segment_changes``: every entry (``delta = 1``) and exit (``delta = -1``) of a customer in a segment,
  by the database's ``change_id``; ``at`` is event time. A segment's size at a time is ``sum(delta)`` up to it.
- ``connector_health``: snapshots of each poll connector's cumulative counters, one per stored update
  (``version``: its ``updated_at`` in milliseconds); a window's activity is the difference of two snapshots.
"""

from __future__ import annotations

from analytics.schema.tables import (
    ALERTS_TABLE,
    CONNECTOR_HEALTH_TABLE,
    DEDUP_WINDOW,
    INCIDENT_CHANGES_TABLE,
    INCIDENTS_TABLE,
    SEGMENT_CHANGES_TABLE,
)

_TIME = "DateTime64(3, 'UTC')"
_MAYBE_TIME = f"Nullable({_TIME})"

_INCIDENT_COLUMNS = (
    f"incident_id String, version UInt64, change LowCardinality(String), changed_at {_TIME}, dedup_key String, "
    "rule LowCardinality(String), rules Array(LowCardinality(String)), kind LowCardinality(String), "
    "severity UInt8, title String, state LowCardinality(String), brand LowCardinality(String), "
    "topic LowCardinality(String), language LowCardinality(String), platforms Array(LowCardinality(String)), "
    f"customer_id String, alerts UInt64, first_seen {_TIME}, last_seen {_TIME}, opened_at {_TIME}, "
    f"acknowledged_at {_MAYBE_TIME}, acknowledged_by Nullable(String), resolved_at {_MAYBE_TIME}, "
    f"resolved_by Nullable(String), snoozed_until {_MAYBE_TIME}, assignee Nullable(String), "
    f"team Nullable(String), escalation_level UInt8, escalated_at {_MAYBE_TIME}"
)

INCIDENT_STATEMENTS: tuple[str, ...] = (
    f"CREATE TABLE IF NOT EXISTS {{db}}.{INCIDENT_CHANGES_TABLE} ({_INCIDENT_COLUMNS}) "
    "ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(opened_at) ORDER BY (incident_id, version) "
    f"SETTINGS {DEDUP_WINDOW}",
    f"CREATE TABLE IF NOT EXISTS {{db}}.{INCIDENTS_TABLE} ({_INCIDENT_COLUMNS}) "
    f"ENGINE = ReplacingMergeTree(version) ORDER BY incident_id SETTINGS {DEDUP_WINDOW}",
    f"CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.{INCIDENTS_TABLE}_mv TO {{db}}.{INCIDENTS_TABLE} AS "
    f"SELECT * FROM {{db}}.{INCIDENT_CHANGES_TABLE}",
    f"INSERT INTO {{db}}.{INCIDENTS_TABLE} SELECT * FROM {{db}}.{INCIDENT_CHANGES_TABLE} FINAL",
)

ALERT_STATEMENTS: tuple[str, ...] = (
    f"""CREATE TABLE IF NOT EXISTS {{db}}.{ALERTS_TABLE} (
        alert_id String, incident_id String, rule LowCardinality(String), kind LowCardinality(String),
        severity UInt8, title String, dedup_key String, customer_id String, event_id String, event_key String,
        platform LowCardinality(String), brand LowCardinality(String), topic LowCardinality(String),
        language LowCardinality(String), occurred_at {_TIME}, recorded_at {_TIME}
    ) ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(occurred_at) ORDER BY alert_id SETTINGS {DEDUP_WINDOW}""",
)

SEGMENT_STATEMENTS: tuple[str, ...] = (
    f"""CREATE TABLE IF NOT EXISTS {{db}}.{SEGMENT_CHANGES_TABLE} (
        segment LowCardinality(String), change_id UInt64, customer_id String, change LowCardinality(String),
        delta Int8, at {_TIME}, cause String
    ) ENGINE = ReplacingMergeTree ORDER BY (segment, change_id) SETTINGS {DEDUP_WINDOW}""",
)

CONNECTOR_STATEMENTS: tuple[str, ...] = (
    f"""CREATE TABLE IF NOT EXISTS {{db}}.{CONNECTOR_HEALTH_TABLE} (
        connector String, version UInt64, recorded_at {_TIME}, platform LowCardinality(String),
        kind LowCardinality(String), rounds UInt64, requests UInt64, pages UInt64, events UInt64,
        skipped UInt64, dead_letters UInt64, retries UInt64, waits UInt64, waited_seconds Float64, errors UInt64,
        last_round_at {_MAYBE_TIME}, last_round_events UInt64, next_round_at {_MAYBE_TIME},
        last_error Nullable(String), last_error_at {_MAYBE_TIME}, refused_until {_MAYBE_TIME}
    ) ENGINE = ReplacingMergeTree ORDER BY (connector, version) SETTINGS {DEDUP_WINDOW}""",
)
