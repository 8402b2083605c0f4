"""Identity suggestion job: score probable matches for review; auto-accept only above a configured
threshold (off by default), with the suggestion as the link's provenance."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from profile_store.contracts import LinkSignal, Suggestion
from profile_store.identity_repository import save_suggestions, set_suggestion_status, suggestion_candidates
from profile_store.suggestions import accept_signal, suggest


def refresh_suggestions(
    session_factory: sessionmaker[Session], *, min_score: float = 0.5, auto_merge_threshold: float | None = None
) -> tuple[list[Suggestion], list[LinkSignal]]:
    """Blocks. Stores new suggestions (pairs already suggested, accepted or rejected are left alone) and
    returns them with the link signals of those auto-accepted, for the caller to submit to the links
    topic."""
    now = datetime.now(UTC)
    with session_factory() as session, session.begin():
        scored = suggest(suggestion_candidates(session=session), at=now, min_score=min_score)
        save_suggestions(scored, session=session)
        signals = []
        if auto_merge_threshold is not None:
            for suggestion in scored:
                if suggestion.score >= auto_merge_threshold:
                    signals.append(accept_signal(suggestion, reviewer="auto-merge", at=now))
                    set_suggestion_status(suggestion.suggestion_id, "accepted", session=session)
    return scored, signals
