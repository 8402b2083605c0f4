"""``scrm segments``: save segment rules, see their members, export them.

A rule file holds the JSON form or the text form (docs/segments.md); a refused rule exits 2 with every
reason. ``create`` evaluates the rule over every existing profile before it returns; ``refresh``
re-evaluates every segment (members who stay keep their ``since``).
"""

from __future__ import annotations

import argparse
import csv
import getpass
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from profile_store.segments import SegmentRule
    from profile_store.segments.store import Segment



def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    segments = subparsers.add_parser(
        "segments", help="segments: create from a rule, list, show, members (CSV/JSON), refresh, delete",
        description="Segments select profiles by a rule (docs/segments.md). Embedded by default (DATA_DIR); "
        "--database-url for the Kafka runtime's database.")
    actions = segments.add_subparsers(dest="action", required=True)

    def place(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--data-dir", type=Path, help="embedded state directory (default: $SCRM_DATA_DIR or .scrm)")
        parser.add_argument("--database-url", help="the Kafka runtime's database instead of a data dir")

    create = actions.add_parser("create", help="save a segment and evaluate it over every profile")
    create.add_argument("name", help="lower-case letters, digits, - and _ (up to 64)")
    create.add_argument("--rule-file", type=Path, required=True, help="the rule: JSON or the text form")
    create.add_argument("--by", help="who creates it (default: the operating-system user)")
    place(create)
    create.set_defaults(handler=handle_create)

    preview = actions.add_parser("preview", help="count the profiles a rule selects, without saving it")
    preview.add_argument("--rule-file", type=Path, required=True)
    place(preview)
    preview.set_defaults(handler=handle_preview)

    for name, helptext, handler in (("list", "every segment with its member count", handle_list),
                                    ("show", "one segment: rule, text form, counts", handle_show),
                                    ("delete", "remove a segment and its members", handle_delete),
                                    ("members", "a segment's members (those who withdrew marketing consent left out and "
                                     "counted on stderr)", handle_members)):
        parser = actions.add_parser(name, help=helptext)
        if name != "list":
            parser.add_argument("name")
        if name == "members":
            parser.add_argument("--format", choices=["csv", "json"], default="csv")
        place(parser)
        parser.set_defaults(handler=handler)

    builtins = actions.add_parser("builtins", help="create the built-in segments that do not exist yet "
                                  "(fans, advocates, detractors, influencers, at_risk, ready_to_buy, lapsed)")
    place(builtins)
    builtins.set_defaults(handler=handle_builtins)

    refresh = actions.add_parser("refresh", help="re-evaluate every segment now; prints who entered and left")
    place(refresh)
    refresh.set_defaults(handler=handle_refresh)


@contextmanager
def _sessions(args: argparse.Namespace) -> Iterator[sessionmaker[Session]]:
    from scrm.wiring import embedded_settings
    from streams.storage import open_storage

    storage = open_storage(str(args.database_url or embedded_settings(args.data_dir).database_url), None)
    try:
        yield storage.session_factory
    finally:
        storage.close()


def _read_rule(path: Path, command: str) -> SegmentRule | None:
    from profile_store.exceptions import InvalidSegmentRule
    from profile_store.segments import parse_rule, parse_text

    try:
        source = path.read_text(encoding="utf-8")
    except OSError as exc:
        print(f"scrm segments {command}: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return None
    try:
        return parse_rule(source) if source.lstrip().startswith("{") else parse_text(source.strip())
    except InvalidSegmentRule as exc:
        print(f"scrm segments {command}: rule refused:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return None


def _summary(segment: Segment) -> dict[str, object]:
    from profile_store.segments import to_text

    return {"name": segment.name, "members": segment.members, "rule": segment.rule.to_json(),
            "text": to_text(segment.rule), "created_by": segment.created_by,
            "created_at": segment.created_at.isoformat(), "evaluated_at": segment.evaluated_at.isoformat(),
            "clock": segment.clock.isoformat() if segment.clock else None}


def handle_create(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from profile_store.exceptions import SegmentExists
    from profile_store.segments.store import create_segment

    rule = _read_rule(args.rule_file, "create")
    if rule is None:
        return 2
    with _sessions(args) as sessions, sessions.begin() as session:
        try:
            segment = create_segment(args.name, rule, by=args.by or getpass.getuser(), at=datetime.now(UTC),
                                     session=session)
        except SegmentExists:
            print(f"scrm segments create: a segment named {args.name!r} exists", file=sys.stderr)
            return 1
        except ValidationError:
            print(f"scrm segments create: bad name {args.name!r}: lower-case letters, digits, - and _ (up to 64)",
                  file=sys.stderr)
            return 2
        print(json.dumps(_summary(segment), ensure_ascii=False))
    return 0


def handle_preview(args: argparse.Namespace) -> int:
    from profile_store.segments.store import count_matching

    rule = _read_rule(args.rule_file, "preview")
    if rule is None:
        return 2
    with _sessions(args) as sessions, sessions() as session:
        print(json.dumps({"members": count_matching(rule, session=session)}))
    return 0


def handle_list(args: argparse.Namespace) -> int:
    from profile_store.segments.store import list_segments

    with _sessions(args) as sessions, sessions() as session:
        for segment in list_segments(session=session):
            print(f"{segment.name:<24} {segment.members:>9}  by {segment.created_by}")
    return 0


def handle_show(args: argparse.Namespace) -> int:
    from profile_store.segments.store import get_segment

    with _sessions(args) as sessions, sessions() as session:
        segment = get_segment(args.name, session=session)
        if segment is None:
            print(f"scrm segments show: no segment named {args.name!r}", file=sys.stderr)
            return 1
        print(json.dumps(_summary(segment), ensure_ascii=False, indent=2))
    return 0


def handle_members(args: argparse.Namespace) -> int:
    from profile_store.segments.store import (
        MEMBER_CSV_COLUMNS,
        get_segment,
        iter_members,
        withheld_for_consent,
    )

    with _sessions(args) as sessions, sessions() as session:
        if get_segment(args.name, session=session) is None:
            print(f"scrm segments members: no segment named {args.name!r}", file=sys.stderr)
            return 1
        members = iter_members(args.name, marketable=True, session=session)
        if args.format == "json":
            for member in members:
                print(member.model_dump_json())
        else:
            writer = csv.writer(sys.stdout)
            writer.writerow(MEMBER_CSV_COLUMNS)
            for member in members:
                writer.writerow(member.csv_row())
        withheld = withheld_for_consent(args.name, session=session)
    if withheld:
        print(f"{withheld} member(s) left out: they withdrew marketing consent", file=sys.stderr)
    return 0


def handle_builtins(args: argparse.Namespace) -> int:
    from profile_store.segments.builtins import install_builtins

    with _sessions(args) as sessions, sessions.begin() as session:
        for segment in install_builtins(at=datetime.now(UTC), session=session):
            print(json.dumps({"created": segment.name, "members": segment.members}))
    return 0


def handle_refresh(args: argparse.Namespace) -> int:
    from streams.jobs.segments import sweep_segments

    with _sessions(args) as sessions:
        for name, (entered, left) in sweep_segments(sessions).items():
            print(json.dumps({"segment": name, "entered": entered, "left": left}))
    return 0


def handle_delete(args: argparse.Namespace) -> int:
    from profile_store.segments.store import delete_segment

    with _sessions(args) as sessions, sessions.begin() as session:
        if not delete_segment(args.name, session=session):
            print(f"scrm segments delete: no segment named {args.name!r}", file=sys.stderr)
            return 1
    print(json.dumps({"deleted": args.name}))
    return 0
