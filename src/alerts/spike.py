"""Negative-volume spike per scope (brand, topic, platform), on event time.

Each scope counts confident negative posts in tumbling windows of ``window_minutes``. When a post lands in
a later window, the finished window's count (and a zero for every empty window in between, at most
``max_gap_windows``) is folded into an EWMA baseline for its hour-of-day slot and into an all-hours one, so
a busy evening is compared with past evenings, not with the night. The current window fires when

    count >= max(min_count, mean + z * sd, min_ratio * mean)       (sd >= sqrt(mean) >= 1, Poisson floor)

using the slot baseline once it has ``min_baseline_windows`` windows, else the all-hours one, else the
fixed ``cold_start_count``. It fires again in the same window only when the count has grown by
``growth_factor`` — alerts for one brand share its crisis incident, which is updated as the spike grows.
Posts reach it settled and in event-time order (``alerts.suite``); posts later than the late allowance are
counted as ``late`` and do not reopen old windows.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from alerts.config import SpikeConfig
from alerts.contracts import Alert, ScoredPost
from alerts.detectors import crisis_key, make_alert
from alerts.state import Baseline, PostRef, ScopeSeries

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def window_start(at: datetime, minutes: int) -> datetime:
    """Start of the tumbling window holding ``at`` (windows aligned to the Unix epoch, UTC)."""
    seconds = minutes * 60
    elapsed = int((at.astimezone(UTC) - EPOCH).total_seconds())
    return EPOCH + timedelta(seconds=elapsed - elapsed % seconds)


def _slot(start: datetime, config: SpikeConfig) -> str:
    return str(start.astimezone(UTC).hour) if config.seasonal else "all"


def _close(series: ScopeSeries, new_start: datetime, config: SpikeConfig) -> ScopeSeries:
    """Fold the finished window and the empty windows up to ``new_start`` into the baselines."""
    slots = dict(series.slots)
    step = timedelta(minutes=config.window_minutes)
    assert series.window_start is not None
    start, value = series.window_start, float(series.count)
    folded = 0
    while start < new_start and folded < config.max_gap_windows:
        for name in {_slot(start, config), "all"}:
            slots[name] = slots.get(name, Baseline()).observe(value, config.alpha)
        start, value, folded = start + step, 0.0, folded + 1
    return ScopeSeries(window_start=new_start, slots=slots, late=series.late)


def threshold(series: ScopeSeries, config: SpikeConfig) -> tuple[int, dict[str, Any]]:
    """The count the current window must reach, and the baseline numbers behind it."""
    assert series.window_start is not None
    slot = _slot(series.window_start, config)
    for name in (slot, "all"):
        baseline = series.slots.get(name)
        if baseline is not None and baseline.n >= config.min_baseline_windows:
            sd = math.sqrt(max(baseline.var, baseline.mean, 1.0))
            needed = max(config.min_count, math.ceil(baseline.mean + config.z * sd),
                         math.ceil(config.min_ratio * baseline.mean))
            return needed, {"baseline": name, "baseline_mean": round(baseline.mean, 3),
                            "baseline_sd": round(sd, 3), "baseline_windows": baseline.n}
    return config.cold_start_count, {"baseline": "cold_start", "baseline_mean": None, "baseline_sd": None,
                                     "baseline_windows": 0}


def _with_post(series: ScopeSeries, post: ScoredPost, config: SpikeConfig) -> ScopeSeries:
    ref = PostRef.of(post)
    seeds = series.seeds if len(series.seeds) >= config.evidence_posts else (*series.seeds, ref)
    spreaders = tuple(sorted((*series.spreaders, ref), key=lambda r: (-r.influence, -(r.followers or 0),
                                                                        r.event_id))[: config.evidence_posts])
    platforms = dict(series.platforms)
    platforms[ref.platform] = platforms.get(ref.platform, 0) + 1
    return series.model_copy(update={"count": series.count + 1, "seeds": seeds, "spreaders": spreaders,
                                     "platforms": platforms})


def count_late(series: ScopeSeries | None) -> ScopeSeries:
    """Pure. Count one negative post that came later than the late allowance (no window reopens)."""
    current = series or ScopeSeries()
    return current.model_copy(update={"late": current.late + 1})


def observe_negative(
    scope: str, series: ScopeSeries | None, post: ScoredPost, config: SpikeConfig
) -> tuple[ScopeSeries, Alert | None]:
    """Pure. Count one confident negative ``post`` in ``scope``; returns the new series and an alert when
    the window crosses its threshold (or has grown by ``growth_factor`` since it last fired)."""
    at = post.event.occurred_at_utc
    start = window_start(at, config.window_minutes)
    current = series or ScopeSeries()
    if current.window_start is None:
        current = ScopeSeries(window_start=start, slots=current.slots, late=current.late)
    elif start > current.window_start:
        current = _close(current, start, config)
    elif start < current.window_start:  # type: ignore[operator]
        return current.model_copy(update={"late": current.late + 1}), None
    current = _with_post(current, post, config)
    needed, numbers = threshold(current, config)
    step_up = max(current.fired_at + 1, math.ceil(current.fired_at * config.growth_factor))
    if current.count < needed or current.count < step_up:
        return current, None
    current = current.model_copy(update={"fired_at": current.count})
    return current, _alert(scope, current, post, needed, numbers, config)


def _alert(
    scope: str, series: ScopeSeries, post: ScoredPost, needed: int, numbers: dict[str, Any], config: SpikeConfig
) -> Alert:
    assert series.window_start is not None
    mean = numbers["baseline_mean"]
    ratio = series.count / mean if mean else None
    sd = numbers["baseline_sd"]
    severity = 3 + (series.count >= 2 * needed) + (series.count >= 5 * needed)
    dimension, _, value = scope.partition(":")
    event = post.event
    evidence = {
        "scopes": {
            scope: {
                "window_start": series.window_start.isoformat(),
                "window_minutes": config.window_minutes,
                "count": series.count,
                "threshold": needed,
                **numbers,
                "ratio": round(ratio, 2) if ratio else None,
                "z_score": round((series.count - mean) / sd, 2) if sd else None,
                "platforms": series.platforms,
                "late_posts": series.late,
            }
        },
        "seed_posts": [r.model_dump(mode="json") for r in series.seeds],
        "top_spreaders": [r.model_dump(mode="json") for r in series.spreaders],
    }
    title = f"Negative spike: {series.count} negative posts in a window ({dimension} {value})"
    if event.brand and dimension != "brand":
        title += f" about {event.brand}"
    return make_alert(
        rule="negative_spike", kind="crisis", severity=severity, title=title,
        dedup_key=crisis_key(event.brand, scope), post=post, evidence=evidence, id_suffix=f"|{scope}|{series.count}",
    )
