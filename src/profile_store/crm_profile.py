"""The CRM overlay: a profile as the fold made it, with what the CRM says about the customer's ``crm:``
identities (attributes, stage) and the lifecycle that follows. Pure; idempotent (overlaying the
same records again gives the same profile).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from profile_store.contracts import CrmRecord, CrmStage, CrmValue, CustomerProfile
from profile_store.lifecycle import lifecycle_stage

CRM_PREFIX = "crm:"
_STAGE_RANK: dict[CrmStage, int] = {"prospect": 0, "customer": 1, "member": 2}


def crm_ids_of(identities: Iterable[str]) -> list[str]:
    """The CRM ids among identity keys (``crm:<id>``), sorted."""
    return sorted(key[len(CRM_PREFIX):] for key in identities if key.startswith(CRM_PREFIX))


def with_crm(profile: CustomerProfile, records: Sequence[CrmRecord]) -> CustomerProfile:
    """``profile`` overlaid with ``records`` (those of its ``crm:`` identities). With several CRM ids the
    smallest is the profile's ``crm_id`` and wins clashing attributes; the strongest stage counts.
    Consent is not the records' to set: the consent store's effective consent is
    (``consents.with_consent``). Without records, the folded ``crm_id`` (from identity hints) stays and
    nothing is overlaid."""
    ordered = sorted(records, key=lambda record: record.crm_id)
    attributes: dict[str, CrmValue] = {}
    for record in reversed(ordered):
        attributes.update(record.attributes)
    stage = max((record.stage for record in ordered), key=_STAGE_RANK.__getitem__, default=None)
    name = attributes.get("name")
    updated = profile.model_copy(update={
        "crm_id": ordered[0].crm_id if ordered else profile.crm_id,
        "crm": attributes,
        "crm_stage": stage,
        "display_name": profile.display_name or (name if isinstance(name, str) else None),
    })
    return updated.model_copy(update={"lifecycle": lifecycle_stage(updated)})


def crm_only_profile(
    customer_id: str, identities: Iterable[str], records: Sequence[CrmRecord], known_since: datetime
) -> CustomerProfile:
    """The profile of a customer the CRM knows and who never acted: no events, first and last seen when
    sCRM first imported them (``known_since``), overlaid with ``records``."""
    bare = CustomerProfile(customer_id=customer_id, identities=tuple(sorted(set(identities))),
                           first_seen=known_since, last_seen=known_since)
    return with_crm(bare, records)
