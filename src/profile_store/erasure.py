"""Finding a person in the profile store and deleting every row of theirs (``streams.erasure`` runs it).

A person is a customer with every identity merged into them: ``find_person`` follows redirects from a merged-
away id to the survivor and collects every customer id that ever redirected to it, every identity key of
those customers, their stored events and the strings that name them (handles, display names, their posts'
texts and links) for redacting other stores. ``delete_person`` removes their rows from profiles, the alert
lane's folds, identities, events, interaction edges, redirects, links, merge history, suggestions,
centrality, CRM records and segment membership and history.

Repository functions take a keyword-only ``session`` and never commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, delete, func, or_, select
from sqlalchemy.orm import Session

from profile_store.segments.store import SegmentChangeRow, SegmentMemberRow
from profile_store.tables import (
    AuthorFoldRow,
    CentralityRow,
    ConsentRow,
    CrmRecordRow,
    IdentityRow,
    InteractionEdgeRow,
    LinkRow,
    MergeRow,
    ProfileEventRow,
    ProfileRow,
    RedirectRow,
    SuggestionRow,
)
from sqlkit import any_of

CRM_PREFIX = "crm:"
_MIN_NEEDLE = 4
"""Shorter handles or names are not searched for in free text (``ab`` would redact half of every title)."""


@dataclass(frozen=True)
class Person:
    """Everything that names one person in the profile store."""

    customer_ids: tuple[str, ...]
    identity_keys: tuple[str, ...]
    handle_keys: tuple[str, ...]
    event_keys: tuple[str, ...]
    post_keys: tuple[str, ...]
    author_ids: tuple[str, ...]
    """The platform user ids of their accounts (the part after ``<platform>:``)."""
    names: tuple[str, ...]
    """Handles and display names, as the platforms sent them."""
    texts: tuple[str, ...]
    """Their posts' texts and links."""

    @property
    def crm_ids(self) -> tuple[str, ...]:
        return tuple(key.removeprefix(CRM_PREFIX) for key in self.identity_keys if key.startswith(CRM_PREFIX))

    def needles(self) -> tuple[str, ...]:
        """Strings that name the person inside free text, longest first: their keys (identity, customer,
        event and handle keys), handles and names of at least four characters and platform ids of at least
        five."""
        naming = {*self.identity_keys, *self.customer_ids, *self.event_keys, *self.handle_keys,
                  *(name for name in self.names if len(name) >= _MIN_NEEDLE),
                  *(author for author in self.author_ids if len(author) > _MIN_NEEDLE)}
        return tuple(sorted(naming, key=lambda n: (-len(n), n)))

    def openings(self) -> tuple[str, ...]:
        """The opening of each of their texts of at least 12 characters (a title or summary quotes a post's
        start)."""
        return tuple(sorted({text[:40] for text in self.texts if len(text) >= 12}, key=lambda n: (-len(n), n)))


def find_person(subject: str, *, session: Session) -> Person | None:
    """The person an identity key (``weibo:123``, ``email:a@b.c``) or a customer id (current or merged
    away) names; ``None`` when the store knows neither."""
    customer = session.scalar(select(IdentityRow.customer_id).where(IdentityRow.identity_key == subject))
    if customer is None:
        customer = subject
    for _ in range(64):  # redirects are flattened to the survivor; a few hops at most
        survivor = session.scalar(select(RedirectRow.survivor_id).where(RedirectRow.customer_id == customer))
        if survivor is None or survivor == customer:
            break
        customer = survivor
    ids = {customer, *session.scalars(select(RedirectRow.customer_id).where(RedirectRow.survivor_id == customer))}
    identities = session.execute(select(IdentityRow.identity_key, IdentityRow.handle_key).where(
        any_of(IdentityRow.customer_id, ids, session=session))).all()
    keys = {row.identity_key for row in identities}
    if subject != customer and subject not in ids:
        keys.add(subject)  # an identity key the store holds events or links of, but no customer
    known = bool(identities) or session.get(ProfileRow, customer) is not None or (session.scalar(
        select(func.count()).select_from(ProfileEventRow).where(ProfileEventRow.identity_key == subject)) or 0) > 0
    if not known:
        return None
    events = session.execute(select(ProfileEventRow.event_key, ProfileEventRow.post_key, ProfileEventRow.data)
                             .where(any_of(ProfileEventRow.identity_key, keys, session=session))).all()
    names: set[str] = set()
    texts: set[str] = set()
    for row in events:
        _collect(row.data, names, texts)
    profile = session.get(ProfileRow, customer)
    if profile is not None and profile.display_name:
        names.add(profile.display_name)
    return Person(
        customer_ids=tuple(sorted(ids)), identity_keys=tuple(sorted(keys)),
        handle_keys=tuple(sorted({row.handle_key for row in identities if row.handle_key})),
        event_keys=tuple(sorted(row.event_key for row in events)), post_keys=tuple(sorted({r.post_key for r in events})),
        author_ids=tuple(sorted({key.split(":", 1)[1] for key in keys if ":" in key})),
        names=tuple(sorted(names)), texts=tuple(sorted(texts)),
    )


