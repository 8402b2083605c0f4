"""``scrm next-actions --brand B``: who to contact today for a brand, ranked, with reasons and the posts
behind each (``profile_store.next_actions``)."""

from __future__ import annotations

import argparse
import sys

from scrm.commands.state import state_options


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "next-actions",
        help="who to contact today for a brand: valued customers at risk, ready-to-buy prospects, advocates",
        description="Rank the customers who posted about BRAND in the last DAYS of event time (up to the newest "
        "stored event): valued customers at risk with negative posts (retain), ready-to-buy prospects "
        "(convert), advocates to invite to co-creation (invite), each with its reason and evidence posts. "
        "Customers whose consent refuses the contact are left out and counted.",
    )
    parser.add_argument("--brand", required=True)
    parser.add_argument("--days", type=int, default=7, help="the window in days of event time (default 7)")
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--json", action="store_true", help="the whole list as JSON instead of a table")
    state_options(parser)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from profile_store.next_action_store import next_actions
    from scrm.commands.state import print_table, state_session

    if args.days < 1 or args.limit < 1:
        print("scrm next-actions: --days and --limit must be at least 1", file=sys.stderr)
        return 2
    with state_session(args) as session:
        found = next_actions(args.brand, days=args.days, limit=args.limit, session=session)
    if args.json:
        print(found.model_dump_json(indent=2))
        return 0
    print_table(["#", "action", "score", "customer", "crm_id", "reason", "evidence"],
                [[a.rank, a.action, f"{a.score:.1f}", a.display_name or a.customer_id[:8], a.crm_id or "", a.reason,
                  ", ".join(p.event_id for p in a.evidence)] for a in found.actions])
    if found.withheld_for_consent:
        print(f"{found.withheld_for_consent} customer(s) left out: their consent refuses the contact", file=sys.stderr)
    return 0
