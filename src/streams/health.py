"""Whether a process's lanes are doing their work, and their Prometheus metrics. Read-only over the lanes'
``LaneStats`` (plain counters the lane threads write), so a scrape or a readiness probe never slows a lane.

``LaneWatch.problems()`` is the readiness judgement: a lane is stalled when records wait for it (its
``waiting`` count) and it has finished no batch for ``stall_seconds`` (since the watch started, for a lane
that never finished one). An idle lane with nothing to do is healthy however long it idles.
``LaneCollector`` exposes every lane's counters as ``scrm_lane_*`` metrics (docs/operations.md lists them).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from streams.loop import Buckets, Clock, LaneLoop, SystemClock

DEFAULT_STALL_SECONDS = 60.0


class LaneWatch:
    """Judges the lanes of one process. Thread-safe to call from any thread; never blocks."""

    def __init__(self, lanes: Sequence[LaneLoop], *, stall_seconds: float = DEFAULT_STALL_SECONDS,
                 clock: Clock | None = None) -> None:
        self._lanes = tuple(lanes)
        self._stall = stall_seconds
        self._clock = clock or SystemClock()
        self._since = self._clock.monotonic()

    def problems(self) -> list[str]:
        """One line per stalled lane (empty when every lane keeps up or has nothing to do)."""
        return [problem for lane in self._lanes if (problem := self.problem_of(lane)) is not None]

    def problem_of(self, lane: LaneLoop) -> str | None:
        """Why ``lane`` is stalled (``"<lane>: N records waiting and no batch finished for S s"``), or
        ``None``."""
        stats = lane.stats
        if stats.waiting <= 0:
            return None
        now = self._clock.monotonic()
        last = stats.last_batch_at if stats.last_batch_at is not None else self._since
        quiet = now - max(last, self._since)
        if quiet < self._stall:
            return None
        return f"{lane.name}: {stats.waiting:,} records waiting and no batch finished for {quiet:.0f} s"


class LaneCollector(Collector):
    """Prometheus metrics of the lanes, read at scrape time."""

    def __init__(self, lanes: Sequence[LaneLoop]) -> None:
        self._lanes = tuple(lanes)

    def collect(self) -> Iterator[Metric]:
        families = {
            "records": CounterMetricFamily("scrm_lane_records", "records a lane finished", labels=["lane"]),
            "batches": CounterMetricFamily("scrm_lane_batches", "batches a lane finished", labels=["lane"]),
            "published": CounterMetricFamily("scrm_lane_messages_out", "messages a lane published (outputs and "
                                             "dead letters)", labels=["lane"]),
            "dead_lettered": CounterMetricFamily("scrm_lane_dead_letters", "records a lane dead-lettered",
                                                 labels=["lane"]),
            "poison": CounterMetricFamily("scrm_lane_poison_records", "records isolated as poison (the handler "
                                          "failed on them every time)", labels=["lane"]),
            "retries": CounterMetricFamily("scrm_lane_retries", "batch or publish attempts retried",
                                           labels=["lane"]),
            "busy_seconds": CounterMetricFamily("scrm_lane_busy_seconds", "time spent handling and publishing "
                                                "batches (divide by records for the cost per record)",
                                                labels=["lane"]),
        }
        waiting = GaugeMetricFamily("scrm_lane_waiting_records", "records a lane has yet to finish (consumer lag "
                                    "plus the batch in hand)", labels=["lane"])
        histograms = {
            "batch_seconds": HistogramMetricFamily("scrm_lane_batch_seconds", "how long a batch took (handle, "
                                                   "publish, commit)", labels=["lane"]),
            "record_age_seconds": HistogramMetricFamily(
                "scrm_lane_record_age_seconds", "per record, from its append to the lane's input topic to the end "
                "of the batch that finished it (enrich: the enrichment latency)", labels=["lane"]),
        }
        for lane in self._lanes:
            stats = lane.stats
            for field, family in families.items():
                family.add_metric([lane.name], float(getattr(stats, field)))
            waiting.add_metric([lane.name], float(stats.waiting))
            for field, histogram in histograms.items():
                buckets: Buckets = getattr(stats, field)
                histogram.add_metric([lane.name], _cumulative(buckets), sum_value=buckets.total)
        yield from families.values()
        yield waiting
        yield from histograms.values()


def _cumulative(buckets: Buckets) -> list[tuple[str, float]]:
    """Prometheus' cumulative ``le`` buckets, ``+Inf`` last."""
    counts = list(buckets.counts)
    running, out = 0, []
    for bound, count in zip((*buckets.bounds, float("inf")), counts, strict=True):
        running += count
        out.append(("+Inf" if bound == float("inf") else repr(bound), float(running)))
    return out
