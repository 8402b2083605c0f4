"""Reads of the rollups (``analytics.schema.migrations``) for the API and console: sentiment over time and
its breakdowns, share of voice, top topics and the influencer leaderboard. Every value is a bound
parameter; column and table names come from fixed lists here, never from the caller. All calls block.

Windows are buckets whose start lies in ``[since, until)`` (event time). Opinion figures (sentiment,
negative shares) count only events with text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from analytics.client import AnalyticsClient
from analytics.schema.tables import (
    ALL_TOPICS,
    BRAND_VOICE_HOUR,
    IDENTITIES_TABLE,
    INFLUENCERS_HOUR,
    PROFILES_TABLE,
    REDIRECTS_TABLE,
    SENTIMENT_HOUR,
    SENTIMENT_MINUTE,
    TOPICS_HOUR,
)

Dimension = Literal["brand", "platform", "topic", "language"]
LeaderboardOrder = Literal["engagement", "followers", "events", "negative"]
_DIMENSIONS: tuple[Dimension, ...] = ("brand", "platform", "topic", "language")
_SENTIMENT = "sum(events) AS n, sum(positive) AS pos, sum(neutral) AS neu, sum(negative) AS neg, sum(score_sum) AS score"


@dataclass(frozen=True, slots=True)
class Filters:
    """What a read is restricted to; ``None`` is no restriction."""

    brand: str | None = None
    platform: str | None = None
    topic: str | None = None
    language: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def where(self, dimensions: tuple[Dimension, ...]) -> tuple[str, dict[str, Any]]:
        """The WHERE clause (bound parameters) over ``dimensions`` of a rollup and its ``bucket``."""
        clauses: list[str] = ["1"]
        parameters: dict[str, Any] = {}
        for name in dimensions:
            value = getattr(self, name)
            if value is not None:
                clauses.append(f"{name} = {{{name}:String}}")
                parameters[name] = value
        if self.since is not None:
            clauses.append("bucket >= {since:DateTime64(3)}")
            parameters["since"] = self.since
        if self.until is not None:
            clauses.append("bucket < {until:DateTime64(3)}")
            parameters["until"] = self.until
        return " AND ".join(clauses), parameters


def _sentiment_source(filters: Filters, *, by_topic: bool = False) -> tuple[str, dict[str, Any]]:
    """The sentiment rollup's WHERE: the all-topics rows unless a topic is asked for (or broken down by)."""
    where, parameters = filters.where(_DIMENSIONS)
    if filters.topic is None:
        where += " AND topic != ''" if by_topic else " AND topic = {all_topics:String}"
        parameters.setdefault("all_topics", ALL_TOPICS)
    return where, parameters


def sentiment_series(client: AnalyticsClient, filters: Filters, *, bucket_minutes: int = 60) -> list[dict[str, Any]]:
    """Per bucket of ``bucket_minutes`` (from the hourly rollup when a whole number of hours, else the
    per-minute one): events with text, counts by label and the mean score, oldest first."""
    table = SENTIMENT_HOUR if bucket_minutes % 60 == 0 else SENTIMENT_MINUTE
    where, parameters = _sentiment_source(filters)
    _, rows = client.query(
        f"SELECT toStartOfInterval(bucket, toIntervalMinute({{minutes:UInt32}})) AS b, {_SENTIMENT} "
        f"FROM {client.database}.{table} WHERE {where} GROUP BY b ORDER BY b",
        {**parameters, "minutes": bucket_minutes},
    )
    return [{"bucket": b, "events": n, "positive": pos, "neutral": neu, "negative": neg, "mean_score": _mean(score, n)}
            for b, n, pos, neu, neg, score in rows]


def sentiment_over_time(
    client: AnalyticsClient, filters: Filters, *, bucket_minutes: int = 60
) -> list[dict[str, Any]]:
    """``sentiment_series`` as one row per bucket and label with events (``bucket``, ``sentiment``,
    ``count``), the console's shape."""
    return [
        {"bucket": row["bucket"], "sentiment": label, "count": row[label]}
        for row in sentiment_series(client, filters, bucket_minutes=bucket_minutes)
        for label in ("negative", "neutral", "positive") if row[label]
    ]


def sentiment_breakdown(client: AnalyticsClient, filters: Filters, *, by: Dimension) -> list[dict[str, Any]]:
    """Events with text, counts by label, mean score and negative share per ``by`` (most events first)."""
    if by not in _DIMENSIONS:
        raise ValueError(f"cannot break down by {by!r}")
    where, parameters = _sentiment_source(filters, by_topic=by == "topic")
    _, rows = client.query(
        f"SELECT {by} AS key, {_SENTIMENT} FROM {client.database}.{SENTIMENT_HOUR} WHERE {where} "
        "GROUP BY key ORDER BY n DESC, key", parameters,
    )
    return [{"key": key, "events": n, "positive": pos, "neutral": neu, "negative": neg, "mean_score": _mean(score, n),
             "negative_share": _mean(neg, n)} for key, n, pos, neu, neg, score in rows]


