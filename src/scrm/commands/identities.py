"""``scrm identities``: run the identity graph's jobs (centrality, match suggestions)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    jobs = subparsers.add_parser(
        "identities",
        help="run identity jobs now: network centrality and match suggestions",
        description="Recompute PageRank centrality (influence) and refresh identity match suggestions.",
    )
    jobs.add_argument("--data-dir", type=Path, help="embedded state directory")
    jobs.add_argument("--database-url", help="the Kafka runtime's database instead of a data dir")
    jobs.add_argument("--min-score", type=float, default=0.5, help="lowest suggestion score kept")
    jobs.set_defaults(handler=handle_jobs)


def handle_jobs(args: argparse.Namespace) -> int:
    from scrm.commands.state import state_storage
    from streams.jobs.centrality import recompute_centrality
    from streams.jobs.suggestions import refresh_suggestions

    with state_storage(args) as storage:
        run = recompute_centrality(storage.session_factory)
        suggestions, _ = refresh_suggestions(storage.session_factory, min_score=args.min_score)
    print(json.dumps({"centrality": run.__dict__, "suggestions": len(suggestions)}))
    return 0
