"""Incidents, not storms: alerts with the same dedup key update one open incident; lifecycle transitions.

Everything here is pure. ``fold_alerts`` needs the open incidents of the alerts' dedup keys and the cap
counters of their rules; it returns the changed incidents and counters. Lifecycle functions take the wall
clock ``now`` (they record when a person acted) and return a new incident with ``version + 1``; they raise
``InvalidTransition`` for a move the state machine forbids (open -> acknowledged -> resolved).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from alerts.config import IncidentConfig
from alerts.contracts import Alert, Comment, Incident, IncidentChange
from alerts.detectors import ALERT_NAMESPACE
from alerts.exceptions import InvalidTransition
from alerts.spike import window_start
from alerts.state import CapCounter

_LISTS = ("risk_terms", "severe_terms", "matched_intents", "matched_phrases")


def incident_id(dedup_key: str, generation: int) -> str:
    """Deterministic incident id: uuid5 of the dedup key and its generation (how many incidents of that key
    came before: a new one opens only after the previous was resolved). Not the opening alert's id, which
    depends on which alert of the key happened to be processed first."""
    return str(uuid.uuid5(ALERT_NAMESPACE, f"incident|{dedup_key}|{generation}"))


def cap_key(alert: Alert, config: IncidentConfig) -> str:
    """The fire-cap counter of an alert's rule and brand in the alert's event-time cap window (one
    counter per window, so an alert of an earlier window never resets a later one's count)."""
    start = window_start(alert.occurred_at, config.cap_window_minutes)
    return f"{alert.rule}:{alert.brand or '-'}:{start.isoformat()}"


def is_digested(alert: Alert, config: IncidentConfig) -> bool:
    """Whether the alert is low enough in severity to join a digest instead of opening an incident."""
    return alert.severity <= config.digest_max_severity


def digest_key(alert: Alert, config: IncidentConfig) -> str:
    """The digest incident of the alert's rule and brand for its event-time digest window."""
    start = window_start(alert.occurred_at, config.digest_window_minutes)
    return f"digest:{alert.rule}:{alert.brand or '-'}:{start.isoformat()}"


def overflow_key(alert: Alert) -> str:
    """The incident that alerts over their rule and brand's budget join."""
    return f"overflow:{alert.rule}:{alert.brand or '-'}"


def group_keys(alert: Alert, config: IncidentConfig) -> set[str]:
    """Every dedup key the alert may end up under (its own, its digest's, its overflow's): the open
    incidents to load before folding it."""
    return {alert.dedup_key, digest_key(alert, config), overflow_key(alert)}


def budget(rule: str, config: IncidentConfig) -> int:
    """New incidents a rule may open per brand and cap window."""
    return config.budgets.get(rule, config.max_new_per_window)


_RULE_NOUNS = {
    "purchase_intent": "purchase-intent posts", "unanswered_question": "unanswered questions",
    "negative_post": "influential negative posts", "influencer_positive": "influencer mentions",
    "advocate_content": "advocate posts", "risk_terms": "risk-term posts", "negative_spike": "negative spikes",
    "negative_velocity": "fast-spreading negative posts",
}


def _noun(rule: str) -> str:
    return _RULE_NOUNS.get(rule, rule.replace("_", " ") + " alerts")


@dataclass
class Folded:
    """What folding a batch's alerts did: alerts stamped with their incident, the incidents changed (by
    dedup key) with what happened to each, and the cap counters after."""

    alerts: list[Alert] = field(default_factory=list)
    incidents: dict[str, Incident] = field(default_factory=dict)
    changes: dict[str, IncidentChange] = field(default_factory=dict)
    caps: dict[str, CapCounter] = field(default_factory=dict)


def fold_alerts(
    alerts: Sequence[Alert],
    open_incidents: Mapping[str, Incident],
    caps: Mapping[str, CapCounter],
    config: IncidentConfig,
    now: datetime,
    generations: Mapping[str, int] | None = None,
) -> Folded:
    """Pure (``now`` is only recorded). Each alert updates the open incident of its dedup key or opens
    one (``generations``: incidents each key had before, for the new one's id). A low-severity alert joins
    its digest (``digest_key``) instead; when its rule has used its budget for the brand in the alert's
    event-time cap window, it joins the ``overflow:<rule>:<brand>`` incident. An incident's rule and
    suggested reply are its lead alert's (the most severe, ties broken by alert id, so they do not depend on
    arrival order), and so is its title, except a digest's or overflow's, which says what it groups."""
    generations = generations or {}
    out = Folded(caps=dict(caps))
    current = dict(open_incidents)
    for alert in alerts:
        key = digest_key(alert, config) if is_digested(alert, config) else alert.dedup_key
        incident = current.get(key)
        if incident is None and key == alert.dedup_key:
            counter_key = cap_key(alert, config)
            start = window_start(alert.occurred_at, config.cap_window_minutes)
            counter = out.caps.get(counter_key) or CapCounter(
                window_start=start, expires_at=start + timedelta(minutes=config.cap_window_minutes))
            if counter.count >= budget(alert.rule, config):
                key = overflow_key(alert)
                incident = current.get(key)
            else:
                out.caps[counter_key] = counter.model_copy(update={"count": counter.count + 1})
        change: IncidentChange
        if incident is None:
            incident, change = _open(alert, key, generations.get(key, 0), now, config), "opened"
            generations = {**generations, key: generations.get(key, 0) + 1}
        else:
            incident, change = _update(incident, alert, config, now)
        current[key] = incident
        out.incidents[key] = incident
        previous = out.changes.get(key)
        out.changes[key] = change if previous in (None, "updated") else previous
        out.alerts.append(alert.model_copy(update={"incident_id": incident.incident_id}))
    return out


def _title(alert: Alert, key: str, count: int, first_seen: datetime, config: IncidentConfig) -> str:
    """The lead alert's title, or for a digest or an overflow what it groups: how many of what, for which
    brand, over which stretch of event time."""
    brand = f" for {alert.brand}" if alert.brand else ""
    if key.startswith("digest:"):
        start = window_start(first_seen, config.digest_window_minutes)
        end = start + timedelta(minutes=config.digest_window_minutes)
        return f"Digest: {count} {_noun(alert.rule)}{brand}, {start:%Y-%m-%d %H:%M}–{end:%H:%M} UTC"
    if key.startswith("overflow:"):
        return f"Over budget: {count} more {_noun(alert.rule)}{brand} since {first_seen:%Y-%m-%d %H:%M} UTC"
    return alert.title


def _open(alert: Alert, key: str, generation: int, now: datetime, config: IncidentConfig) -> Incident:
    return Incident(
        incident_id=incident_id(key, generation), dedup_key=key, rule=alert.rule, rules=(alert.rule,),
        kind=alert.kind, severity=alert.severity, lead_alert_id=alert.alert_id,
        title=_title(alert, key, 1, alert.occurred_at, config),
        brand=alert.brand, topic=alert.topic, language=alert.language, platforms=(alert.platform,),
        customer_id=alert.customer_id, first_seen=alert.occurred_at, last_seen=alert.occurred_at, count=1,
        alert_ids=(alert.alert_id,), event_ids=(alert.event_id,), evidence=_merge_evidence({}, alert, 10),
        suggested_reply=alert.suggested_reply, opened_at=now, updated_at=now,
    )


def _update(incident: Incident, alert: Alert, config: IncidentConfig, now: datetime) -> tuple[Incident, IncidentChange]:
    if alert.alert_id in incident.alert_ids:
        return incident, "updated"
    raised = alert.severity > incident.severity
    lead = (alert.severity, alert.alert_id) > (incident.severity, incident.lead_alert_id or "")
    keep = config.keep_alert_ids
    updated = incident.model_copy(update={
        "severity": max(incident.severity, alert.severity),
        "lead_alert_id": alert.alert_id if lead else incident.lead_alert_id,
        "title": _title(alert, incident.dedup_key, incident.count + 1, min(incident.first_seen, alert.occurred_at),
                         config)
        if lead or incident.dedup_key != alert.dedup_key else incident.title,
        "rule": alert.rule if lead else incident.rule,
        "rules": tuple(dict.fromkeys((*incident.rules, alert.rule))),
        "platforms": tuple(dict.fromkeys((*incident.platforms, alert.platform))),
        "topic": (alert.topic or incident.topic) if lead else (incident.topic or alert.topic),
        "first_seen": min(incident.first_seen, alert.occurred_at),
        "last_seen": max(incident.last_seen, alert.occurred_at),
        "count": incident.count + 1,
        "version": incident.version + 1,
        "alert_ids": (*incident.alert_ids, alert.alert_id)[-keep:],
        "event_ids": tuple(dict.fromkeys((*incident.event_ids, alert.event_id)))[-config.keep_event_ids:],
        "evidence": _merge_evidence(incident.evidence, alert, config.keep_posts),
        "suggested_reply": alert.suggested_reply if lead and alert.suggested_reply else incident.suggested_reply,
        "updated_at": now,
        "last_change": "severity_raised" if raised else "updated",
    })
    return updated, "severity_raised" if raised else "updated"


def _merge_evidence(evidence: Mapping[str, Any], alert: Alert, keep_posts: int) -> dict[str, Any]:
    """Evidence grows: counts per rule, the latest evidence per rule, spike scopes (latest numbers per
    scope), the first seed posts, the latest top spreaders, the triggering posts, and matched terms."""
    merged = dict(evidence)
    counts = dict(merged.get("rule_counts", {}))
    counts[alert.rule] = counts.get(alert.rule, 0) + 1
    merged["rule_counts"] = counts
    merged["latest"] = {**merged.get("latest", {}), alert.rule: alert.evidence}
    ev = alert.evidence
    if "scopes" in ev:
        merged["scopes"] = {**merged.get("scopes", {}), **ev["scopes"]}
    if ev.get("seed_posts") and not merged.get("seed_posts"):
        merged["seed_posts"] = ev["seed_posts"]
    for name in ("top_spreaders", "top_sharers"):
        if ev.get(name):
            merged[name] = ev[name]
    for name in _LISTS:
        if ev.get(name):
            merged[name] = list(dict.fromkeys([*merged.get(name, []), *ev[name]]))
    post = ev.get("post") if isinstance(ev.get("post"), dict) else (ev if "text" in ev and "event_id" in ev else None)
    if post is not None:
        slim = {k: post.get(k) for k in ("event_id", "platform", "author", "text", "url", "influence",
                                          "followers", "occurred_at")}
        posts = [p for p in merged.get("posts", []) if p.get("event_id") != slim["event_id"]]
        merged["posts"] = [*posts, slim][-keep_posts:]
    return merged


# ----------------------------------------------------------------------------------------- lifecycle


def _change(incident: Incident, change: IncidentChange, now: datetime, **fields: Any) -> Incident:
    return incident.model_copy(update={**fields, "version": incident.version + 1, "updated_at": now,
                                       "last_change": change})


def acknowledge(incident: Incident, *, by: str, now: datetime) -> Incident:
    """open -> acknowledged (stops escalation). Raises ``InvalidTransition`` unless open."""
    if incident.state != "open":
        raise InvalidTransition(f"cannot acknowledge a {incident.state} incident")
    return _change(incident, "acknowledged", now, state="acknowledged", acknowledged_at=now, acknowledged_by=by)


def resolve(incident: Incident, *, by: str, now: datetime) -> Incident:
    """open/acknowledged -> resolved; later alerts with its dedup key open a new incident. Raises
    ``InvalidTransition`` when already resolved."""
    if incident.state == "resolved":
        raise InvalidTransition("incident already resolved")
    return _change(incident, "resolved", now, state="resolved", resolved_at=now, resolved_by=by)


def snooze(incident: Incident, *, until: datetime, by: str, now: datetime) -> Incident:
    """Silence deliveries and escalation until ``until`` (wall clock). Raises ``InvalidTransition`` for
    a resolved incident or a time not in the future."""
    if incident.state == "resolved":
        raise InvalidTransition("cannot snooze a resolved incident")
    if until <= now:
        raise InvalidTransition("snooze time must be in the future")
    return _change(incident, "snoozed", now, snoozed_until=until)


def assign(incident: Incident, *, assignee: str | None, team: str | None, now: datetime) -> Incident:
    """Give the incident to an agent and/or a team."""
    if assignee is None and team is None:
        raise InvalidTransition("assign needs an assignee or a team")
    return _change(incident, "assigned", now, assignee=assignee or incident.assignee, team=team or incident.team)


def add_comment(incident: Incident, *, author: str, text: str, now: datetime) -> Incident:
    """Append a comment with its author and time."""
    comment = Comment(author=author, at=now, text=text)
    return _change(incident, "commented", now, comments=(*incident.comments, comment))


def is_snoozed(incident: Incident, now: datetime) -> bool:
    """Whether a snooze is still running at ``now``."""
    return incident.snoozed_until is not None and incident.snoozed_until > now


def escalation_due(incident: Incident, now: datetime, sla_minutes: Mapping[int, int], max_level: int) -> bool:
    """Whether an open (unacknowledged, not snoozed) incident has waited past its severity's SLA since it
    opened, last escalated or woke from a snooze (wall clock: this concerns live delivery)."""
    if incident.state != "open" or is_snoozed(incident, now) or incident.escalation_level >= max_level:
        return False
    sla = sla_minutes.get(incident.severity)
    if sla is None:
        return False
    return now - escalation_clock(incident) >= timedelta(minutes=sla)


def escalation_clock(incident: Incident) -> datetime:
    """Since when an incident's SLA runs: it opened, last escalated or woke from a snooze (a snooze
    until a later time puts the clock in the future)."""
    return max(t for t in (incident.opened_at, incident.escalated_at, incident.snoozed_until) if t is not None)


def escalate(incident: Incident, *, now: datetime) -> Incident:
    """One escalation level up (routing sends it to the escalation targets)."""
    return _change(incident, "escalated", now, escalation_level=incident.escalation_level + 1, escalated_at=now)
