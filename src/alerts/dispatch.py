"""The dispatcher: escalates overdue incidents, routes outbox entries and delivers them, surviving restarts.

One ``run_once`` pass (each step its own short transaction; network calls outside any transaction):
1. escalation — open, unacknowledged, unsnoozed incidents past their severity's SLA go one level up
   (a new incident version, so an ``escalated`` outbox entry);
2. routing — each pending outbox entry becomes one delivery per matching route and channel
   (``skipped`` for chat/email when the incident's last event is older than ``live_window_hours``);
3. delivery — due deliveries are claimed with a lease and sent in parallel; a failure is retried with
   exponential backoff and jitter, the last failure is dead-lettered. Effects are idempotent by incident,
   version and channel (the ``Idempotency-Key`` header / ``Message-ID``);
4. segment feeds — each configured feed's next batch of segment entries and exits goes to its webhook
   (``alerts.segment_feeds``: in order, retried until accepted, never skipped).
Only this module and the senders look at the wall clock (``clock``, injectable for tests).
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from alerts.channels import ChannelSender, Delivery
from alerts.dispatch_store import (
    ClaimedDelivery,
    OutboxEntry,
    claim_due,
    dead_letter,
    mark_delivered,
    mark_failed,
    pending_outbox,
    route_entries,
)
from alerts.exceptions import DeliveryFailed
from alerts.incidents import escalate, escalation_due
from alerts.outbox_signal import OutboxSignal
from alerts.repository import change_incident, incidents_due_for_escalation
from alerts.routing import ChannelConfig, RetryPolicy, RoutingConfig, WebhookChannel
from alerts.segment_feeds import ClaimedFeed, claim_feeds, ensure_feeds, mark_feed_delivered, mark_feed_failed

log = logging.getLogger(__name__)

Sender = Callable[[ChannelConfig, Delivery, datetime], None]
FeedSender = Callable[[WebhookChannel, bytes, str, datetime], None]
"""Posts a segment feed's JSON body to a webhook channel with its idempotency key (``ChannelSender.post_signed``)."""


@dataclass
class DispatchStats:
    """What one pass (or the dispatcher so far) did."""

    escalated: int = 0
    routed: int = 0
    delivered: int = 0
    retried: int = 0
    dead: int = 0
    segment_changes: int = 0

    def add(self, other: DispatchStats) -> None:
        for name in vars(self):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def backoff(attempt: int, policy: RetryPolicy, rng: random.Random) -> timedelta:
    """Wait before attempt ``attempt + 1``: exponential from ``base_seconds``, capped, with jitter."""
    raw = min(policy.max_seconds, policy.base_seconds * 2 ** max(0, attempt - 1))
    return timedelta(seconds=raw * rng.uniform(1 - policy.jitter, 1 + policy.jitter))


