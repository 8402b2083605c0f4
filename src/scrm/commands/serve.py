"""``scrm serve``: the embedded platform for real: runtime, API, console and webhook receivers in one
process, fed by the platforms' webhooks and the generic ingest route (no simulator)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the embedded platform for real: API, console, webhook receivers and generic ingest",
        description="Embedded runtime + API and console + the webhook receivers of the connectors file "
        "(/v1/ingest/webhooks/<connector>) + POST /v1/ingest/events, on http://HOST:PORT until Ctrl-C. "
        "What is accepted is journalled in the data dir before it is answered.",
    )
    parser.add_argument("--data-dir", type=Path, help="state directory (default: $SCRM_DATA_DIR or .scrm)")
    parser.add_argument("--host", help="bind address (default $SCRM_HOST or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default $SCRM_PORT or 8000)")
    parser.add_argument("--connectors", type=Path,
                        help="connectors TOML (default $SCRM_CONNECTORS_FILE; docs/connectors.md)")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from scrm.commands._serving import serve_embedded
    from streams.settings import EmbeddedSettings

    flags = {"data_dir": args.data_dir, "host": args.host, "port": args.port, "connectors_file": args.connectors}
    settings = EmbeddedSettings(**{k: v for k, v in flags.items() if v is not None})  # type: ignore[arg-type]
    base = f"http://{settings.host}:{settings.port}"

    def banner(admin: str) -> str:
        return (
            f"\nsCRM serving {settings.data_dir.resolve()} (Ctrl-C stops)\n"
            f"  console:  {base}/#api_key={admin}\n"
            f"  webhooks: {base}/v1/ingest/webhooks/<connector>   connectors: {base}/v1/connectors\n"
            f"  ingest:   curl -H 'X-API-Key: <ingest key>' --data-binary @events.jsonl {base}/v1/ingest/events\n"
        )

    return serve_embedded(settings, command="serve", banner=banner)
