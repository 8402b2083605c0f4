"""Detector state: explicit, frozen, JSON-serialisable values the detectors take and return.

State is a set of keyed entries so a worker loads (and locks) only what a batch touches:
- ``scope:<dimension>:<value>`` -> ``ScopeSeries`` (spike window and hour-of-day baselines),
- ``track:<platform>:<event_id>`` -> ``TrackedPost`` (a negative post whose shares/replies are counted),
- ``question:<platform>:<event_id>`` -> ``PendingQuestion`` (waiting for a brand reply until ``due_at``),
  both by ``ingest.contracts.post_key``: what a reply's ``parent_id`` names (it does not know the parent's
  author), so one post id is one tracked post or question even where a producer reused it for another
  author (the first such post is tracked; which events the detectors have seen is keyed by the full
  event key, in the ledger),
- ``coord:<brand>`` -> ``CoordinatedWindow`` (the brand's recent posts' MinHash signatures and its
  coordinated clusters),
- ``cap:<rule>:<brand>:<window start>`` -> ``CapCounter`` (new incidents in one cap window),
- ``mark:<position>`` -> ``PartitionMark`` (how far one stream position has got: the watermark's inputs),
- ``pending:<event key>`` -> ``PendingPost`` (a post held until the watermark settles it).
Everything is on event time; the windowed detectors take posts in event-time order once settled, so the
same posts give the same state and the same alerts however partitions interleave.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from alerts.contracts import ScoredPost


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PostRef(_Frozen):
    """A post as evidence: who said what, where, with how much reach."""

    event_id: str
    platform: str
    occurred_at: datetime
    customer_id: str | None = None
    author: str
    author_id: str | None = None
    followers: int | None = None
    verified: bool = False
    influence: float = 0.0
    text: str | None = None
    url: str | None = None
    sentiment_score: float | None = None

    @classmethod
    def of(cls, post: ScoredPost, text_chars: int = 280) -> PostRef:
        event = post.event
        return cls(
            event_id=event.event_id,
            platform=event.platform.value,
            occurred_at=event.occurred_at_utc,
            customer_id=post.customer_id,
            author=event.author.handle or event.author.id,
            author_id=event.author.id,
            followers=event.author.followers,
            verified=event.author.verified,
            influence=post.author_influence,
            text=(event.text or "")[:text_chars] or None,
            url=event.url,
            sentiment_score=post.sentiment_score,
        )


class Baseline(_Frozen):
    """EWMA mean and variance of per-window negative counts, and how many windows it has seen."""

    mean: float = 0.0
    var: float = 0.0
    n: int = 0

    def observe(self, value: float, alpha: float) -> Baseline:
        """Fold one window's count in (West's incremental EWMA variance)."""
        if self.n == 0:
            return Baseline(mean=value, var=0.0, n=1)
        diff = value - self.mean
        increment = alpha * diff
        return Baseline(mean=self.mean + increment, var=(1 - alpha) * (self.var + diff * increment), n=self.n + 1)


class ScopeSeries(_Frozen):
    """One scope's current tumbling window and its baselines (``slots``: hour-of-day ``"0"``..``"23"``
    and ``"all"``)."""

    window_start: datetime | None = None
    count: int = 0
    fired_at: int = 0
    slots: dict[str, Baseline] = Field(default_factory=dict)
    seeds: tuple[PostRef, ...] = ()
    spreaders: tuple[PostRef, ...] = ()
    platforms: dict[str, int] = Field(default_factory=dict)
    late: int = 0


class TrackedPost(_Frozen):
    """A negative post being watched for fast sharing; ``hits`` are the event times of shares/replies."""

    post: PostRef
    brand: str | None = None
    topic: str | None = None
    language: str = "other"
    hits: tuple[datetime, ...] = ()
    sharers: tuple[PostRef, ...] = ()
    fired_at: int = 0
    expires_at: datetime


class PendingQuestion(_Frozen):
    """A question to a brand waiting for the brand's reply until ``due_at`` (event time)."""

    post: PostRef
    brand: str | None = None
    topic: str | None = None
    language: str = "other"
    intents: tuple[str, ...] = ()
    due_at: datetime


