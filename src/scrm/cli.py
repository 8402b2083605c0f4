"""``scrm`` entry point: collects the sub-commands of ``scrm.commands`` and dispatches."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from scrm.commands import COMMAND_MODULES
from scrm.logs import FORMATS, configure_logging


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser; every sub-command has ``--help``."""
    parser = argparse.ArgumentParser(
        prog="scrm",
        description="Social CRM streaming platform: social events in, profiles, alerts and analytics out.",
    )
    parser.add_argument("--log-format", choices=FORMATS, default=os.environ.get("SCRM_LOG_FORMAT", "text"),
                        help="text (default) or json: one JSON object per log line (also $SCRM_LOG_FORMAT)")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one sub-command; returns its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.log_format)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
