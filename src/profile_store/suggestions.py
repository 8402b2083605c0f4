"""Identity suggestions, pure: probable cross-platform matches scored from evidence a reviewer can check.

Candidates are identities on different platforms, owned by different customers, whose normalised handle
or display name collide (blocking); each pair is scored from name similarity, an identical handle, and
co-activity (taking part in the same threads). Scores are in [0, 1]; nothing here merges anything.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from itertools import combinations

from profile_store.contracts import LinkSignal, Provenance, Suggestion
from profile_store.identity_graph import make_link

SUGGESTION_NAMESPACE = uuid.UUID("9d3f1b2a-6c4e-4a8b-9f0e-7a1b2c3d4e5f")
_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)
MAX_BLOCK = 50


@dataclass(frozen=True)
class Candidate:
    """One identity as the matcher sees it."""

    identity_key: str
    customer_id: str
    handle: str | None
    display_name: str | None
    threads: frozenset[str] = frozenset()


def normalise_name(value: str | None) -> str:
    """Case-folded, accent- and punctuation-free name (``"Li_Ming 88"`` -> ``"liming88"``)."""
    if not value:
        return ""
    folded = unicodedata.normalize("NFKD", value).casefold()
    return _NOT_WORD.sub("", "".join(c for c in folded if not unicodedata.combining(c)))


def suggest(candidates: Iterable[Candidate], *, at: datetime, min_score: float = 0.5) -> list[Suggestion]:
    """Scored suggestions for colliding candidates at or above ``min_score``, best first."""
    blocks: dict[str, list[Candidate]] = {}
    for candidate in candidates:
        for name in {normalise_name(candidate.handle), normalise_name(candidate.display_name)}:
            if len(name) >= 3:
                blocks.setdefault(name, []).append(candidate)
    scored: dict[str, Suggestion] = {}
    for block in blocks.values():
        for a, b in combinations(block[:MAX_BLOCK], 2):
            if a.customer_id == b.customer_id or a.identity_key.split(":")[0] == b.identity_key.split(":")[0]:
                continue
            suggestion = _score(a, b, at)
            if suggestion.score >= min_score and suggestion.suggestion_id not in scored:
                scored[suggestion.suggestion_id] = suggestion
    return sorted(scored.values(), key=lambda s: (-s.score, s.suggestion_id))


def suggestion_id(a: str, b: str) -> str:
    """uuid5 of the unordered pair."""
    first, second = sorted((a, b))
    return str(uuid.uuid5(SUGGESTION_NAMESPACE, f"{first}|{second}"))


def _score(a: Candidate, b: Candidate, at: datetime) -> Suggestion:
    name_similarity = difflib.SequenceMatcher(None, normalise_name(a.display_name), normalise_name(b.display_name)).ratio()
    same_handle = bool(a.handle and b.handle and normalise_name(a.handle) == normalise_name(b.handle))
    shared_threads = sorted(a.threads & b.threads)
    co_activity = min(1.0, len(shared_threads) / 3)
    score = 0.45 * name_similarity + 0.35 * same_handle + 0.2 * co_activity
    first, second = sorted((a.identity_key, b.identity_key))
    evidence: Mapping[str, object] = {
        "display_names": [a.display_name, b.display_name],
        "handles": [a.handle, b.handle],
        "name_similarity": round(name_similarity, 3),
        "same_handle": same_handle,
        "shared_threads": shared_threads[:10],
    }
    return Suggestion(
        suggestion_id=suggestion_id(first, second), a=first, b=second, score=round(min(1.0, score), 4),
        evidence=dict(evidence), created_at=at,
    )


def accept_signal(suggestion: Suggestion, *, reviewer: str, at: datetime) -> LinkSignal:
    """The link an accepted suggestion becomes, with the reviewer and the suggestion as provenance."""
    provenance = Provenance(source="reviewer", actor=reviewer, reference=f"suggestion {suggestion.suggestion_id}")
    return LinkSignal(op="link", link=make_link(suggestion.a, suggestion.b, provenance, at), requested_by=reviewer, at=at)