def _collect(data: dict[str, Any], names: set[str], texts: set[str]) -> None:
    """The author's handle and name and the post's text and link from a stored event's payload."""
    event = data.get("event", data)
    author = event.get("author") or {}
    for field in ("handle", "display_name"):
        if author.get(field):
            names.add(str(author[field]))
    for field in ("text", "url"):
        if event.get(field):
            texts.add(str(event[field]))


def delete_person(person: Person, *, session: Session) -> dict[str, int]:
    """Delete every row of ``person``; returns rows deleted per table (``sql.<table>``)."""
    ids, keys = person.customer_ids, person.identity_keys

    def anyof(column: Any, values: Iterable[str]) -> ColumnElement[bool]:
        return any_of(column, list(values) or [""], session=session)

    plan: list[tuple[Any, ColumnElement[bool]]] = [
        (ProfileRow, anyof(ProfileRow.customer_id, ids)),
        (AuthorFoldRow, anyof(AuthorFoldRow.customer_id, ids)),
        (IdentityRow, or_(anyof(IdentityRow.identity_key, keys), anyof(IdentityRow.customer_id, ids))),
        (ProfileEventRow, anyof(ProfileEventRow.identity_key, keys)),
        (InteractionEdgeRow, or_(anyof(InteractionEdgeRow.source_identity, keys),
                                 anyof(InteractionEdgeRow.target_handle_key, person.handle_keys),
                                 anyof(InteractionEdgeRow.target_post_key, person.post_keys))),
        (RedirectRow, or_(anyof(RedirectRow.customer_id, ids), anyof(RedirectRow.survivor_id, ids))),
        (LinkRow, or_(anyof(LinkRow.a, keys), anyof(LinkRow.b, keys))),
        (MergeRow, or_(anyof(MergeRow.survivor, ids), anyof(MergeRow.other, ids))),
        (SuggestionRow, or_(anyof(SuggestionRow.a, keys), anyof(SuggestionRow.b, keys))),
        (CentralityRow, anyof(CentralityRow.customer_id, ids)),
        (CrmRecordRow, anyof(CrmRecordRow.crm_id, person.crm_ids)),
        (ConsentRow, anyof(ConsentRow.identity_key, keys)),
        (SegmentMemberRow, anyof(SegmentMemberRow.customer_id, ids)),
        (SegmentChangeRow, anyof(SegmentChangeRow.customer_id, ids)),
    ]
    counts: dict[str, int] = {}
    for table, where in plan:
        result = session.execute(delete(table).where(where).execution_options(synchronize_session=False))
        counts[f"sql.{table.__tablename__}"] = int(result.rowcount or 0)  # type: ignore[attr-defined]
    return counts


def person_traces(person: Person, *, session: Session) -> dict[str, int]:
    """Rows per table that still name ``person`` (what ``delete_person`` would delete)."""
    found: dict[str, int] = {}
    checks: list[tuple[str, Any, Any, tuple[str, ...]]] = [
        ("profiles", ProfileRow, ProfileRow.customer_id, person.customer_ids),
        ("author_folds", AuthorFoldRow, AuthorFoldRow.customer_id, person.customer_ids),
        ("identities", IdentityRow, IdentityRow.identity_key, person.identity_keys),
        ("identities", IdentityRow, IdentityRow.customer_id, person.customer_ids),
        ("profile_events", ProfileEventRow, ProfileEventRow.identity_key, person.identity_keys),
        ("interaction_edges", InteractionEdgeRow, InteractionEdgeRow.source_identity, person.identity_keys),
        ("customer_redirects", RedirectRow, RedirectRow.customer_id, person.customer_ids),
        ("identity_links", LinkRow, LinkRow.a, person.identity_keys),
        ("identity_links", LinkRow, LinkRow.b, person.identity_keys),
        ("merge_history", MergeRow, MergeRow.survivor, person.customer_ids),
        ("merge_history", MergeRow, MergeRow.other, person.customer_ids),
        ("identity_suggestions", SuggestionRow, SuggestionRow.a, person.identity_keys),
        ("identity_suggestions", SuggestionRow, SuggestionRow.b, person.identity_keys),
        ("centrality", CentralityRow, CentralityRow.customer_id, person.customer_ids),
        ("crm_records", CrmRecordRow, CrmRecordRow.crm_id, person.crm_ids),
        ("consents", ConsentRow, ConsentRow.identity_key, person.identity_keys),
        ("segment_members", SegmentMemberRow, SegmentMemberRow.customer_id, person.customer_ids),
        ("segment_changes", SegmentChangeRow, SegmentChangeRow.customer_id, person.customer_ids),
    ]
    for name, table, column, values in checks:
        if not values:
            continue
        count = session.scalar(select(func.count()).select_from(table).where(any_of(column, list(values),
                                                                                    session=session)))
        found[f"sql.{name}"] = found.get(f"sql.{name}", 0) + int(count or 0)
    return found
