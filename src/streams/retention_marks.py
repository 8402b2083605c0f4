"""How far the retention job has blanked text, per store (``retention_marks``): a pass blanks what was
stored between a store's mark and the plan's cut-off, then moves the mark to the cut-off, so no pass
reads again what an earlier one finished (every store's time column is the wall clock at write, so no row
is ever stored behind a mark). Repository functions take a keyword-only ``session`` and never commit.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from sqlkit import as_aware, upsert_rows


class RetentionMarkBase(DeclarativeBase):
    """Declarative base of the retention job's table."""


class RetentionMarkRow(RetentionMarkBase):
    __tablename__ = "retention_marks"

    store: Mapped[str] = mapped_column(String(64), primary_key=True)
    done_before: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def load_mark(store: str, *, session: Session) -> datetime | None:
    """Everything of ``store`` stored before this time is done; ``None``: nothing is yet."""
    found = session.scalar(select(RetentionMarkRow.done_before).where(RetentionMarkRow.store == store))
    return None if found is None else as_aware(found)


def save_mark(store: str, done_before: datetime, *, session: Session) -> None:
    """Record that ``store`` is done up to ``done_before`` (a mark never moves back). Idempotent."""
    current = load_mark(store, session=session)
    if current is None or done_before > current:
        upsert_rows(session, RetentionMarkRow.__table__, [{"store": store, "done_before": done_before}],  # type: ignore[arg-type]
                    ["store"])
