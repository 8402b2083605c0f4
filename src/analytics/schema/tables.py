"""Names and column lists of the ClickHouse schema (the DDL is in ``analytics.schema.migrations``)."""

from __future__ import annotations

MIGRATIONS_TABLE = "schema_migrations"
EVENTS_TABLE = "events"
EVENTS_VIEW = "events_current"  # events FINAL, each under its author's current customer (see the migrations)
IDENTITIES_TABLE = "identity_customers"
REDIRECTS_TABLE = "customer_redirects"
PROFILES_TABLE = "profiles"
SENTIMENT_MINUTE = "sentiment_minute"
SENTIMENT_HOUR = "sentiment_hour"
BRAND_VOICE_HOUR = "brand_voice_hour"
TOPICS_HOUR = "topics_hour"
INFLUENCERS_HOUR = "influencers_hour"
EVENTS_HOUR = "events_hour"  # every event per hour x platform x brand x kind x language: the breakdowns
ROLLUPS = (SENTIMENT_MINUTE, SENTIMENT_HOUR, BRAND_VOICE_HOUR, TOPICS_HOUR, INFLUENCERS_HOUR, EVENTS_HOUR)
INCIDENT_CHANGES_TABLE = "incident_changes"  # every incident version: the history
INCIDENTS_TABLE = "incidents"  # the newest version of each incident (``FINAL``)
ALERTS_TABLE = "alerts"
SEGMENT_CHANGES_TABLE = "segment_changes"
CONNECTOR_HEALTH_TABLE = "connector_health"
ERASABLE_TABLES = (EVENTS_TABLE, PROFILES_TABLE, IDENTITIES_TABLE, REDIRECTS_TABLE, INFLUENCERS_HOUR,
                   SEGMENT_CHANGES_TABLE, ALERTS_TABLE, INCIDENT_CHANGES_TABLE, INCIDENTS_TABLE)
"""The tables that can name a person (``analytics.erasure`` deletes or redacts their rows)."""

DEDUP_WINDOW = "non_replicated_deduplication_window = 1000"  # blocks whose insert tokens a table remembers

ALL_TOPICS = ""  # the sentiment rollups' ``topic`` of the row that counts every event once, whatever its topics

EVENT_COLUMNS: tuple[str, ...] = (
    "event_key", "event_id", "customer_id", "platform", "kind", "brand", "occurred_at", "author_id",
    "author_followers", "text", "language", "sentiment_label", "sentiment_score", "sentiment_confidence",
    "topics", "intents", "spam", "likes", "shares", "replies", "model_name", "model_version", "ingested_at",
)
PROFILE_COLUMNS: tuple[str, ...] = (
    "customer_id", "version", "is_deleted", "display_name", "identities", "first_seen", "last_seen",
    "event_count", "lifecycle", "followers", "verified", "influence", "churn_risk", "sentiment_ewma",
    "positive", "neutral", "negative", "brands", "topics", "crm_id",
)
IDENTITY_COLUMNS: tuple[str, ...] = ("identity_key", "customer_id", "version")
REDIRECT_COLUMNS: tuple[str, ...] = ("from_customer_id", "to_customer_id", "version", "is_deleted")
INCIDENT_COLUMNS: tuple[str, ...] = (
    "incident_id", "version", "change", "changed_at", "dedup_key", "rule", "rules", "kind", "severity", "title",
    "state", "brand", "topic", "language", "platforms", "customer_id", "alerts", "first_seen", "last_seen",
    "opened_at", "acknowledged_at", "acknowledged_by", "resolved_at", "resolved_by", "snoozed_until", "assignee",
    "team", "escalation_level", "escalated_at",
)
ALERT_COLUMNS: tuple[str, ...] = (
    "alert_id", "incident_id", "rule", "kind", "severity", "title", "dedup_key", "customer_id", "event_id",
    "event_key", "platform", "brand", "topic", "language", "occurred_at", "recorded_at",
)
SEGMENT_CHANGE_COLUMNS: tuple[str, ...] = ("segment", "change_id", "customer_id", "change", "delta", "at", "cause")
CONNECTOR_HEALTH_COLUMNS: tuple[str, ...] = (
    "connector", "version", "recorded_at", "platform", "kind", "rounds", "requests", "pages", "events", "skipped",
    "dead_letters", "retries", "waits", "waited_seconds", "errors", "last_round_at", "last_round_events",
    "next_round_at", "last_error", "last_error_at", "refused_until",
)