class Dispatcher:
    """Delivers incident changes per ``routing`` (through ``sender``; by default a ``ChannelSender`` this
    dispatcher owns). ``run_once`` and ``run`` block; safe to run several dispatchers on one database
    (leases and ``SKIP LOCKED``); ``close`` when done."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        routing: RoutingConfig,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sender: Sender | None = None,
        feed_sender: FeedSender | None = None,
        rng: random.Random | None = None,
        workers: int = 8,
        lease: timedelta = timedelta(seconds=60),
    ) -> None:
        self._sessions = session_factory
        self._routing = routing
        self._clock = clock
        self._channels: ChannelSender | None = None
        if sender is None or feed_sender is None:
            self._channels = ChannelSender()
            sender = sender or self._channels.send
            feed_sender = feed_sender or self._channels.post_signed
        self._send: Sender = sender
        self._post_feed: FeedSender = feed_sender
        self._rng = rng or random.Random()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="scrm-dispatch")
        self._lease = lease
        self.stats = DispatchStats()

    def close(self) -> None:
        """Stop the sender threads (waits for sends in flight) and close their connections."""
        self._pool.shutdown(wait=True)
        if self._channels is not None:
            self._channels.close()

    def run(
        self,
        stop: threading.Event,
        *,
        idle_seconds: float = 0.05,
        signal: OutboxSignal | None = None,
        escalate_every: timedelta = timedelta(seconds=5),
    ) -> None:
        """Pass after pass until ``stop`` is set. When a pass found nothing it waits ``idle_seconds`` (with
        ``signal``: until the signal fires or ``idle_seconds`` pass). Escalation scans the open incidents at
        most every ``escalate_every`` (SLAs are minutes; a scan per pass would cost more than the deliveries).
        A failing pass is logged and retried (nothing is lost: state is in the database)."""
        next_escalation = self._clock()
        while not stop.is_set():
            escalate = self._clock() >= next_escalation
            try:
                done = self.run_once(escalate=escalate)
            except Exception:
                log.exception("dispatch pass failed; retrying")
                stop.wait(1.0)
                continue
            if escalate:
                next_escalation = self._clock() + escalate_every
            if done.routed or done.delivered or done.retried or done.dead or done.escalated or done.segment_changes:
                continue
            if signal is None:
                stop.wait(idle_seconds)
            else:
                signal.wait(idle_seconds)

    def run_once(self, *, escalate: bool = True) -> DispatchStats:
        """One escalation (unless ``escalate`` is false), routing and delivery pass. Blocks (database and
        network)."""
        done = DispatchStats(escalated=self.escalate_due() if escalate else 0, routed=self.route_outbox())
        delivered, retried, dead = self.deliver_due()
        done.delivered, done.retried, done.dead = delivered, retried, dead
        done.segment_changes = self.deliver_feeds()
        self.stats.add(done)
        return done

    def escalate_due(self) -> int:
        """Escalate every open incident past its SLA; returns how many."""
        now = self._clock()
        routing = self._routing
        with self._sessions() as session, session.begin():
            due = incidents_due_for_escalation(now, routing.sla_minutes, routing.max_escalation_level,
                                               session=session)
            for incident in due:
                change_incident(incident.incident_id, lambda i: escalate(i, now=now)
                                if escalation_due(i, now, routing.sla_minutes, routing.max_escalation_level)
                                else i, session=session)
        return len(due)

    def route_outbox(self) -> int:
        """Turn pending outbox entries into deliveries; returns how many entries were routed."""
        now = self._clock()
        with self._sessions() as session, session.begin():
            entries = pending_outbox(session=session)
            route_entries([(entry, self._targets(entry, now)) for entry in entries], now=now, session=session)
        return len(entries)

    def _targets(self, entry: OutboxEntry, now: datetime) -> list[tuple[str, str, str, str]]:
        """``(route, team, channel, status)`` of each channel the entry goes to, once each; ``skipped``
        for chat and email when the incident's last event is older than the live window."""
        window = self._routing.live_window_hours
        stale = window is not None and entry.incident.last_seen < now - timedelta(hours=window)
        targets = []
        for route in self._routing.routes_for(entry.incident, entry.change):
            for name in route.channels:
                channel = self._routing.channels.get(name)
                if channel is None:
                    log.error("route %s names unknown channel %s", route.name, name)
                    continue
                status = "skipped" if stale and channel.type != "sse" else "pending"
                targets.append((route.name, route.team, name, status))
        return list(dict.fromkeys(targets))

    def deliver_due(self) -> tuple[int, int, int]:
        """Send every due delivery (in parallel); returns (delivered, retried, dead-lettered)."""
        now = self._clock()
        with self._sessions() as session, session.begin():
            claimed = claim_due(now=now, lease=self._lease, session=session)
        if not claimed:
            return 0, 0, 0
        results = list(self._pool.map(self._attempt, claimed))
        retried = dead = 0
        policy = self._routing.retry
        at = self._clock()
        accepted = [delivery for delivery, error in zip(claimed, results, strict=True) if error is None]
        failed = [(delivery, error) for delivery, error in zip(claimed, results, strict=True) if error is not None]
        with self._sessions() as session, session.begin():
            mark_delivered(accepted, now=at, session=session)
            for delivery, error in failed:
                if delivery.attempts + 1 >= policy.max_attempts:
                    log.error("dead-lettering %s/%s after %s attempts: %s", delivery.incident.incident_id,
                              delivery.channel, delivery.attempts + 1, error)
                    dead_letter(delivery, error=error, now=at, session=session)
                    dead += 1
                else:
                    wait = backoff(delivery.attempts + 1, policy, self._rng)
                    mark_failed(delivery, error=error, retry_at=at + wait, session=session)
                    retried += 1
        return len(accepted), retried, dead

    def deliver_feeds(self) -> int:
        """Send each due segment feed its next batch; returns how many changes receivers accepted."""
        feeds = self._routing.segment_feeds
        if not feeds:
            return 0
        now = self._clock()
        with self._sessions() as session, session.begin():
            ensure_feeds(feeds, now=now, session=session)
            claimed = [c for c in claim_feeds(feeds, now=now, lease=self._lease, session=session) if c.batch]
        results = list(self._pool.map(self._attempt_feed, claimed))
        at = self._clock()
        accepted = 0
        with self._sessions() as session, session.begin():
            for feed, error in zip(claimed, results, strict=True):
                assert feed.batch is not None
                if error is None:
                    mark_feed_delivered(feed, now=at, session=session)
                    accepted += len(feed.batch.changes)
                    continue
                wait = backoff(feed.attempts + 1, self._routing.retry, self._rng)
                log.warning("segment feed %s: attempt %d failed, retrying in %.0f s: %s", feed.feed.name,
                            feed.attempts + 1, wait.total_seconds(), error)
                mark_feed_failed(feed, error=error, retry_at=at + wait, session=session)
        return accepted

    def _attempt_feed(self, claimed: ClaimedFeed) -> str | None:
        channel = self._routing.channels[claimed.feed.channel]
        assert isinstance(channel, WebhookChannel) and claimed.batch is not None  # RoutingConfig checks feeds
        try:
            self._post_feed(channel, claimed.batch.model_dump_json().encode(), claimed.batch.idempotency_key,
                            self._clock())
        except DeliveryFailed as exc:
            return str(exc)
        except Exception as exc:  # a bug in a sender must not move the feed on
            log.exception("feed sender crashed")
            return f"{type(exc).__name__}: {exc}"
        return None

    def _attempt(self, claimed: ClaimedDelivery) -> str | None:
        channel = self._routing.channels.get(claimed.channel)
        if channel is None:
            return f"unknown channel {claimed.channel}"
        delivery = Delivery(incident=claimed.incident, change=claimed.change, route=claimed.route,
                            team=claimed.team, channel=claimed.channel)
        try:
            self._send(channel, delivery, self._clock())
        except DeliveryFailed as exc:
            return str(exc)
        except Exception as exc:  # a bug in a sender must not lose the delivery
            log.exception("sender crashed")
            return f"{type(exc).__name__}: {exc}"
        return None
