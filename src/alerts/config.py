"""Detector and incident knobs: one frozen pydantic model per detector, gathered in ``AlertingConfig``.

All windows are on event time (``occurred_at``). Defaults are meant for a mid-sized brand; override them
through ``SCRM_PIPELINE__ALERTS__...`` environment variables (nested delimiter ``__``) or a settings file.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field


class _Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class NegativePostConfig(_Config):
    """Influential negative: a confidently negative text post by an author with reach (influence, followers
    or a verified badge). Ordinary negative posts raise nothing on their own — they feed the spike detector."""

    enabled: bool = True
    min_confidence: float = Field(default=0.6, ge=0.0, le=1.0)
    max_score: float = Field(default=-0.3, ge=-1.0, le=1.0)
    min_influence: float = Field(default=40.0, ge=0.0, le=100.0)
    min_followers: int = Field(default=10_000, ge=0)
    verified_counts: bool = True


class SpikeConfig(_Config):
    """Negative-volume spike per scope: the negative count of the current tumbling window against an
    adaptive baseline (EWMA mean and variance per hour-of-day slot when ``seasonal``)."""

    enabled: bool = True
    scopes: tuple[str, ...] = ("brand", "topic", "platform")
    window_minutes: int = Field(default=10, ge=1, le=24 * 60)
    alpha: float = Field(default=0.2, gt=0.0, le=1.0)
    z: float = Field(default=3.0, gt=0.0)
    min_ratio: float = Field(default=3.0, ge=1.0)
    min_count: int = Field(default=10, ge=1)
    cold_start_count: int = Field(default=40, ge=1)
    min_baseline_windows: int = Field(default=3, ge=1)
    seasonal: bool = True
    max_gap_windows: int = Field(default=7 * 144, ge=1)
    growth_factor: float = Field(default=1.5, gt=1.0)
    min_confidence: float = Field(default=0.5, ge=0.0, le=1.0)
    evidence_posts: int = Field(default=5, ge=1, le=50)


class VelocityConfig(_Config):
    """Negative share velocity: a negative post shared/replied to fast, counted from share/reply events
    whose ``parent_id`` points at it, or read from its metrics when first seen."""

    enabled: bool = True
    window_minutes: int = Field(default=60, ge=1)
    min_interactions: int = Field(default=20, ge=1)
    min_rate_per_hour: float = Field(default=200.0, gt=0.0)
    track_hours: int = Field(default=48, ge=1)
    min_confidence: float = Field(default=0.5, ge=0.0, le=1.0)


class RiskTermsConfig(_Config):
    """Risk phrases (zh/en), matched after simplified/traditional and case folding. ``severe`` terms raise
    severity 4, the others 3."""

    enabled: bool = True
    terms: tuple[str, ...] = (
        "质量问题", "投诉", "维权", "曝光", "315", "食物中毒", "召回", "起诉", "律师函", "爆炸", "起火", "假货",
        "退款", "欺诈", "recall", "lawsuit", "sue", "food poisoning", "fraud", "scam", "explode", "fire hazard",
    )
    severe: tuple[str, ...] = ("食物中毒", "召回", "起诉", "爆炸", "起火", "recall", "lawsuit", "food poisoning",
                               "explode")


class OpportunityConfig(_Config):
    """Opportunities: purchase intent and recommendation requests, an influencer's positive mention, an
    advocate's new content, and a question left without a brand reply for ``answer_within_minutes``."""

    enabled: bool = True
    purchase_intents: tuple[str, ...] = ("purchase_intent", "recommendation_request")
    purchase_phrases: tuple[str, ...] = Field(
        default=(), description="extra phrases that count as purchase intent (the intent head decides by "
        "default: a phrase list cannot tell 'want to buy' from 'already bought' or 'I recommend')")
    influencer_min_influence: float = Field(default=40.0, ge=0.0, le=100.0)
    influencer_min_followers: int = Field(default=10_000, ge=0)
    star_min_influence: float = Field(
        default=70.0, ge=0.0, le=100.0, description="influence from which an influencer's praise or unanswered "
        "question is an incident of its own (severity 3) rather than a digest item")
    star_min_followers: int = Field(default=100_000, ge=0, description="followers with the same effect")
    advocate_lifecycles: tuple[str, ...] = ("advocate",)
    min_positive_score: float = Field(default=0.3, ge=-1.0, le=1.0)
    answer_within_minutes: int = Field(default=60, ge=1)
    brand_accounts: tuple[str, ...] = Field(
        default=(), description="identity keys (<platform>:<author id>) of the brands' own accounts"
    )
    brand_handles: tuple[str, ...] = Field(default=(), description="handles of the brands' own accounts")

    def is_brand(self, identity_key: str, handle: str | None) -> bool:
        """Whether an account is one of the brands' own (by identity key, or by handle where one is listed)."""
        return identity_key in self.brand_accounts or (handle is not None and handle in self.brand_handles)

    def is_star(self, influence: float, followers: int) -> bool:
        """Whether an author's praise or unanswered question deserves an incident of its own."""
        return influence >= self.star_min_influence or followers >= self.star_min_followers