def share_of_voice(client: AnalyticsClient, filters: Filters, *, bucket_hours: int | None = None) -> list[dict[str, Any]]:
    """Each brand's events and its share of all brands' events (per bucket of ``bucket_hours``, or over
    the whole window), with events with text, negatives and reach. Every event naming a brand counts
    (engagement too); with a topic or language filter, only events with text count (from the sentiment
    rollup, as engagement has neither)."""
    if filters.topic is None and filters.language is None:
        where, parameters = filters.where(("brand", "platform"))
        table = BRAND_VOICE_HOUR
        measures = "sum(events) AS n, sum(voiced) AS voiced, sum(negative) AS neg, sum(reach) AS reach"
    else:
        where, parameters = _sentiment_source(filters)
        table = SENTIMENT_HOUR
        measures = "sum(events) AS n, n AS voiced, sum(negative) AS neg, toUInt64(0) AS reach"
    bucket = "toStartOfInterval(bucket, toIntervalHour({hours:UInt32}))" if bucket_hours else "toDateTime(0, 'UTC')"
    _, rows = client.query(
        f"SELECT b, brand, n, n / sum(n) OVER (PARTITION BY b) AS share, voiced, neg, reach FROM ("
        f"SELECT {bucket} AS b, brand, {measures} FROM {client.database}.{table} "
        f"WHERE {where} AND brand != '' GROUP BY b, brand) ORDER BY b, n DESC, brand",
        {**parameters, "hours": bucket_hours or 1},
    )
    return [{**({"bucket": b} if bucket_hours else {}), "brand": brand, "events": n, "share": round(float(share), 6),
             "voiced": voiced, "negative": neg, "reach": reach} for b, brand, n, share, voiced, neg, reach in rows]


def top_topics(client: AnalyticsClient, filters: Filters, *, limit: int = 20) -> list[dict[str, Any]]:
    """The topics with most events in the window, with negatives (of events with text), the negative
    share, reach and engagement received."""
    where, parameters = filters.where(_DIMENSIONS)
    _, rows = client.query(
        "SELECT topic, sum(events) AS n, sum(positive) AS pos, sum(negative) AS neg, "
        f"sum(reach) AS reach, sum(engagement) AS engagement FROM {client.database}.{TOPICS_HOUR} "
        f"WHERE {where} GROUP BY topic ORDER BY n DESC, topic LIMIT {{limit:UInt32}}", {**parameters, "limit": limit},
    )
    return [{"topic": topic, "events": n, "positive": pos, "negative": neg, "negative_share": _mean(neg, n),
             "reach": reach, "engagement": engagement} for topic, n, pos, neg, reach, engagement in rows]


def influencers(
    client: AnalyticsClient, filters: Filters, *, limit: int = 20, order: LeaderboardOrder = "engagement"
) -> list[dict[str, Any]]:
    """The leaderboard: customers (each account under its current customer, after merges) by engagement
    received, followers (the most of any of their accounts), events or negative events in the window.

    Two reads: the ranking over the rollup (accounts summed per current customer; the identity and redirect
    tables hold only identities and customers a merge or split moved, so they are small), then the profile
    fields of the ``limit`` customers ranked, by primary key; joining every profile to rank a few cost more
    than the ranking."""
    if order not in ("engagement", "followers", "events", "negative"):
        raise ValueError(f"cannot order by {order!r}")
    where, parameters = filters.where(_DIMENSIONS)
    if filters.topic is None:
        where += " AND topic = {all_topics:String}"
        parameters["all_topics"] = ALL_TOPICS
    db = client.database
    _, ranked = client.query(
        "SELECT multiIf(i.customer_id != '', i.customer_id, r.to_customer_id != '', r.to_customer_id, a.written) "
        "AS customer, sum(a.n) AS events, max(a.followers) AS followers, sum(a.engagement) AS engagement, "
        "sum(a.neg) AS negative, groupArray(a.account) AS accounts "
        "FROM (SELECT concat(platform, ':', author_id) AS account, max(customer_id) AS written, sum(events) AS n, "
        "max(followers) AS followers, sum(engagement) AS engagement, sum(negative) AS neg "
        f"FROM {db}.{INFLUENCERS_HOUR} WHERE {where} GROUP BY account) AS a "
        f"LEFT JOIN (SELECT identity_key, customer_id FROM {db}.{IDENTITIES_TABLE} FINAL) AS i "
        "ON i.identity_key = a.account "
        f"LEFT JOIN (SELECT from_customer_id, to_customer_id FROM {db}.{REDIRECTS_TABLE} FINAL) AS r "
        f"ON r.from_customer_id = a.written GROUP BY customer ORDER BY {order} DESC, customer LIMIT {{limit:UInt32}}",
        {**parameters, "limit": limit},
    )
    _, described = client.query(
        f"SELECT customer_id, display_name, influence FROM {db}.{PROFILES_TABLE} FINAL "
        "WHERE customer_id IN {ids:Array(String)}", {"ids": [row[0] for row in ranked]},
    ) if ranked else (None, [])
    profiles = {customer: (name, float(influence)) for customer, name, influence in described}
    return [{"customer_id": customer, "events": n, "followers": followers, "engagement": engagement,
             "negative": neg, "accounts": sorted(accounts), "display_name": profiles.get(customer, (None, 0.0))[0],
             "influence": profiles.get(customer, (None, 0.0))[1]}
            for customer, n, followers, engagement, neg, accounts in ranked]


def _mean(total: float, count: int) -> float | None:
    return round(float(total) / count, 6) if count else None
