"""Transaction-scoped advisory locks that cannot deadlock, on SQLite and PostgreSQL alike.

A transaction that locks in several rounds (customers, then the customers a merge moved them to, then
detector scopes) could wait for a lock while holding others, and two such transactions deadlock:
PostgreSQL notices after ``deadlock_timeout`` (1 s) and kills one. Inside ``locked_transaction`` that never
happens: only a transaction holding no locks yet waits (one statement, keys in sorted order); a later
round only *tries* its new keys, and when one is taken the transaction rolls back and runs again with
every key it asked for locked up front, in one sorted statement. Locks only serialise writers; the
body must be safe to re-run (it is a transaction: the rollback undid it).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable
from typing import TypeVar

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")
log = logging.getLogger(__name__)
LockKey = tuple[int, str]

MAX_ATTEMPTS = 50
_HELD = "sqlkit.advisory_locks_held"


class LocksBusy(Exception):
    """A later lock round found a key taken; ``wanted`` is every key the transaction asked for."""

    def __init__(self, wanted: set[LockKey]) -> None:
        super().__init__(f"{len(wanted)} advisory locks wanted, some held by another transaction")
        self.wanted = wanted


def locked_transaction(session_factory: sessionmaker[Session], body: Callable[[Session], T]) -> T:
    """Run ``body(session)`` in one transaction and commit; re-run it (after a rollback) while a later
    lock round finds a key busy, up to ``MAX_ATTEMPTS`` times, then raise ``LocksBusy``. Blocks; raises
    whatever ``body`` or the database raise (nothing committed then)."""
    prelock: list[LockKey] = []
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            with session_factory() as session, session.begin():
                _acquire(prelock, session, wait=True)
                session.info[_HELD] = set(prelock)
                return body(session)
        except LocksBusy as busy:
            if attempt == MAX_ATTEMPTS:
                raise
            prelock = sorted(busy.wanted)
            log.info("advisory locks busy (attempt %d); re-running with %d keys locked up front", attempt, len(prelock))
            time.sleep(random.uniform(0, 0.002 * attempt))
    raise AssertionError("unreachable")


def lock_keys(keys: Iterable[str], *, namespace: int, session: Session, final: bool = False) -> None:
    """Serialise writers of these keys until the transaction ends: PostgreSQL transaction-scoped advisory
    locks ``(namespace, hash(key))``, in sorted order. Inside ``locked_transaction`` a transaction already
    holding locks does not wait: it raises ``LocksBusy`` (the runner retries). Outside one, it waits.
    ``final`` locks always wait: the caller promises no transaction takes a non-final lock after a final
    one, and final rounds follow one fixed order (then no wait can close a cycle); use it for hot keys
    every transaction ends with, where try-and-retry would serialise whole transactions.
    SQLite already has a single writer: a no-op there. Re-locking is harmless. Blocks."""
    if session.get_bind().dialect.name != "postgresql":
        return
    asked = {(namespace, key) for key in keys}
    held: set[LockKey] | None = session.info.get(_HELD)
    if held is None or final:
        _acquire(sorted(asked), session, wait=True)
        return
    new = sorted(asked - held)
    if not new:
        return
    if not _acquire(new, session, wait=not held):
        raise LocksBusy(held | asked)
    held.update(new)


def _acquire(keys: list[LockKey], session: Session, *, wait: bool) -> bool:
    """Lock ``keys`` (sorted) in one statement: waiting for each (``True``), or trying each (``False``
    when one is taken; the ones taken stay locked until the rollback)."""
    if not keys:
        return True
    # pg_advisory_xact_lock returns void: count() makes the waiting form a query with a row too
    aggregate = "count(pg_advisory_xact_lock" if wait else "bool_and(pg_try_advisory_xact_lock"
    acquired = session.execute(
        text(
            f"SELECT {aggregate}(k.namespace, hashtext(k.key))) FROM "
            "(SELECT namespace, key FROM unnest(CAST(:namespaces AS int[]), CAST(:keys AS text[])) "
            "WITH ORDINALITY AS t(namespace, key, n) ORDER BY n) AS k"
        ),
        {"namespaces": [namespace for namespace, _ in keys], "keys": [key for _, key in keys]},
    ).scalar_one()
    return wait or bool(acquired)
