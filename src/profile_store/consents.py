"""The consent store: each identity's newest statement per purpose (table ``consents``), and a customer's
effective consent over all their identities.

Consent is about a person but arrives per identity: the CRM says it of ``crm:<crm_id>``, a connector of
the account that unsubscribed (``wechat:<openid>``), the API of every identity a customer has when it is
called. Keeping it by identity key, apart from the profiles, is what makes it survive merges, splits and
refolds: a customer's consent is recomputed from the statements of whichever identities they hold now.

Precedence (``effective_consent``): per purpose, the newest statement among the customer's identities
wins, whichever identity made it; two statements of the same time resolve to the withdrawal. So a
withdrawal anywhere holds until the person grants the purpose again later, through any of their
identities. An identity keeps one statement per purpose: a newer one replaces it, an older or equal one
(a replayed event, a re-import) changes nothing, so recording is idempotent.

``None`` (nobody said) is allowed everywhere (opt-out): only ``False`` excludes (``allows``).

Repository functions take a keyword-only ``session`` and never commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import get_args

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from profile_store.contracts import Consent, ConsentPurpose, ConsentStatement, CustomerProfile
from profile_store.tables import ConsentRow, ProfileRow
from sqlkit import any_of, as_aware, json_value, upsert_rows

PURPOSES: tuple[ConsentPurpose, ...] = get_args(ConsentPurpose)


def allows(consent: Consent, purpose: ConsentPurpose) -> bool:
    """Whether ``consent`` lets ``purpose`` happen: yes unless withdrawn (``None``, nobody said, allows)."""
    return getattr(consent, purpose) is not False


def profile_allows(purpose: ConsentPurpose, *, dialect: str) -> ColumnElement[bool]:
    """``allows`` as a condition over the ``profiles`` table (the stored profile's effective consent), for
    ``dialect`` (``"sqlite"`` or ``"postgresql"``). Pure: builds, never executes."""
    stated = json_value(ProfileRow.__table__.c.data, ("consent", purpose), "boolean", dialect=dialect)
    return func.coalesce(stated, True).is_(True)


def effective_consent(statements: Iterable[ConsentStatement]) -> Consent:
    """Per purpose the newest statement's ``granted`` (a withdrawal wins a tie); ``None`` where there is
    none. Pure; order-independent."""
    newest: dict[str, ConsentStatement] = {}
    for statement in statements:
        held = newest.get(statement.purpose)
        if held is None or _supersedes(statement, held):
            newest[statement.purpose] = statement
    return Consent(**{purpose: s.granted for purpose, s in newest.items()})


def _supersedes(statement: ConsentStatement, held: ConsentStatement) -> bool:
    """Whether ``statement`` replaces ``held``: it is newer, or as new and a withdrawal of a grant."""
    return statement.updated_at > held.updated_at or (
        statement.updated_at == held.updated_at and held.granted and not statement.granted)


def statements_for(identity_keys: Iterable[str], consent: Consent, *, source: str,
                   at: datetime) -> list[ConsentStatement]:
    """The statements ``consent`` makes for each of ``identity_keys`` (one per purpose it says something
    about; ``None`` purposes are left unchanged), by ``source`` at ``at`` (timezone-aware). Pure."""
    said = {purpose: granted for purpose in PURPOSES if (granted := getattr(consent, purpose)) is not None}
    return [ConsentStatement.model_validate({"identity_key": key, "purpose": purpose, "granted": granted,
                                             "source": source, "updated_at": at})
            for key in sorted(set(identity_keys)) for purpose, granted in said.items()]


def record_statements(statements: Sequence[ConsentStatement], *, session: Session) -> list[ConsentStatement]:
    """Store each statement as its identity's on its purpose unless the stored one is newer or as new
    (``effective_consent``'s rule; of several for one identity and purpose the newest counts); returns
    those stored. Idempotent: recording the same statements again stores nothing."""
    newest: dict[tuple[str, str], ConsentStatement] = {}
    for statement in statements:
        key = (statement.identity_key, statement.purpose)
        if key not in newest or _supersedes(statement, newest[key]):
            newest[key] = statement
    if not newest:
        return []
    held = {(s.identity_key, s.purpose): s for s in statements_of({k for k, _ in newest}, session=session)}
    fresh = [s for key, s in newest.items() if key not in held or _supersedes(s, held[key])]
    upsert_rows(session, ConsentRow.__table__, [  # type: ignore[arg-type]
        {"identity_key": s.identity_key, "purpose": s.purpose, "granted": s.granted, "source": s.source,
         "updated_at": s.updated_at} for s in fresh], ["identity_key", "purpose"])
    return fresh


def statements_of(identity_keys: Iterable[str], *, session: Session) -> list[ConsentStatement]:
    """The stored statements of these identities, by identity key and purpose. One query."""
    keys = set(identity_keys)
    if not keys:
        return []
    query = (select(ConsentRow.identity_key, ConsentRow.purpose, ConsentRow.granted, ConsentRow.source,
                    ConsentRow.updated_at)
             .where(any_of(ConsentRow.identity_key, keys, session=session))
             .order_by(ConsentRow.identity_key, ConsentRow.purpose))
    return [ConsentStatement.model_validate({"identity_key": k, "purpose": p, "granted": bool(g), "source": s,
                                             "updated_at": as_aware(at)})
            for k, p, g, s, at in session.execute(query)]


def consent_of(members: Mapping[str, Iterable[str]], *, session: Session) -> dict[str, Consent]:
    """The effective consent of each customer (``customer id -> identity keys``). One query."""
    keys = {customer_id: set(identities) for customer_id, identities in members.items()}
    by_key: dict[str, list[ConsentStatement]] = {}
    for statement in statements_of(set().union(*keys.values()), session=session):
        by_key.setdefault(statement.identity_key, []).append(statement)
    return {customer_id: effective_consent(s for key in identities for s in by_key.get(key, ()))
            for customer_id, identities in keys.items()}


def with_consent(profiles: Sequence[CustomerProfile], *, session: Session) -> list[CustomerProfile]:
    """``profiles`` (same order) with ``consent`` set to the effective consent of their identities. One
    query; a profile whose consent is already that comes back as it was."""
    found = consent_of({p.customer_id: p.identities for p in profiles}, session=session)
    return [p if p.consent == found[p.customer_id] else p.model_copy(update={"consent": found[p.customer_id]})
            for p in profiles]