class CoordinatedConfig(_Config):
    """Coordinated accounts (水军): near-duplicate texts from ``min_accounts`` or more distinct accounts of one
    brand within ``window_minutes`` (event time) form a candidate cluster; it is flagged as coordinated when
    its score — a weighted mean of burst, spam, new accounts and low followers — reaches ``min_score``. A
    flagged cluster is one ``coordinated`` incident, and its posts count in no other windowed detector."""

    enabled: bool = True
    window_minutes: int = Field(default=30, ge=1, le=24 * 60, description="how far back (event time) a post is "
                                "compared with the brand's earlier posts")
    min_accounts: int = Field(default=5, ge=2, description="distinct accounts (the post's own included) whose "
                              "near-duplicate posts form a cluster")
    similarity: float = Field(default=0.7, gt=0.0, le=1.0, description="estimated Jaccard similarity of two "
                              "posts' character shingles from which they are near-duplicates")
    shingle_chars: int = Field(default=3, ge=1, le=10, description="characters per shingle (over normalised text)")
    min_chars: int = Field(default=12, ge=1, description="normalised texts shorter than this are not compared "
                           "(short texts such as 'same here' match by chance)")
    num_perm: int = Field(default=64, ge=16, le=256, description="MinHash permutations: the estimate's standard "
                          "error is about sqrt(J(1-J)/num_perm), 0.06 at J = 0.7 with 64")
    max_posts: int = Field(default=300, ge=10, le=5000, description="posts kept per brand window (the oldest "
                           "go first): bounds state and the comparisons per post")
    max_cluster_accounts: int = Field(default=500, ge=1, description="accounts remembered per cluster (counted "
                                      "exactly up to this)")
    burst_seconds: int = Field(default=120, ge=1, description="a cluster's min_accounts accounts posting within "
                               "this span score a full burst; a longer span scores burst_seconds / span")
    new_account_hours: float = Field(default=72.0, ge=0.0, description="an account first seen (by the alert "
                                     "lane's fold of its author) less than this before its post is new")
    low_followers: int = Field(default=100, ge=0, description="an account with fewer followers is small (events "
                               "carry no following count, so no follower ratio; an unknown count is not small)")
    weight_burst: float = Field(default=0.3, ge=0.0)
    weight_spam: float = Field(default=0.3, ge=0.0)
    weight_new_accounts: float = Field(default=0.2, ge=0.0)
    weight_low_followers: float = Field(default=0.2, ge=0.0)
    min_score: float = Field(default=0.65, ge=0.0, le=1.0, description="the score (weighted mean of the four, "
                             "0..1) from which a candidate cluster is coordinated; near-duplicates alone never are")
    severity: int = Field(default=3, ge=1, le=5)
    growth_factor: float = Field(default=1.5, gt=1.0, description="after a new account, a cluster alerts again "
                                 "once its post count has grown by this factor since it last alerted")
    evidence_accounts: int = Field(default=20, ge=1, le=200)
    sample_chars: int = Field(default=200, ge=20)


