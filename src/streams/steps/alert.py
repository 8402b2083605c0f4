"""Alert step: the detectors' view of enriched events (``ScoredPost``), each author judged by the
standing their earlier posts gave them. The detectors themselves run in ``alerts.suite.run_detectors``
(pure, explicit state); loading and saving state, incidents and the delivery outbox inside the batch's
transaction is ``alerts.pipeline.process_posts``.

An author's standing (influence, lifecycle) comes from the alert lane's own fold of the author's events
(``judge_posts``): the same pure profile fold as the apply lane's (``streams.steps.profile.fold_event``),
kept slim, over the events the detectors saw, in the order they saw them — a customer's events arrive in
order on one partition — so a post is judged by exactly the events before it, whichever runtime runs the
detectors, however the batches fall and however far the apply lane lags.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from alerts.contracts import ScoredPost
from profile_store.contracts import AuthorStanding, CustomerProfile
from streams.contracts import EnrichedEvent
from streams.steps.profile import fold_event

UNKNOWN_AUTHOR = AuthorStanding()


def scored_post(enriched: EnrichedEvent, standing: AuthorStanding) -> ScoredPost:
    """The detectors' view of an enriched event by an author of this standing."""
    enrichment = enriched.enrichment
    return ScoredPost(
        customer_id=enriched.customer_id,
        event=enriched.event,
        sentiment_label=enrichment.sentiment.label,
        sentiment_score=enrichment.sentiment.score,
        sentiment_confidence=enrichment.sentiment.confidence,
        topics=enrichment.topics,
        intents=enrichment.intents,
        language=enrichment.language,
        author_influence=standing.influence,
        author_lifecycle=standing.lifecycle,
        author_first_seen=standing.first_seen,
        spam=enrichment.spam,
    )


def standing_of(fold: CustomerProfile | None) -> AuthorStanding:
    """Influence, lifecycle and first sighting of a folded author (an unknown author: no influence,
    prospect, never seen)."""
    if fold is None:
        return UNKNOWN_AUTHOR
    return AuthorStanding(influence=fold.influence, lifecycle=fold.lifecycle, first_seen=fold.first_seen)


def judge_posts(
    events: Sequence[EnrichedEvent],
    folds: Mapping[str, CustomerProfile],
    *,
    survivors: Mapping[str, str],
    centrality: Mapping[str, float],
) -> tuple[list[ScoredPost], dict[str, CustomerProfile]]:
    """Pure. Each event (in arrival order) judged by its author's standing before it, and the authors'
    folds after the batch. Authors are folded under their surviving customer id (``survivors``: merged-away
    id -> survivor); ``centrality`` is the stored network centrality of the survivors."""
    current = dict(folds)
    posts: list[ScoredPost] = []
    for enriched in events:
        author = survivors.get(enriched.customer_id, enriched.customer_id)
        fold = current.get(author)
        posts.append(scored_post(enriched, standing_of(fold)))
        folded = fold_event(fold, enriched, customer_id=author, centrality=centrality.get(author))
        current[author] = folded.model_copy(update={"timeline": (), "topics": {}, "identities": ()})
    return posts, {cid: fold for cid, fold in current.items() if folds.get(cid) is not fold}
