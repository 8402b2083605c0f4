"""Helpers shared by the benchmarks: the project's local servers (``deploy/local``) and CPU accounting.

Imported by the scripts next to it (``python benchmarks/<script>.py`` puts this directory on ``sys.path``).
"""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def start(script: str, env: dict[str, str]) -> str:
    """Run ``deploy/local/<script> start``; returns the address it prints last. Exits on failure."""
    out = subprocess.run(["bash", str(ROOT / "deploy/local" / script), "start"], env=env,
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{script} start failed:\n{out.stdout}\n{out.stderr}")
    return out.stdout.strip().splitlines()[-1]


def stop(script: str, env: dict[str, str]) -> None:
    """Run ``deploy/local/<script> stop`` (idempotent; failures ignored)."""
    subprocess.run(["bash", str(ROOT / "deploy/local" / script), "stop"], env=env, check=False, capture_output=True)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU seconds of each live process so far (Linux /proc)."""
    seconds = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        seconds[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return seconds


def postgres_pids(data_dir: Path) -> list[int]:
    """The postmaster of the cluster in ``data_dir`` and its backends."""
    postmaster = int((data_dir / "postmaster.pid").read_text().split()[0])
    children = Path(f"/proc/{postmaster}/task/{postmaster}/children").read_text().split()
    return [postmaster, *map(int, children)]
