"""``scrm deadletters``: rejected input in one place (either runtime), and what to do about it.

- ``scrm deadletters [--json]``: the newest dead letters with the reason and where they came from;
- ``scrm deadletters replay [--since T] [--reason TEXT] [--stage S]``: submit them again after a fix, to the
  topic each was consumed from (embedded: processed in the data dir at once; Kafka: published, acks=all,
  for the running workers) — each is marked replayed, and one that still fails is dead-lettered anew;
- ``scrm deadletters skip --lane LANE --reason TEXT``: let a lane the dead-letter guard stopped go on past
  the burst (its records are still dead-lettered, not dropped); audited: who, when, why;
- ``scrm deadletters trips``: every stop of a lane by the guard and its waiver.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from datetime import UTC, datetime


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from scrm.commands.state import state_options

    dead = subparsers.add_parser(
        "deadletters", help="list, replay or skip dead-lettered input",
        description="Dead-lettered input of either runtime: list it (default), replay it after a fix, or let a "
        "lane that the dead-letter guard stopped go on (skip). Reads the embedded data dir, or --database-url.",
    )
    dead.add_argument("--limit", type=int, default=50)
    dead.add_argument("--json", action="store_true", help="one JSON array (original bytes in base64)")
    state_options(dead)
    dead.set_defaults(handler=handle_list)
    actions = dead.add_subparsers(dest="action", metavar="{replay,skip,trips}")

    replay = actions.add_parser("replay", help="submit dead letters again to the topic they were consumed from")
    replay.add_argument("--since", type=datetime.fromisoformat, help="only those failed at or after (ISO 8601)")
    replay.add_argument("--reason", help="only those whose error contains this text (case-insensitive)")
    replay.add_argument("--stage", help="only those of this stage (decode, apply, alert, identity, enrich, …)")
    replay.add_argument("--again", action="store_true", help="include dead letters replayed before")
    replay.add_argument("--dry-run", action="store_true", help="say what would be replayed, change nothing")
    replay.add_argument("--bootstrap", help="with --database-url: publish to this Kafka (default $SCRM_KAFKA_BOOTSTRAP)")
    state_options(replay)
    replay.set_defaults(handler=handle_replay)

    skip = actions.add_parser("skip", help="let a lane stopped by the dead-letter guard go on past the burst")
    skip.add_argument("--lane", required=True, choices=["enrich", "apply", "alert", "identity", "deadletter"])
    skip.add_argument("--reason", required=True, help="why (kept in the audit trail)")
    skip.add_argument("--by", default=None, help="who (default: the operating-system user)")
    state_options(skip)
    skip.set_defaults(handler=handle_skip)

    trips = actions.add_parser("trips", help="stops of lanes by the dead-letter guard, and their waivers")
    trips.add_argument("--json", action="store_true")
    state_options(trips)
    trips.set_defaults(handler=handle_trips)


def handle_list(args: argparse.Namespace) -> int:
    from ingest.deadletter_store import list_dead_letters
    from scrm.commands.state import print_table, state_session

    with state_session(args) as session:
        letters = list_dead_letters(session=session, limit=args.limit)
    if args.json:
        print(json.dumps([json.loads(letter.model_dump_json()) for letter in letters], indent=2))
    else:
        print_table(
            ["failed_at", "stage", "topic", "offset", "error"],
            [[d.failed_at.isoformat(), d.stage, d.source_topic, d.offset, d.error[:80]] for d in letters],
        )
    return 0


def handle_replay(args: argparse.Namespace) -> int:
    from ingest.deadletter_store import find_dead_letters, mark_replayed
    from scrm.commands.state import state_session
    from streams.topics import ENRICHED_EVENTS, IDENTITY_LINKS, RAW_EVENTS

    replayable = {RAW_EVENTS, ENRICHED_EVENTS, IDENTITY_LINKS}
    since = args.since.replace(tzinfo=args.since.tzinfo or UTC) if args.since else None
    with state_session(args) as session:
        found = find_dead_letters(session=session, since=since, reason=args.reason, stage=args.stage,
                                  include_replayed=args.again)
    chosen = [d for d in found if d.letter.source_topic in replayable]
    left = len(found) - len(chosen)
    note = f" ({left} not replayable: they did not come from a topic the lanes read)" if left else ""
    if args.dry_run or not chosen:
        print(f"scrm deadletters replay: {len(chosen)} would be replayed{note}", file=sys.stderr)
        return 0
    messages = [(d.letter.source_topic, d.letter.key, d.letter.original) for d in chosen]
    if args.database_url:
        _publish_to_kafka(args, messages)
        where = "published for the running workers"
    else:
        _process_embedded(args, messages)
        where = "processed"
    with state_session(args) as session, session.begin():
        mark_replayed([d.id for d in chosen], datetime.now(UTC), session=session)
    print(f"scrm deadletters replay: {len(chosen)} replayed and {where}{note}; "
          "any that still fail are dead-lettered again (scrm deadletters)", file=sys.stderr)
    return 0


def _publish_to_kafka(args: argparse.Namespace, messages: list[tuple[str, bytes | None, bytes]]) -> None:
    from streams.settings import WorkerSettings
    from streams.transports import Outgoing
    from streams.transports.kafka import KafkaTransport

    settings = WorkerSettings()
    producer = KafkaTransport.producer_only({**settings.kafka.librdkafka(args.bootstrap or settings.kafka_bootstrap),
                                             "acks": "all", "enable.idempotence": True,
                                             "partitioner": "murmur2_random"})
    try:
        producer.publish([Outgoing(topic, key, value) for topic, key, value in messages])
    finally:
        producer.close()


def _process_embedded(args: argparse.Namespace, messages: list[tuple[str, bytes | None, bytes]]) -> None:
    from scrm.wiring import embedded_platform, embedded_settings

    with embedded_platform(embedded_settings(args.data_dir)) as platform:
        for topic, key, value in messages:
            platform.runtime.publish(value, key, topic=topic)
        platform.runtime.drain()


def handle_skip(args: argparse.Namespace) -> int:
    from ingest.deadletter_store import waive_trips
    from scrm.commands.state import state_session
    from scrm.wiring import embedded_settings

    window = embedded_settings(args.data_dir).pipeline.dead_letters.window
    by = args.by or getpass.getuser()
    with state_session(args) as session, session.begin():
        waived = waive_trips(args.lane, by=by, reason=args.reason, window=window, at=datetime.now(UTC), session=session)
    if not waived:
        print(f"scrm deadletters skip: the {args.lane} lane has no stop to waive (scrm deadletters trips)", file=sys.stderr)
        return 1
    for trip in waived:
        print(f"waived: {trip.lane} lane on {trip.topic} partition {trip.partition} from offset {trip.offset} "
              f"through {trip.waived_through}, by {by}: {args.reason}", file=sys.stderr)
    print("restart the lane: those records are dead-lettered (kept, see scrm deadletters) and it goes on",
          file=sys.stderr)
    return 0


def handle_trips(args: argparse.Namespace) -> int:
    from ingest.deadletter_store import list_trips
    from scrm.commands.state import print_table, state_session

    with state_session(args) as session:
        trips = list_trips(session=session)
    if args.json:
        print(json.dumps([{**t.__dict__, "tripped_at": t.tripped_at.isoformat(),
                           "waived_at": t.waived_at.isoformat() if t.waived_at else None} for t in trips], indent=2))
        return 0
    print_table(["tripped_at", "lane", "partition", "offset", "waived_by", "waived_at", "why"],
                [[t.tripped_at.isoformat(), t.lane, t.partition, t.offset, t.waived_by or "-",
                  t.waived_at.isoformat() if t.waived_at else "-", (t.waive_reason or "")[:40]] for t in trips])
    return 0
