"""``scrm import FORMAT FILE...``: export files into the platform (embedded data dir, or Kafka).

Files are streamed row by row (``ingest.importers``); each row becomes an event on ``scrm.events.raw``, a
dead letter on ``scrm.deadletter`` (the row's bytes and the reason, stage ``import``), or a counted skip.
On the embedded runtime everything is drained before exit, so profiles and alerts are applied; with
``--kafka`` every message is acknowledged by the broker (acks=all) before exit. Importing the same files
again changes nothing: events keep their ids, dead letters their row numbers.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.contracts import Platform

if TYPE_CHECKING:
    from ingest.importers import Importer
    from ingest.importers.base import ImportOptions
    from scrm.embedded_feed import Message

KAFKA_CHUNK = 10_000
"""Messages sent (and acknowledged) per producer round on Kafka."""
EXIT_UNREADABLE = 1


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from ingest.importers import IMPORTERS

    formats = "; ".join(f"{i.name}: {i.summary}" for i in IMPORTERS)
    parser = subparsers.add_parser(
        "import",
        help="import export files (jsonl, csv, mediacrawler) into the platform, with a summary per file",
        description=f"Stream FILEs of FORMAT into the platform ({formats}). Each row becomes a SocialEvent, "
        "a dead letter (row and reason; see `scrm deadletters`) or a counted skip. Importing the same files "
        "again changes nothing. See docs/importers.md.",
    )
    parser.add_argument("format", choices=[i.name for i in IMPORTERS], metavar="FORMAT",
                        help=f"one of {', '.join(i.name for i in IMPORTERS)}")
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE")
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--data-dir", type=Path, help="embedded state directory (default: $SCRM_DATA_DIR or .scrm)")
    target.add_argument("--kafka", action="store_true", help="publish to scrm.events.raw on Kafka instead")
    parser.add_argument("--bootstrap", default=os.environ.get("SCRM_KAFKA_BOOTSTRAP", "127.0.0.1:9092"),
                        help="with --kafka: the brokers (default $SCRM_KAFKA_BOOTSTRAP or 127.0.0.1:9092)")
    parser.add_argument("--platform", type=_platform,
                        help="the files' platform (sCRM names, or MediaCrawler's xhs, dy, wb, bili, ks): "
                        "mediacrawler otherwise reads it from the path; jsonl and csv use it where rows name none")
    parser.add_argument("--brand", help="the brand of events that name none")
    parser.add_argument("--mapping", type=Path, help="csv: a TOML file renaming columns and giving defaults")
    parser.set_defaults(handler=handle)


def _platform(text: str) -> Platform:
    from ingest.importers.mediacrawler_shapes import BY_NAME

    name = text.strip().lower()
    if name in BY_NAME:
        return BY_NAME[name].platform
    try:
        return Platform(name)
    except ValueError:
        known = sorted({*(p.value for p in Platform), *BY_NAME})
        raise argparse.ArgumentTypeError(f"unknown platform {text!r}; one of {', '.join(known)}") from None


@dataclass
class FileTally:
    """What one file became."""

    name: str
    rows: int = 0
    events: int = 0
    dead_letters: int = 0
    skipped: int = 0
    error: str | None = None


def handle(args: argparse.Namespace) -> int:
    from ingest.importers import importer
    from ingest.importers.base import ImportOptions
    from ingest.importers.csv_columns import load_mapping

    missing = [str(path) for path in args.files if not path.is_file()]
    if missing:
        print(f"scrm import: no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    if args.mapping is not None and args.format != "csv":
        print("scrm import: --mapping is for the csv format", file=sys.stderr)
        return 2
    try:
        mapping = load_mapping(args.mapping) if args.mapping is not None else None
    except (OSError, ValueError) as exc:
        print(f"scrm import: {exc}", file=sys.stderr)
        return 2
    options = ImportOptions(received_at=datetime.now(UTC), platform=args.platform, brand=args.brand, mapping=mapping)
    tallies = [FileTally(path.name) for path in args.files]
    messages = _messages(importer(args.format), args.files, options, tallies)
    code = _to_kafka(args, messages) if args.kafka else _to_embedded(args, messages)
    _print_summary(tallies)
    if code:
        return code
    return EXIT_UNREADABLE if any(t.error for t in tallies) else 0


def _messages(chosen: Importer, paths: list[Path], options: ImportOptions, tallies: list[FileTally]) -> Iterator[Message]:
    """Every file's rows as messages, counting each into its file's tally and the progress line; a file
    that cannot be read as the format is reported (tally ``error``) and the next one goes on."""
    from ingest.codec import encode_event
    from ingest.importers.base import UnreadableFile, import_dead_letter, source_of
    from scrm.progress import Progress
    from streams.topics import DEADLETTER, RAW_EVENTS

    progress = Progress("rows")
    for path, tally in zip(paths, tallies, strict=True):
        progress.label = path.name
        source = source_of(chosen.name, path)
        try:
            for outcome in chosen.read(path, options):
                tally.rows += 1
                progress.tick()
                if outcome.event is not None:
                    tally.events += 1
                    yield RAW_EVENTS, outcome.event.identity_key.encode(), encode_event(outcome.event)
                elif outcome.skipped is not None:
                    tally.skipped += 1
                else:
                    tally.dead_letters += 1
                    letter = import_dead_letter(outcome, source=source, at=datetime.now(UTC))
                    yield DEADLETTER, None, letter.model_dump_json().encode()
        except UnreadableFile as exc:
            tally.error = exc.reason
            print(f"scrm import: {path}: {exc.reason}", file=sys.stderr)
        except OSError as exc:
            tally.error = exc.strerror or type(exc).__name__
            print(f"scrm import: {path}: {tally.error}", file=sys.stderr)
    progress.done()


def _to_embedded(args: argparse.Namespace, messages: Iterable[Message]) -> int:
    from scrm.embedded_feed import PIPELINE_STOPS, feed_embedded, stopped_exit
    from scrm.heap import settle_heap
    from scrm.wiring import embedded_platform, embedded_settings

    settings = embedded_settings(args.data_dir)
    with embedded_platform(settings) as platform:
        runtime = platform.runtime
        settle_heap()
        try:
            feed_embedded(runtime, messages, chunk=settings.pipeline.batch_size * 8)
        except PIPELINE_STOPS as exc:
            return stopped_exit("scrm import", exc)
        stats = runtime.stats.snapshot()
    print(f"scrm import: {stats['processed']:.0f} events applied, {stats['duplicates']:.0f} already known, "
          f"{stats['alerts']:.0f} alerts raised (data dir {settings.data_dir})", file=sys.stderr)
    return 0


def _to_kafka(args: argparse.Namespace, messages: Iterable[Message]) -> int:
    """Publish in rounds of ``KAFKA_CHUNK`` messages, each acknowledged (acks=all) before the next."""
    from ingest.producer import publish_raw
    from streams.settings import WorkerSettings

    connection = WorkerSettings().kafka
    pending: dict[str, list[bytes]] = {}
    count = 0

    def flush() -> None:
        for topic, values in pending.items():
            publish_raw(args.bootstrap, values, topic=topic, connection=connection)
        pending.clear()

    for topic, _key, value in messages:  # publish_raw keys events by <platform>:<author.id> itself
        pending.setdefault(topic, []).append(value)
        count += 1
        if count % KAFKA_CHUNK == 0:
            flush()
    flush()
    print(f"scrm import: {count} messages published and acknowledged on {args.bootstrap}", file=sys.stderr)
    return 0


def _print_summary(tallies: list[FileTally]) -> None:
    from scrm.commands.state import print_table

    rows: list[list[object]] = [
        [t.name, t.rows, t.events, t.dead_letters, t.skipped, t.error or ""] for t in tallies
    ]
    if len(tallies) > 1:
        rows.append(["total", *(sum(getattr(t, f) for t in tallies) for f in ("rows", "events", "dead_letters", "skipped")), ""])
    print_table(["file", "rows", "events", "dead letters", "skipped", "error"], rows)
