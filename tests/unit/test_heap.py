"""``settle_heap``: what a long-running process has loaded stops being scanned by the cyclic collector."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import gc
from scrm.heap import YOUNG_GENERATION_THRESHOLD, settle_heap
loaded = [[n] for n in range(10_000)]  # what start-up keeps for the process's lifetime
settle_heap()
cycle = []
cycle.append(cycle)
del cycle
print(gc.get_freeze_count() >= 10_000, gc.get_threshold()[0] == YOUNG_GENERATION_THRESHOLD, gc.collect() >= 1)
"""


def test_settle_heap_freezes_what_start_up_loaded_and_still_collects_cycles():
    # a child process: freezing the test runner's own heap would outlive this test
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["True", "True", "True"]
