"""Enrichment throughput: texts/s and p50/p99 batch latency per model on this machine.

    PYTHONPATH=src python benchmarks/bench_enrichment.py [--batch 64] [--batches 40] [--models fast,fast:0,lexicon,e5]

A model may name its cascade threshold: ``fast:0`` is the fast head alone (the machine's yardstick, what
earlier figures were measured with), ``fast:0.5`` sends texts whose top probability is under 0.5 to the e5
second stage; plain ``fast`` is the default configuration.

Texts are a fixed mix of Chinese (Simplified + Traditional), English and mixed posts from the shipped data
sets (falls back to synthetic posts when the train extra is missing). Prints a table; never asserts.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

# this file is named like the package: drop its own directory so `enrichment` resolves to src/enrichment
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]


def _texts(n: int) -> list[str]:
    try:
        from enrichment.training import datasets as ds

        zh, en = ds.zh_reviews(n_train=0, n_test=n), ds.en_tweets(n_train=0, n_test=n)
        from enrichment.chinese import to_traditional

        pool = [t[:280] for t in zh.test_texts[: n // 3]] + en.test_texts[: n // 3]
        pool += [to_traditional(t[:280]) for t in zh.test_texts[n // 3 : n // 3 + n // 6]]
        pool += [f"{a[:40]} {b[:60]}" for a, b in zip(zh.test_texts, en.test_texts, strict=False)][: n // 6]
    except Exception:  # noqa: BLE001 - benchmark only
        pool = ["快递太慢了，客服也不回消息", "Love the new app, checkout is so fast!", "這款耳機音質很好",
                "delivery 太慢了，three days 还没发货"] * (n // 4)
    return (pool * (n // max(1, len(pool)) + 1))[:n]


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--models", default="fast,fast:0,lexicon")
    args = parser.parse_args()
    from enrichment.config import EnrichmentConfig
    from enrichment.factory import build_enricher

    texts = _texts(args.batch * args.batches)
    print(f"{'model':<10}{'load s':>8}{'texts/s':>10}{'p50 ms':>9}{'p99 ms':>9}   (batch={args.batch}, "
          f"{len(texts)} texts, {os.cpu_count()} cores)")
    for name in args.models.split(","):
        model, _, threshold = name.partition(":")
        config = EnrichmentConfig(model=model)  # type: ignore[arg-type]
        if threshold:
            config = config.model_copy(update={"cascade_threshold": float(threshold)})
        start = time.perf_counter()
        try:
            enricher = build_enricher(config)
        except Exception as exc:  # noqa: BLE001
            print(f"{name:<10} unavailable: {exc}")
            continue
        load = time.perf_counter() - start
        enricher.enrich(texts[: args.batch])  # warm-up
        latencies = []
        batches = args.batches if model != "e5" else max(2, args.batches // 10)
        for i in range(batches):
            t0 = time.perf_counter()
            enricher.enrich(texts[i * args.batch : (i + 1) * args.batch])
            latencies.append(time.perf_counter() - t0)
        latencies.sort()
        p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
        rate = args.batch * len(latencies) / sum(latencies)
        print(f"{name:<10}{load:>8.2f}{rate:>10.0f}{statistics.median(latencies) * 1e3:>9.1f}{p99 * 1e3:>9.1f}")


if __name__ == "__main__":
    main()