class WindowPost(_Frozen):
    """A post in a brand's coordinated-accounts window: its account, MinHash signature (``signature``: the
    hash values as little-endian uint32, base64 — half the JSON of a list of ints) and what the cluster
    score weighs; ``cluster``: the coordinated cluster it belongs to."""

    event_key: str
    account: str
    at: datetime
    signature: str
    followers: int | None = None
    new_account: bool = False
    spam: float = 0.0
    cluster: str | None = None


class CoordinatedCluster(_Frozen):
    """One coordinated cluster: the accounts posting near-duplicates of ``sample`` (up to the config's
    ``max_cluster_accounts``), its post count, and the numbers that flagged it when it formed."""

    cluster_id: str
    first_at: datetime
    last_at: datetime
    accounts: tuple[str, ...]
    count: int
    fired_count: int = 0
    sample: str
    similarity: float
    span_seconds: float
    followers_total: int = 0
    followers_known: int = 0
    burst: float
    spam: float
    new_accounts: float
    low_followers: float
    score: float


class CoordinatedWindow(_Frozen):
    """A brand's recent posts (event-time order, at most ``max_posts``) and its live clusters."""

    posts: tuple[WindowPost, ...] = ()
    clusters: dict[str, CoordinatedCluster] = Field(default_factory=dict)


class CapCounter(_Frozen):
    """New incidents opened by one rule for one brand in one cap window (ending at ``expires_at``)."""

    window_start: datetime
    count: int = 0
    expires_at: datetime | None = None


class PartitionMark(_Frozen):
    """The latest event time one stream position (``<enriched partition>/<raw partition>``) has shown, and
    when (wall clock) it first appeared and last moved: a position quiet for the idle time stops holding the
    watermark back."""

    at: datetime
    since: datetime | None = None
    moved_at: datetime | None = None


class PendingPost(_Frozen):
    """A fresh post the windowed detectors take once the settle point reaches ``due_at`` (its event time)."""

    post: ScoredPost
    due_at: datetime


class DetectorState(_Frozen):
    """The loaded slice of detector state. Entries absent here are treated as new; entries a detector
    drops are absent from the state it returns (the repository deletes them)."""

    scopes: dict[str, ScopeSeries] = Field(default_factory=dict)
    tracked: dict[str, TrackedPost] = Field(default_factory=dict)
    questions: dict[str, PendingQuestion] = Field(default_factory=dict)
    coordinated: dict[str, CoordinatedWindow] = Field(default_factory=dict)
    caps: dict[str, CapCounter] = Field(default_factory=dict)
    marks: dict[str, PartitionMark] = Field(default_factory=dict)
    pending: dict[str, PendingPost] = Field(default_factory=dict)

    def keys(self) -> set[str]:
        """Every entry's storage key (``scope:...``, ``track:...``, ``question:...``, ``coord:...``,
        ``cap:...``, ``mark:...``, ``pending:...``)."""
        return (
            {f"scope:{k}" for k in self.scopes}
            | {f"track:{k}" for k in self.tracked}
            | {f"question:{k}" for k in self.questions}
            | {f"coord:{k}" for k in self.coordinated}
            | {f"cap:{k}" for k in self.caps}
            | {f"mark:{k}" for k in self.marks}
            | {f"pending:{k}" for k in self.pending}
        )


def scope_keys(post: ScoredPost, dimensions: tuple[str, ...]) -> list[str]:
    """The spike scopes a post counts in: ``brand:<b>``, ``topic:<t>`` per topic, ``platform:<p>``."""
    keys: list[str] = []
    for dimension in dimensions:
        if dimension == "brand" and post.event.brand:
            keys.append(f"brand:{post.event.brand}")
        elif dimension == "topic":
            keys.extend(f"topic:{topic}" for topic in post.topics)
        elif dimension == "platform":
            keys.append(f"platform:{post.event.platform.value}")
    return keys
