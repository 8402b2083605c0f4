"""Next actions: who to contact today for one brand, ranked, each with its reason and the posts behind it.

Three kinds, each customer in at most one (the first that applies):
- ``retain``: a valued customer at risk — the CRM knows them (or behaviour made them a customer, member,
  fan or advocate) and they posted negatively about the brand, or threatened to leave, in the window;
- ``convert``: a ready-to-buy prospect — not a member yet, asking to buy (ranked above asking for a
  recommendation);
- ``invite``: an advocate (or an influential fan) posting positively, to invite to co-creation.

Consent is respected: a customer whose effective consent (the consent store's over all their
identities, ``profile_store.consents``) withdraws contact is never listed, an invitation also needs
marketing not withdrawn; unknown consent (a social-only prospect who posted
publicly) does not withhold a reply. Pure: the window counts back from the caller's ``as_of`` (event time).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from profile_store.consents import allows
from profile_store.contracts import CustomerProfile, Lifecycle

ActionKind = Literal["retain", "convert", "invite"]
SentimentLabel = Literal["negative", "neutral", "positive"]
EVIDENCE_POSTS = 3
SPAM_LIMIT = 0.8
"""Posts scored at least this spammy are no evidence."""
TIER_VALUE = {"platinum": 1.0, "diamond": 1.0, "vip": 0.9, "gold": 0.8, "silver": 0.5, "bronze": 0.3}
_VALUED: frozenset[Lifecycle] = frozenset({"customer", "member", "fan", "advocate"})
_BUYING = frozenset({"purchase_intent", "recommendation_request"})


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class EvidencePost(_Frozen):
    """A post of the customer about the brand that supports the action."""

    event_id: str
    platform: str
    occurred_at: datetime
    text: str | None = None
    url: str | None = None
    sentiment: SentimentLabel | None = None
    intents: tuple[str, ...] = ()


class NextAction(_Frozen):
    """One customer to contact (schema version 1): why, how urgent (``score``, 0-100), and the posts."""

    schema_version: Literal[1] = 1
    rank: int = Field(ge=1)
    customer_id: str
    display_name: str | None
    crm_id: str | None
    action: ActionKind
    score: float = Field(ge=0.0, le=100.0)
    reason: str
    lifecycle: Lifecycle
    influence: float
    evidence: tuple[EvidencePost, ...]


class NextActions(_Frozen):
    """The ranked list for ``brand`` over the ``days`` before ``as_of``; ``withheld_for_consent``: customers
    who qualified but whose consent refuses the contact."""

    schema_version: Literal[1] = 1
    brand: str
    as_of: datetime | None
    days: int
    actions: tuple[NextAction, ...]
    withheld_for_consent: int = 0


@dataclass(frozen=True)
class Candidate:
    """A customer with posts about the brand in the window (``posts`` newest first, spam already out)."""

    profile: CustomerProfile
    posts: tuple[EvidencePost, ...]


def rank_next_actions(candidates: Sequence[Candidate], *, brand: str, as_of: datetime | None, days: int,
                      limit: int) -> NextActions:
    """Pure. The ``limit`` best actions, highest score first (ties: customer id)."""
    found: list[tuple[float, str, NextAction]] = []
    withheld = 0
    for candidate in candidates:
        decided = _decide(candidate, brand)
        if decided is None:
            continue
        kind, score, reason, evidence = decided
        if not _consents(candidate.profile, kind):
            withheld += 1
            continue
        p = candidate.profile
        action = NextAction(rank=1, customer_id=p.customer_id, display_name=p.display_name, crm_id=p.crm_id,
                            action=kind, score=round(min(100.0, score), 2), reason=reason, lifecycle=p.lifecycle,
                            influence=p.influence, evidence=evidence[:EVIDENCE_POSTS])
        found.append((-action.score, p.customer_id, action))
    ranked = [a.model_copy(update={"rank": n}) for n, (_, _, a) in enumerate(sorted(found)[:limit], start=1)]
    return NextActions(brand=brand, as_of=as_of, days=days, actions=tuple(ranked), withheld_for_consent=withheld)


def customer_value(profile: CustomerProfile) -> float:
    """0-1 from the CRM: lifetime value (log; 100k ~ 1), tier, loyalty membership; the largest counts."""
    ltv = profile.crm.get("lifetime_value")
    by_ltv = min(1.0, math.log10(1 + ltv) / 5.0) if isinstance(ltv, int | float) and not isinstance(ltv, bool) and ltv > 0 else 0.0
    tier = profile.crm.get("tier")
    by_tier = TIER_VALUE.get(tier.strip().lower(), 0.2) if isinstance(tier, str) and tier.strip() else 0.0
    by_stage = 0.4 if profile.crm_stage == "member" else 0.2 if profile.crm_id else 0.0
    return max(by_ltv, by_tier, by_stage)


def _decide(candidate: Candidate, brand: str) -> tuple[ActionKind, float, str, tuple[EvidencePost, ...]] | None:
    p, posts = candidate.profile, candidate.posts
    negative = tuple(post for post in posts if post.sentiment == "negative" or "churn_threat" in post.intents)
    threats = sum(1 for post in posts if "churn_threat" in post.intents)
    valued = bool(p.crm_id) or p.lifecycle in _VALUED or (p.lifecycle == "detractor" and p.crm_stage is not None)
    if valued and negative:
        value = customer_value(p)
        score = 45 + 25 * value + 8 * min(len(negative), 3) + 12 * min(threats, 1) + 10 * p.churn_risk
        who = _who(p)
        threat = ", threatening to leave" if threats else ""
        return "retain", score, (f"{who} posted {len(negative)} negative post(s) about {brand} in the window"
                                 f"{threat}: valued customer at risk"), negative
    buying = tuple(post for post in posts if _BUYING & set(post.intents))
    if buying and p.lifecycle in ("prospect", "customer") and p.crm_stage != "member":
        wants = any("purchase_intent" in post.intents for post in buying)
        score = (35 + 8 * min(len(buying), 3) + (10 if wants else 0) + 0.2 * p.influence
                 + (5 if p.sentiment.ewma > 0 else 0))
        asks = "asked to buy" if wants else "asked for a recommendation"
        return "convert", score, f"{_who(p)} {asks} in {len(buying)} post(s) about {brand}: ready to buy", buying
    positive = tuple(post for post in posts if post.sentiment == "positive")
    if positive and (p.lifecycle == "advocate" or (p.lifecycle == "fan" and p.influence >= 20)):
        score = 25 + 0.4 * p.influence + 4 * min(len(positive), 4) + (10 if p.lifecycle == "advocate" else 0)
        return "invite", score, (f"{p.lifecycle} with influence {p.influence:.0f} posted {len(positive)} positive "
                                 f"post(s) about {brand}: invite to co-creation"), positive
    return None


def _who(profile: CustomerProfile) -> str:
    tier = profile.crm.get("tier")
    ltv = profile.crm.get("lifetime_value")
    parts = [f"{tier} " if isinstance(tier, str) and tier else "", profile.lifecycle]
    if isinstance(ltv, int | float) and not isinstance(ltv, bool):
        parts.append(f" (lifetime value {ltv:g})")
    return "".join(parts)


def _consents(profile: CustomerProfile, kind: ActionKind) -> bool:
    return allows(profile.consent, "contact") and (kind != "invite" or allows(profile.consent, "marketing"))
