"""CRM records repository: the CRM's rows (``crm_records``) and the overlay of them on profiles.

Every function takes a keyword-only ``session`` and never commits; the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Text, bindparam, cast, select, update
from sqlalchemy.orm import Session

from profile_store.consents import PURPOSES, record_statements, statements_for, with_consent
from profile_store.contracts import Consent, ConsentStatement, CrmRecord, CustomerProfile
from profile_store.crm_columns import merge_record
from profile_store.crm_profile import CRM_PREFIX, crm_ids_of, crm_only_profile, with_crm
from profile_store.tables import CrmRecordRow
from sqlkit import JsonText, any_of, as_aware, upsert_rows


@dataclass(frozen=True)
class StoredCrm:
    """A stored record and when sCRM first imported its CRM id."""

    record: CrmRecord
    since: datetime


def save_crm_records(records: Sequence[CrmRecord], *, at: datetime, session: Session,
                     columns: Mapping[str, frozenset[str]] | None = None) -> set[str]:
    """Store each record as its CRM id's current one (and the consent it changes as statements of
    ``crm:<crm_id>`` in the consent store, ``profile_store.consents``): with ``columns`` (crm_id -> the columns its row
    has), merged into the stored one (``crm_columns.merge_record``: what the file has no column for is
    kept); without, replacing it. Returns the CRM ids whose stored record is new or changed. Idempotent:
    saving the same records again changes nothing and returns nothing."""
    if not records:
        return set()
    stored = crm_records_of((record.crm_id for record in records), session=session)
    if columns is not None:
        records = [merge_record(stored[r.crm_id].record, r, columns.get(r.crm_id, frozenset())) if r.crm_id in stored
                   else r for r in records]
    fresh = [r for r in records if r.crm_id not in stored]
    changed = [r for r in records if r.crm_id in stored and stored[r.crm_id].record != r]
    record_statements([*(s for r in fresh for s in _consent_statements(r, Consent(), at)),
                       *(s for r in changed for s in _consent_statements(r, stored[r.crm_id].record.consent, at))],
                      session=session)
    upsert_rows(session, CrmRecordRow.__table__, [  # type: ignore[arg-type]
        {"crm_id": r.crm_id, "data": JsonText(r.model_dump_json()), "created_at": at, "updated_at": at} for r in fresh
    ], ["crm_id"], update=False)
    if changed:
        statement = (update(CrmRecordRow).where(CrmRecordRow.crm_id == bindparam("key"))
                     .values(data=bindparam("data"), updated_at=bindparam("at")))
        session.connection().execute(statement, [
            {"key": r.crm_id, "data": JsonText(r.model_dump_json()), "at": at} for r in changed])
    return {r.crm_id for r in (*fresh, *changed)}


def _consent_statements(record: CrmRecord, before: Consent, at: datetime) -> list[ConsentStatement]:
    """The consent statements of ``crm:<crm_id>`` a record makes: the purposes whose value it changes
    (an unchanged column is no new statement, so re-importing a stale grant never outranks a newer
    withdrawal made elsewhere)."""
    said = Consent(**{purpose: granted for purpose in PURPOSES
                      if (granted := getattr(record.consent, purpose)) is not None and granted != getattr(before, purpose)})
    return statements_for([f"{CRM_PREFIX}{record.crm_id}"], said, source="crm", at=at)


def crm_records_of(crm_ids: Iterable[str], *, session: Session) -> dict[str, StoredCrm]:
    """The stored records of these CRM ids; unknown ids are absent."""
    ids = set(crm_ids)
    if not ids:
        return {}
    query = select(CrmRecordRow.crm_id, cast(CrmRecordRow.data, Text), CrmRecordRow.created_at).where(
        any_of(CrmRecordRow.crm_id, ids, session=session))
    return {crm_id: StoredCrm(CrmRecord.model_validate_json(text), as_aware(since))
            for crm_id, text, since in session.execute(query)}


def iter_crm_records(*, page: int = 2000, session: Session) -> Iterator[CrmRecord]:
    """Every stored record in CRM id order, page by page (constant memory)."""
    after: str | None = None
    while True:
        query = select(CrmRecordRow.crm_id, cast(CrmRecordRow.data, Text)).order_by(CrmRecordRow.crm_id).limit(page)
        if after is not None:
            query = query.where(CrmRecordRow.crm_id > after)
        rows = session.execute(query).all()
        for _, text in rows:
            yield CrmRecord.model_validate_json(text)
        if len(rows) < page:
            return
        after = rows[-1][0]


def overlay_crm(profiles: Sequence[CustomerProfile], *, session: Session) -> list[CustomerProfile]:
    """``profiles`` overlaid with what is stored apart from their events, in the same order: the records
    of their ``crm:`` identities (``crm_profile.with_crm``; a profile without one keeps its CRM fields)
    and the effective consent of all their identities (``consents.with_consent``). Two queries, one
    when no profile has a ``crm:`` identity."""
    wanted = {p.customer_id: crm_ids_of(p.identities) for p in profiles}
    stored = crm_records_of((crm_id for ids in wanted.values() for crm_id in ids), session=session)
    return with_consent([
        with_crm(p, [stored[i].record for i in wanted[p.customer_id] if i in stored]) if wanted[p.customer_id] else p
        for p in profiles
    ], session=session)


def crm_only_profiles(members: Mapping[str, Sequence[str]], *, session: Session) -> list[CustomerProfile]:
    """The profiles of customers without events (``customer id -> identity keys``) whose identities
    include CRM ids with stored records, with their effective consent; a customer none of whose CRM ids has a record gets none (with
    neither events nor CRM records there is no profile). One query."""
    stored = crm_records_of((i for keys in members.values() for i in crm_ids_of(keys)), session=session)
    profiles = []
    for customer_id, keys in members.items():
        found = [stored[i] for i in crm_ids_of(keys) if i in stored]
        if found:
            since = min(item.since for item in found)
            profiles.append(crm_only_profile(customer_id, keys, [item.record for item in found], since))
    return with_consent(profiles, session=session)