class IncidentConfig(_Config):
    """Incident grouping, budgets and digests, all on event time.

    An alert of severity ``digest_max_severity`` or lower does not open an incident of its own: it joins its
    rule and brand's digest for the ``digest_window_minutes`` window it falls in (one incident a person works
    through as a queue). A more severe alert opens its own incident within the budget of its rule and brand,
    ``budgets[rule]`` (else ``max_new_per_window``) new incidents per ``cap_window_minutes`` window; alerts
    over the budget join one overflow incident of that rule and brand."""

    max_new_per_window: int = Field(default=5, ge=1)
    budgets: dict[str, int] = Field(
        default_factory=lambda: {"purchase_intent": 2, "unanswered_question": 2, "influencer_positive": 2},
        description="new incidents per rule and brand per cap window, by rule (rules not named get "
        "max_new_per_window): opportunities are worth a person's minute a few times an hour, a crisis more often")
    cap_window_minutes: int = Field(default=60, ge=1)
    digest_max_severity: int = Field(default=2, ge=0, le=5, description="0: no digests")
    digest_window_minutes: int = Field(default=240, ge=1, description="a digest per rule and brand every 4 hours of event time")
    keep_alert_ids: int = Field(default=50, ge=1)
    keep_event_ids: int = Field(default=50, ge=1)
    keep_posts: int = Field(default=10, ge=1)


class AlertingConfig(_Config):
    """Everything the alert step needs, shared by both runtimes."""

    idle_partition_seconds: float = Field(
        default=30.0, gt=0,
        description="a partition that shows no new event for this long (wall clock) stops holding the watermark "
        "back, so windowed alerts (spikes, share velocity, unanswered questions) never wait longer than this for "
        "a quiet partition; while every partition has traffic (a replay, a busy stream) results do not depend on "
        "how partitions interleave",
    )
    late_allowance_seconds: int = Field(
        default=0, ge=0,
        description="how far (event time) a post may lie behind earlier posts of its source partition and still "
        "count in windows, spikes, share velocity and questions: the windowed detectors hold posts until the "
        "watermark (the minimum progress over every partition) is this far past them, then take them in "
        "event-time order; a post later than that is counted as late. Raise it for sources that deliver out of order",
    )
    spam_threshold: float = Field(
        default=0.5, ge=0.0, le=1.0,
        description="a post whose spam likelihood is at least this raises no alert of any kind (but the "
        "coordinated-accounts detector's, which looks for spam campaigns) and counts in no spike, share velocity "
        "or pending question (1.0: spam is not discounted)",
    )
    negative_post: NegativePostConfig = NegativePostConfig()
    spike: SpikeConfig = SpikeConfig()
    velocity: VelocityConfig = VelocityConfig()
    risk_terms: RiskTermsConfig = RiskTermsConfig()
    opportunity: OpportunityConfig = OpportunityConfig()
    coordinated: CoordinatedConfig = CoordinatedConfig()
    incidents: IncidentConfig = IncidentConfig()
    reply_templates: str | None = Field(
        default=None, description="path of a JSON file of reply templates overriding the packaged ones"
    )

    def with_brand_accounts(self, accounts: Iterable[str], handles: Iterable[str] = ()) -> AlertingConfig:
        """This config with more brand accounts (identity keys) and handles: they answer questions and are
        never customers' opportunities or crises."""
        opportunity = self.opportunity
        merged = opportunity.model_copy(update={
            "brand_accounts": tuple(dict.fromkeys([*opportunity.brand_accounts, *accounts])),
            "brand_handles": tuple(dict.fromkeys([*opportunity.brand_handles, *handles])),
        })
        return self.model_copy(update={"opportunity": merged})
