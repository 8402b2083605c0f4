"""The sentiment cascade's trade: per confidence threshold, the share of texts sent to the e5 second stage
and the accuracy that buys, on sets never trained or tuned on, plus the throughput that share implies.

    PYTHONPATH=src python benchmarks/bench_cascade.py [--thresholds 0,0.5,0.6,0.7,0.8,1] [--max-tokens 48]
        [--outside-cache DIR]

Sets: the 712 held-out social posts (3 classes, and per language), the outside sets of
``bench_outside_sentiment.py`` (binary, a neutral answer is wrong) and the test parts of the training data
sets. Every text is scored once by the fast head and once by the second stage (embeddings cached under
``~/.cache/scrm/embeddings``), then each threshold picks per text. Threshold 0 is the fast head alone, 1 the
second stage on every (non-blank) text; ``--max-tokens`` routes only texts of at most that many e5 tokens
(the default configuration's ``cascade_max_tokens``; default here: no limit). Throughput: the fast path's and the encoder's measured texts/s on the
benchmark's own mixed posts, combined as 1 / (1 / fast + routed e5 tokens per text / e5 tokens per s) (the
encoder's cost grows with length, and routed texts may be short) for the held-out posts and for the
benchmark's posts. An estimate: `bench_enrichment.py --models fast:τ` measures. Prints tables; never asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--thresholds", default="0,0.5,0.55,0.6,0.65,0.7,0.8,0.9,1")
    parser.add_argument("--max-tokens", type=int, default=10_000, help="route only texts this short (e5 tokens)")
    parser.add_argument("--outside-cache", type=Path, default=Path.home() / ".cache" / "scrm" / "outside-sentiment")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    import numpy as np  # noqa: I001 - the two benchmark imports below must stay in this order
    from bench_outside_sentiment import load_sets  # before bench_enrichment, which drops this dir from sys.path
    from bench_enrichment import _texts

    from enrichment.chinese import head_input
    from enrichment.config import EnrichmentConfig
    from enrichment.embedders import StaticEmbedder, cached_embed
    from enrichment.factory import build_enricher, head_path, make_second_stage
    from enrichment.language import detect_language
    from enrichment.sentiment_model import CLASSES, LinearHead, char_counts, word_counts
    from enrichment.training import datasets as ds
    from enrichment.training.train import DEFAULT_CACHE, load_splits

    config = EnrichmentConfig()
    head = LinearHead.load(head_path(config))
    static = StaticEmbedder()
    second = make_second_stage(config.model_copy(update={"cascade_threshold": 1.0}))
    if second is None:
        print("the cascade is off in this configuration")
        return 1

    sets: list[tuple[str, list[str], np.ndarray, tuple[str, ...], list[str]]] = []
    rows = [json.loads(line) for line in ds.SOCIAL_TEST.read_text(encoding="utf-8").splitlines() if line.strip()]
    sets.append(("social posts, held out (3 classes)", [r["text"] for r in rows],
                 np.array([CLASSES.index(r["sentiment"]) for r in rows]), CLASSES, [r["language"] for r in rows]))
    for name, items in load_sets(args.outside_cache).items():
        sets.append((f"outside: {name}", [t for t, _ in items], np.array([y for _, y in items]),
                     ("negative", "positive"), []))
    for split in load_splits():
        if split.name != "social_posts":
            sets.append((f"test part: {split.name}", split.test_texts, split.test_y, split.labels, []))

    thresholds = [float(t) for t in args.thresholds.split(",")]
    print("| set | n | " + " | ".join(f"τ={t:g} acc (routed)" for t in thresholds) + " |")
    print("|---|---|" + "---|" * len(thresholds))
    share_social: dict[float, tuple[float, float]] = {}  # τ -> (share routed, e5 tokens routed per text)
    for name, raw, truth, labels, languages in sets:
        texts = [head_input(t, detect_language(t)) for t in raw]
        fast = head.predict_proba(texts, static.embed(texts), (char_counts(texts), word_counts(texts)))
        vectors = cached_embed(second.encoder, texts, DEFAULT_CACHE)
        refined = second.head.predict_proba(vectors, fast)
        lengths = np.array([len(ids) for ids in second.encoder.token_ids(texts)])
        routable = np.array([bool(x.strip()) for x in texts]) & (lengths <= args.max_tokens)
        cells = []
        for t in thresholds:
            routed = (fast.max(axis=1) < t) & routable
            probs = np.where(routed[:, None], refined, fast)
            if len(labels) == len(CLASSES):
                predicted = probs.argmax(axis=1)
            elif not name.startswith("outside"):  # a binary test part, scored as `scrm models evaluate` does
                predicted = probs[:, [CLASSES.index(label) for label in labels]].argmax(axis=1)
            else:  # an outside set: the three-class answer, a neutral one is wrong
                label = probs.argmax(axis=1)
                predicted = np.where(label == CLASSES.index("positive"), 1,
                                     np.where(label == CLASSES.index("negative"), 0, -1))
            cells.append(f"{(predicted == truth).mean():.3f} ({routed.mean():.0%})")
            if name.startswith("social"):
                share_social[t] = (float(routed.mean()), float((routed * lengths).mean()))
        print(f"| {name} | {len(texts)} | " + " | ".join(cells) + " |")
        if languages:
            for lang in ("en", "zh-Hans", "zh-Hant", "mixed"):
                keep = np.array([x == lang for x in languages])
                cells = []
                for t in thresholds:
                    routed = (fast.max(axis=1) < t) & routable
                    probs = np.where(routed[:, None], refined, fast)
                    cells.append(f"{(probs.argmax(axis=1)[keep] == truth[keep]).mean():.3f}")
                print(f"| … {lang} | {int(keep.sum())} | " + " | ".join(cells) + " |")

    mixed = _texts(2048)
    fast_only = build_enricher(config.model_copy(update={"cascade_threshold": 0.0}))
    fast_only.enrich(mixed[:64])
    start = time.perf_counter()
    for i in range(0, len(mixed), 64):
        fast_only.enrich(mixed[i : i + 64])
    fast_rate = len(mixed) / (time.perf_counter() - start)
    sample = [head_input(t, detect_language(t)) for t in mixed[:512]]
    second.encoder.embed(sample[:32])
    start = time.perf_counter()
    for i in range(0, len(sample), 64):
        second.encoder.embed(sample[i : i + 64])
    elapsed = time.perf_counter() - start
    e5_rate = len(sample) / elapsed
    token_rate = sum(len(ids) for ids in second.encoder.token_ids(sample)) / elapsed
    bench_texts = [head_input(t, detect_language(t)) for t in mixed]
    bench_top = head.predict_proba(bench_texts, static.embed(bench_texts),
                                   (char_counts(bench_texts), word_counts(bench_texts))).max(axis=1)
    bench_lengths = np.array([len(ids) for ids in second.encoder.token_ids(bench_texts)])
    bench_top[bench_lengths > args.max_tokens] = 1.0
    print(f"\nfast path {fast_rate:,.0f} texts/s, e5 encoder {e5_rate:,.0f} texts/s ({token_rate:,.0f} tokens/s) on "
          f"the benchmark's mixed posts ({os.cpu_count()} cores); implied texts/s = 1 / (1 / fast + e5 tokens "
          "routed per text / tokens/s)")
    print("| τ | routed: held-out social posts | implied texts/s | routed: benchmark posts | implied texts/s |")
    print("|---|---|---|---|---|")
    for t in thresholds:
        share, tokens = share_social.get(t, (0.0, 0.0))
        bench_routed = bench_top < t
        print(f"| {t:g} | {share:.0%} | {1 / (1 / fast_rate + tokens / token_rate):,.0f} | {bench_routed.mean():.0%} | "
              f"{1 / (1 / fast_rate + (bench_routed * bench_lengths).mean() / token_rate):,.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
