"""Stating a customer's consent (the API's ``PUT /v1/profiles/{id}/consent``): the statements for every
identity the customer holds, their profile's effective consent and their segment membership, in the
caller's transaction. Keyword-only ``session``; never commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from profile_store.consents import allows, consent_of, record_statements, statements_for, with_consent
from profile_store.contracts import Consent, ConsentStatement
from profile_store.identity_repository import identities_of
from profile_store.repository import load_profiles, lock_customers, resolve_redirect, save_profiles
from profile_store.segments.membership import SegmentChange, apply_batch_memberships


@dataclass(frozen=True)
class ConsentChange:
    """What a statement did: the customer (a merged-away id resolved to its survivor), their identities,
    the effective consent before and after, the statements stored (none: nothing new was said) and the
    segment entries and exits that followed."""

    customer_id: str
    identity_keys: tuple[str, ...]
    before: Consent
    after: Consent
    recorded: tuple[ConsentStatement, ...]
    segment_changes: tuple[SegmentChange, ...]

    @property
    def analytics_withdrawn(self) -> bool:
        """Whether analytics consent is withdrawn now (the caller removes the person from ClickHouse:
        ``analytics.erasure.exclude_person``, idempotent, so a repeated withdrawal may run it again)."""
        return not allows(self.after, "analytics")


def state_consent(customer_id: str, consent: Consent, *, source: str, at: datetime,
                  session: Session) -> ConsentChange | None:
    """Record ``consent`` (its ``None`` purposes unchanged) for every identity of the customer, by
    ``source`` at ``at``, save their profile with the effective consent and re-decide every segment for
    them (cause ``consent:<source>@<at>``; no event time: the segments' clocks stay). Takes the
    customer's lock until the caller's transaction ends; blocks. ``None``: no customer by that id.
    Idempotent: the same statement at the same time records nothing and changes nothing."""
    current = resolve_redirect(customer_id, session=session)
    lock_customers([current], session=session)
    identities = tuple(identities_of([current], session=session)[current])
    if not identities:
        return None
    before = consent_of({current: identities}, session=session)[current]
    recorded = record_statements(statements_for(identities, consent, source=source, at=at), session=session)
    after = consent_of({current: identities}, session=session)[current]
    profile = load_profiles([current], session=session).get(current)
    if profile is not None and (updated := with_consent([profile], session=session)[0]) != profile:
        save_profiles([updated], session=session)
    cause = f"consent:{source}@{at.isoformat()}"[:600]
    changes = apply_batch_memberships({current: cause}, None, [cause], session=session) if recorded else []
    return ConsentChange(customer_id=current, identity_keys=identities, before=before, after=after,
                         recorded=tuple(recorded), segment_changes=tuple(changes))
