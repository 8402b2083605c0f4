"""``scrm enrich``: score texts with the configured enricher and print JSON."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("enrich", help="enrich texts (sentiment, topics, intents, language, spam)")
    parser.add_argument("text", nargs="*", help="texts to enrich (one JSON result per text)")
    parser.add_argument("--jsonl", type=Path, help="file of JSON lines with a 'text' field ('-' = stdin)")
    parser.add_argument("--model", default="fast", choices=["fast", "lexicon", "e5", "transformers"])
    parser.add_argument("--model-path", type=Path, default=None, help="local Hugging Face model dir")
    parser.add_argument("--topics-file", type=Path, default=None, help="custom topics JSON")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.set_defaults(handler=handle)


def _read_jsonl(path: Path) -> list[tuple[str | None, str | None]]:
    """(text, error) per line, in order."""
    handle = sys.stdin if str(path) == "-" else path.open(encoding="utf-8", errors="replace")
    rows: list[tuple[str | None, str | None]] = []
    with handle:
        for number, line in enumerate(handle, start=1):
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                rows.append((None, f"line {number}: invalid JSON ({exc.msg})"))
                continue
            text = value.get("text") if isinstance(value, dict) else None
            rows.append((text, None) if isinstance(text, str) else (None, f"line {number}: no string 'text' field"))
    return rows


def handle(args: argparse.Namespace) -> int:
    from enrichment.config import EnrichmentConfig
    from enrichment.exceptions import EnrichmentError
    from enrichment.factory import build_enricher

    if not args.text and args.jsonl is None:
        print("give texts or --jsonl FILE", file=sys.stderr)
        return 2
    try:
        enricher = build_enricher(EnrichmentConfig(model=args.model, model_path=args.model_path,
                                                   topics_file=args.topics_file, batch_size=args.batch_size))
        rows = [(t, None) for t in args.text] if args.text else _read_jsonl(args.jsonl)
    except (EnrichmentError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    valid = [t for t, _ in rows if t is not None]
    results = iter(enricher.enrich(valid))
    for text, error in rows:
        if text is None:
            print(json.dumps({"error": error}, ensure_ascii=False))
        else:
            print(json.dumps(next(results).model_dump(mode="json"), ensure_ascii=False))
    return 0
