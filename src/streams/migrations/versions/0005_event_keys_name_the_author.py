"""event keys name the author: ``<platform>:<author id>/<event id>``

Event ids are unique per author, not per platform: an outside producer may number each author's events,
and the old key ``<platform>:<event_id>`` made a second author's event look like a replay (dropped, or a
crash where its author was never registered). Stored keys are rewritten to the new format
(``ingest.contracts.event_key``), so a replay after the upgrade still finds every event it stored:

- ``profile_events``: the new key from the row's own columns (``identity_key`` is
  ``<platform>:<author id>``, the old key ``<platform>:<event id>``); the old key is kept as the new
  ``post_key`` column, by which replies find their parent (a reply does not know its parent's author).
- ``interaction_edges``: keyed by the new key of their event (``#m<n>`` kept on mention edges; the event's
  author is the edge's ``source_identity``); ``target_event_key`` held the parent's post key and is now
  named ``target_post_key``.
- ``alert_event_ledger`` and ``alert_signals``: mapped through ``profile_events`` (old key = ``post_key``,
  unique before this revision). A ledger row whose event the profile store never stored (the alert lane
  ran ahead of the apply lane when the upgrade stopped them) cannot be mapped and is deleted: the event is
  judged again only if it is replayed from before the upgrade; kept, its old key could equal a new key of
  another event (``a/b`` by one author is ``<platform>:a/b``, the new key of ``b`` by ``a``) and hide that
  event from the detectors. A signal of such an event stays listed, with ``event_key`` ``NULL`` (the
  column is now nullable: an unanswered question asked before this revision records ``NULL`` too, the
  detector state not holding its author).

Keys are moved in two steps (first to ``~`` + new key, which no key of either format starts with, then the
``~`` dropped) so no intermediate state collides with a key not rewritten yet. Irreversible: the old
format cannot hold two authors' events with one event id.

Revision ID: 5d2c8a7f1b63
Revises: 9b4e0c7a2d18
Create Date: 2026-12-02 10:00:00
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from urllib.parse import quote

import sqlalchemy as sa
from alembic import op

revision: str = "5d2c8a7f1b63"
down_revision: str | None = "9b4e0c7a2d18"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MOVED = "~"
_PAGE = 5_000
_MENTION_SUFFIX = re.compile(r"#m\d+$")

_EVENTS = sa.table(
    "profile_events",
    sa.column("event_key", sa.String),
    sa.column("post_key", sa.String),
    sa.column("identity_key", sa.String),
)
_EDGES = sa.table(
    "interaction_edges",
    sa.column("event_key", sa.String),
    sa.column("source_identity", sa.String),
    sa.column("target_handle_key", sa.String),
)
_LEDGER = sa.table("alert_event_ledger", sa.column("event_key", sa.String))
_SIGNALS = sa.table("alert_signals", sa.column("event_key", sa.String))


def event_key_v2(platform: str, author_id: str, event_id: str) -> str:
    """``ingest.contracts.event_key`` as of this revision, frozen here: this migration must keep writing
    the format it introduced, whatever the application's key becomes later (that change brings its own
    migration). ``tests/unit/test_migrations.py`` holds the two equal while this format is current."""
    spelled = f"{platform}:{quote(author_id, safe='')}/{quote(event_id, safe='')}"
    if len(spelled) <= 512:
        return spelled
    return f"{platform}:#{hashlib.sha256(spelled.encode()).hexdigest()}"


def upgrade() -> None:
    connection = op.get_bind()
    with op.batch_alter_table("profile_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("post_key", sa.String(length=600), nullable=True))
    connection.execute(sa.update(_EVENTS).values(post_key=_EVENTS.c.event_key))
    _move(connection, _EVENTS, [_EVENTS.c.identity_key], lambda old, identity: _new_key(old, identity))
    with op.batch_alter_table("profile_events", schema=None) as batch_op:
        batch_op.alter_column("post_key", existing_type=sa.String(length=600), nullable=False)
        batch_op.create_index(batch_op.f("ix_profile_events_post_key"), ["post_key"], unique=False)

    with op.batch_alter_table("interaction_edges", schema=None) as batch_op:
        batch_op.alter_column("target_event_key", new_column_name="target_post_key",
                              existing_type=sa.String(length=600), existing_nullable=True)
    _move(connection, _EDGES, [_EDGES.c.source_identity, _EDGES.c.target_handle_key], _new_edge_key)

    stored = sa.select(_EVENTS.c.event_key).where(_EVENTS.c.post_key == _LEDGER.c.event_key)
    connection.execute(sa.delete(_LEDGER).where(~stored.exists()))
    connection.execute(sa.update(_LEDGER).values(event_key=sa.literal(_MOVED) + stored.scalar_subquery()))
    _drop_marks(connection, _LEDGER)

    with op.batch_alter_table("alert_signals", schema=None) as batch_op:
        batch_op.alter_column("event_key", existing_type=sa.String(length=600), nullable=True)
    connection.execute(sa.update(_SIGNALS).values(
        event_key=sa.select(_EVENTS.c.event_key).where(_EVENTS.c.post_key == _SIGNALS.c.event_key).scalar_subquery()))


def downgrade() -> None:
    raise NotImplementedError("event keys cannot go back to <platform>:<event_id>: two authors' events may share it")


def _new_key(old: str, identity_key: str) -> str:
    """The new key of an event stored under ``old`` (``<platform>:<event id>``) by ``identity_key``."""
    platform, _, event_id = old.partition(":")
    return event_key_v2(platform, identity_key.partition(":")[2], event_id)


def _new_edge_key(old: str, source_identity: str, target_handle_key: str | None) -> str:
    """An edge's key re-based on its event's new key: a mention edge is its event's old key + ``#m<n>``
    (the suffix is the last thing appended, so the last ``#m<n>`` is it), a reply edge the old key."""
    suffix = ""
    if target_handle_key is not None:
        match = _MENTION_SUFFIX.search(old)
        assert match is not None, f"a mention edge's key ends in #m<n>: {old!r}"
        old, suffix = old[:match.start()], match.group()
    return _new_key(old, source_identity) + suffix


def _move(connection: sa.Connection, table: sa.TableClause, columns: list[sa.ColumnClause[str]],
          new_key: Callable[..., str]) -> None:
    """Rewrite every ``event_key`` of ``table`` to ``new_key(old key, *columns)``, a page at a time in
    key order (rows already moved carry the ``~`` mark and are skipped, wherever the collation sorts it)."""
    key = table.c.event_key
    rename = sa.update(table).where(key == sa.bindparam("old")).values(event_key=sa.bindparam("new"))
    last = ""
    while True:
        page = connection.execute(
            sa.select(key, *columns).where(key > last, sa.not_(key.startswith(_MOVED, autoescape=True)))
            .order_by(key).limit(_PAGE)
        ).all()
        if not page:
            break
        connection.execute(rename, [{"old": row[0], "new": _MOVED + new_key(*row)} for row in page])
        last = page[-1][0]
    _drop_marks(connection, table)


def _drop_marks(connection: sa.Connection, table: sa.TableClause) -> None:
    """Second step of a move: every moved key loses its ``~`` (no unmoved key is left to collide with)."""
    key = table.c.event_key
    connection.execute(sa.update(table).where(key.startswith(_MOVED, autoescape=True))
                       .values(event_key=sa.func.substr(key, len(_MOVED) + 1)))
