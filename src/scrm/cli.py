"""``scrm`` entry point: collects the sub-commands of ``scrm.commands`` and dispatches."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from scrm.commands import COMMAND_MODULES


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser; every sub-command has ``--help``."""
    parser = argparse.ArgumentParser(
        prog="scrm",
        description="Social CRM streaming platform: social events in, profiles, alerts and analytics out.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one sub-command; returns its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
