"""Advisory locks taken in several rounds on a real PostgreSQL: no deadlock, nothing lost."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from sqlkit import lock_keys, locked_transaction

pytestmark = pytest.mark.integration
NAMESPACE = 4242


@pytest.fixture
def engine(fresh_database_url: str) -> Iterator[Engine]:
    engine = create_engine(fresh_database_url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE tally (name text PRIMARY KEY, n int NOT NULL)"))
        connection.execute(text("INSERT INTO tally VALUES ('a', 0), ('b', 0)"))
    yield engine
    engine.dispose()


def test_transactions_locking_in_opposite_rounds_both_commit_instead_of_deadlocking(engine: Engine) -> None:
    """Each holds its first key, then asks for the other's: without the retry protocol PostgreSQL kills
    one with ``deadlock detected``. Here one backs off, re-runs with both keys locked up front, and
    both increments land exactly once."""
    factory = sessionmaker(engine)
    both_hold_their_first = threading.Barrier(2, timeout=10)
    attempts = {"a": 0, "b": 0}
    errors: list[BaseException] = []

    def run(first: str, second: str) -> None:
        def body(session: Session) -> None:
            attempts[first] += 1
            lock_keys([first], namespace=NAMESPACE, session=session)
            if attempts[first] == 1:
                both_hold_their_first.wait()
            lock_keys([second], namespace=NAMESPACE, session=session)
            for name in (first, second):
                session.execute(text("UPDATE tally SET n = n + 1 WHERE name = :name"), {"name": name})

        try:
            locked_transaction(factory, body)
        except BaseException as exc:  # reported below; a thread's exception would otherwise vanish
            errors.append(exc)

    threads = [threading.Thread(target=run, args=pair) for pair in (("a", "b"), ("b", "a"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    with engine.connect() as connection:
        assert dict(connection.execute(text("SELECT name, n FROM tally")).all()) == {"a": 2, "b": 2}
    assert sum(attempts.values()) > 2, "one of the two must have re-run with both keys locked up front"


def test_a_lock_held_elsewhere_makes_a_plain_first_round_wait_not_fail(engine: Engine) -> None:
    factory = sessionmaker(engine)
    holder = engine.connect()
    transaction = holder.begin()
    holder.execute(text("SELECT pg_advisory_xact_lock(:ns, hashtext('a'))"), {"ns": NAMESPACE})
    done = threading.Event()

    def body(session: Session) -> None:
        lock_keys(["a"], namespace=NAMESPACE, session=session)
        session.execute(text("UPDATE tally SET n = n + 1 WHERE name = 'a'"))

    waiter = threading.Thread(target=lambda: (locked_transaction(factory, body), done.set()))
    waiter.start()
    assert not done.wait(0.5), "the first round must wait for the lock"
    transaction.rollback()
    holder.close()
    assert done.wait(10)
    waiter.join()
    with engine.connect() as connection:
        assert connection.execute(text("SELECT n FROM tally WHERE name = 'a'")).scalar_one() == 1
