"""A customer's lifecycle stage: what their behaviour supports, raised to what the CRM knows of them.

Pure. Used by the profile fold (``streams.steps.profile``) and by the CRM overlay
(``profile_store.crm_profile``), so a profile's stage is the same whichever of them wrote it last.
"""

from __future__ import annotations

from profile_store.contracts import CrmStage, CustomerProfile, Lifecycle

_RANK: dict[Lifecycle, int] = {"prospect": 0, "customer": 1, "member": 2, "fan": 3, "advocate": 4}
"""The stages a CRM floor raises through, weakest first; ``detractor`` stands apart (a warning, not a rank):
a CRM customer who turned detractor stays one, so the at-risk signal is never hidden."""


def lifecycle_stage(profile: CustomerProfile) -> Lifecycle:
    """The stage behaviour supports, strongest first (after the seed articles' definitions):
    detractor (repeated negativity), advocate (shares brand content and recommends or answers others),
    fan (frequent positive interaction and participation), member (recurring: active on 3+ days),
    customer (known to the CRM, reviews what they bought or says they bought it), else prospect; then raised to the CRM's
    stage (``crm_stage``: a CRM customer is at least ``customer``, a loyalty member at least ``member``)."""
    s, kinds, intents = profile.sentiment, profile.counts_by_kind, profile.intents
    if s.negative >= 2 and s.ewma <= -0.3:
        return "detractor"
    recommends = intents.get("praise", 0) + kinds.get("reply", 0)
    if profile.brand_shares >= 2 and s.positive >= 2 and s.ewma > 0 and recommends >= 1:
        stage: Lifecycle = "advocate"
    elif s.positive >= 3 and s.ewma >= 0.2 and profile.event_count >= 5:
        stage = "fan"
    elif profile.active_days >= 3:
        stage = "member"
    elif (profile.crm_id and profile.crm_stage != "prospect") or kinds.get("review", 0) or intents.get("purchased", 0):
        stage = "customer"
    else:
        stage = "prospect"
    return at_least(stage, profile.crm_stage)


def at_least(stage: Lifecycle, floor: CrmStage | None) -> Lifecycle:
    """``stage`` raised to ``floor`` (``detractor`` is kept: see ``_RANK``)."""
    if floor is None or stage == "detractor" or _RANK[stage] >= _RANK[floor]:
        return stage
    return floor
