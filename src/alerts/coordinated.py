"""Coordinated accounts (水军): near-duplicate texts from many accounts about one brand, on event time.

A watched post (a text post, mention, comment, reply or review about a brand; not a chat message) is
normalised (``normalise``), cut into character shingles and signed with datasketch's ``MinHash``. The
brand's window (state ``coord:<brand>``) keeps the signatures of its last ``max_posts`` posts of the last
``window_minutes``. A post whose estimated Jaccard similarity — MinHash's estimator, the share of equal hash
values — reaches ``similarity`` with posts of at least ``min_accounts - 1`` other accounts makes a candidate
cluster with them, *coordinated* when its score reaches ``min_score``::

    score = (w_b·burst + w_s·spam + w_n·new_accounts + w_f·low_followers) / (w_b + w_s + w_n + w_f)

``burst``: 1 when the ``min_accounts`` accounts nearest the post posted within ``burst_seconds``, else
``burst_seconds / span``; ``spam``: the posts' mean spam likelihood; ``new_accounts`` and
``low_followers``: the share of the accounts first seen less than ``new_account_hours`` before their post,
and with fewer than ``low_followers`` followers. Near-duplicates alone never reach the default score (some
genuine texts are formulaic). A later post similar to one of a cluster's posts joins it. A cluster alerts
when it forms, when a new account joins and when its post count has grown by ``growth_factor`` since it
last alerted, always with the dedup key ``coordinated:<brand>:<cluster id>``: one incident, its count
growing. It ends when its latest post leaves the window. Posts come settled and in event-time order
(``alerts.suite``), so the same posts give the same clusters however partitions interleave. Pure.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
import unicodedata
from datetime import timedelta
from functools import lru_cache
from typing import Literal

import numpy as np
from datasketch import MinHash
from pydantic import BaseModel, ConfigDict

from alerts.config import CoordinatedConfig
from alerts.contracts import Alert, ScoredPost
from alerts.detectors import make_alert
from alerts.state import CoordinatedCluster, CoordinatedWindow, PostRef, WindowPost
from alerts.text import fold

RULE: Literal["coordinated"] = "coordinated"
WATCHED_KINDS = frozenset({"post", "mention", "comment", "reply", "review"})
MINHASH_SEED = 1
"""datasketch's default seed: signatures stored in state stay comparable only while it is unchanged."""

_URL = re.compile(r"(?:https?://|www\.)\S+")
_HANDLE = re.compile(r"@[\w.\-]+")
_CODE = re.compile(r"[a-z0-9]*\d[a-z0-9]*")  # codes, ids, prices, counts: "abc123", "299", "3天" -> "#天"
_DROPPED = frozenset({"So", "Sk", "Cf", "Cs", "Co"})  # emoji and other symbols, joiners, private use


class CoordinatedPost(PostRef):
    """A post as coordinated-accounts evidence: flagged as part of a coordinated cluster."""

    coordinated: bool = True


class CoordinatedEvidence(BaseModel):
    """A coordinated alert's evidence (stored as its ``model_dump(mode="json")`` in ``Alert.evidence``):
    the cluster's accounts (identity keys, the first ``evidence_accounts``), how many accounts and posts,
    the similarity and sample text that made it, the numbers its score weighed, and the post that raised
    this alert (``post``, flagged ``coordinated``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rule: Literal["coordinated"] = "coordinated"
    cluster_id: str
    accounts: tuple[str, ...]
    account_count: int
    count: int
    similarity: float
    sample_text: str
    span_seconds: float
    mean_followers: float | None
    burst: float
    spam: float
    new_accounts: float
    low_followers: float
    score: float
    window_minutes: int
    post: CoordinatedPost


def watches(post: ScoredPost) -> bool:
    """Whether the detector compares this post: a text post, mention, comment, reply or review about a
    brand (the caller leaves out the brands' own accounts)."""
    event = post.event
    return event.kind.value in WATCHED_KINDS and bool(event.text) and bool(event.brand)


def normalise(text: str) -> str:
    """Pure. ``text`` as compared: folded (NFKC, case, traditional -> simplified, ``alerts.text.fold``),
    emoji and other symbols dropped, URLs -> ``~``, @handles -> ``@``, runs of ASCII letters and digits
    holding a digit (codes, ids, prices) -> ``#``, whitespace collapsed — so "加微信 abc123 领取免费iPhone"
    and "加微信 xyz789 领取免费iPhone" are the same text."""
    kept = "".join(ch for ch in fold(text) if unicodedata.category(ch) not in _DROPPED
                   and not "\ufe00" <= ch <= "\ufe0f")
    kept = _CODE.sub("#", _HANDLE.sub("@", _URL.sub("~", kept)))
    return " ".join(kept.split())


@lru_cache(maxsize=4)
def _permutations(num_perm: int) -> tuple[np.ndarray, np.ndarray]:
    permutations: tuple[np.ndarray, np.ndarray] = MinHash(num_perm=num_perm, seed=MINHASH_SEED).permutations
    return permutations


def signature(text: str, config: CoordinatedConfig) -> np.ndarray | None:
    """Pure. The MinHash hash values (``num_perm`` of them, each below 2**32) of the normalised text's
    ``shingle_chars``-character shingles; ``None`` for a normalised text shorter than ``min_chars``."""
    normal = normalise(text)
    if len(normal) < config.min_chars:
        return None
    k = config.shingle_chars
    shingles = {normal[i:i + k] for i in range(len(normal) - k + 1)}
    minhash = MinHash(num_perm=config.num_perm, seed=MINHASH_SEED, permutations=_permutations(config.num_perm))
    minhash.update_batch([s.encode("utf-8") for s in sorted(shingles)])
    values: np.ndarray = minhash.hashvalues
    return values


def encode(values: np.ndarray) -> str:
    """Hash values as stored in state: little-endian uint32, base64."""
    return base64.b64encode(values.astype("<u4").tobytes()).decode("ascii")


@lru_cache(maxsize=16_384)
def decode(stored: str) -> np.ndarray:
    """The hash values of a stored signature (read-only; cached: a window's posts are compared with every
    post that comes)."""
    values = np.frombuffer(base64.b64decode(stored), dtype="<u4").astype(np.uint64)
    values.flags.writeable = False
    return values


def observe_post(
    window: CoordinatedWindow | None, post: ScoredPost, config: CoordinatedConfig
) -> tuple[CoordinatedWindow, Alert | None, bool]:
    """Pure. Compare a watched ``post`` with its brand's ``window`` and add it. Returns the new window,
    an alert when the post formed a coordinated cluster or grew one enough (see the module), and whether
    the post belongs to a coordinated cluster (the other windowed detectors then leave it out)."""
    current = window or CoordinatedWindow()
    values = signature(post.event.text or "", config)
    if values is None:
        return current, None, False
    at = post.event.occurred_at_utc
    since = at - timedelta(minutes=config.window_minutes)
    posts = [p for p in current.posts if p.at >= since and len(decode(p.signature)) == config.num_perm]
    clusters = {k: c for k, c in current.clusters.items() if c.last_at >= since}
    similar = (np.count_nonzero(np.stack([decode(p.signature) for p in posts]) == values, axis=1) / config.num_perm
               if posts else np.zeros(0))
    matches = [(i, float(j)) for i, j in enumerate(similar) if j >= config.similarity]
    event = post.event
    own = WindowPost(event_key=event.event_key, account=event.identity_key, at=at, signature=encode(values),
                     followers=event.author.followers, new_account=_is_new(post, config), spam=post.spam)
    live = sorted({posts[i].cluster for i, _ in matches if posts[i].cluster in clusters},
                  key=lambda c: (clusters[c].first_at, c))  # type: ignore[index]
    cluster: CoordinatedCluster | None
    if live:
        before = clusters[live[0]]  # type: ignore[index]
        cluster = _joined(before, own, config)
        fire = (len(cluster.accounts) > len(before.accounts)
                or cluster.count >= max(before.fired_count + 1, math.ceil(before.fired_count * config.growth_factor)))
    else:
        cluster = _candidate(own, [(posts[i], j) for i, j in matches], post, config)
        fire = cluster is not None
        if cluster is not None:
            members = {i for i, _ in matches}
            posts = [p.model_copy(update={"cluster": cluster.cluster_id}) if i in members else p
                     for i, p in enumerate(posts)]
    if cluster is not None:
        own = own.model_copy(update={"cluster": cluster.cluster_id})
        if fire:
            cluster = cluster.model_copy(update={"fired_count": cluster.count})
        clusters[cluster.cluster_id] = cluster
    updated = CoordinatedWindow(posts=(*posts, own)[-config.max_posts:], clusters=clusters)
    alert = _alert(cluster, post, config) if cluster is not None and fire else None
    return updated, alert, cluster is not None


def _is_new(post: ScoredPost, config: CoordinatedConfig) -> bool:
    first = post.author_first_seen
    return first is None or post.event.occurred_at_utc - first < timedelta(hours=config.new_account_hours)


def _candidate(
    own: WindowPost, matches: list[tuple[WindowPost, float]], post: ScoredPost, config: CoordinatedConfig
) -> CoordinatedCluster | None:
    """The cluster ``own`` forms with the window posts it matches, when they come from enough accounts
    and score high enough; else ``None``."""
    latest: dict[str, WindowPost] = {}
    for member, _ in sorted(matches, key=lambda m: m[0].at):
        if member.account != own.account:
            latest[member.account] = member
    if len(latest) < config.min_accounts - 1:
        return None
    nearest = sorted((m.at for m in latest.values()), reverse=True)[config.min_accounts - 2]
    span = (own.at - nearest).total_seconds()
    burst = 1.0 if span <= config.burst_seconds else config.burst_seconds / span
    accounts = [own, *latest.values()]
    known = [a.followers for a in accounts if a.followers is not None]
    members = [own, *(m for m, _ in matches)]
    spam = sum(m.spam for m in members) / len(members)
    new = sum(a.new_account for a in accounts) / len(accounts)
    low = sum(f < config.low_followers for f in known) / len(accounts)
    weights = (config.weight_burst, config.weight_spam, config.weight_new_accounts, config.weight_low_followers)
    score = sum(w * c for w, c in zip(weights, (burst, spam, new, low), strict=True)) / (sum(weights) or 1.0)
    if score < config.min_score:
        return None
    first = min(m.at for m in members)
    return CoordinatedCluster(
        cluster_id=hashlib.sha1(own.event_key.encode("utf-8")).hexdigest()[:16],
        first_at=first, last_at=own.at,
        accounts=tuple(a.account for a in sorted(accounts, key=lambda a: (a.at, a.account)))[:config.max_cluster_accounts],
        count=len(members), sample=(post.event.text or "")[:config.sample_chars],
        similarity=round(sum(j for _, j in matches) / len(matches), 3), span_seconds=span,
        followers_total=sum(known), followers_known=len(known), burst=round(burst, 3), spam=round(spam, 3),
        new_accounts=round(new, 3), low_followers=round(low, 3), score=round(score, 3),
    )


def _joined(cluster: CoordinatedCluster, own: WindowPost, config: CoordinatedConfig) -> CoordinatedCluster:
    """``cluster`` with one more post (and its account, when new and there is room)."""
    new_account = own.account not in cluster.accounts and len(cluster.accounts) < config.max_cluster_accounts
    known = new_account and own.followers is not None
    return cluster.model_copy(update={
        "last_at": max(cluster.last_at, own.at), "count": cluster.count + 1,
        "accounts": (*cluster.accounts, own.account) if new_account else cluster.accounts,
        "followers_total": cluster.followers_total + ((own.followers or 0) if known else 0),
        "followers_known": cluster.followers_known + known,
    })


def _alert(cluster: CoordinatedCluster, post: ScoredPost, config: CoordinatedConfig) -> Alert:
    event = post.event
    brand = event.brand or "-"
    evidence = CoordinatedEvidence(
        cluster_id=cluster.cluster_id, accounts=cluster.accounts[:config.evidence_accounts],
        account_count=len(cluster.accounts), count=cluster.count, similarity=cluster.similarity,
        sample_text=cluster.sample, span_seconds=cluster.span_seconds,
        mean_followers=round(cluster.followers_total / cluster.followers_known, 1) if cluster.followers_known else None,
        burst=cluster.burst, spam=cluster.spam, new_accounts=cluster.new_accounts,
        low_followers=cluster.low_followers, score=cluster.score, window_minutes=config.window_minutes,
        post=CoordinatedPost(**PostRef.of(post).model_dump()),
    )
    title = f"Coordinated accounts posting near-duplicates about {brand}: “{cluster.sample[:40]}”"
    return make_alert(rule=RULE, kind="coordinated", severity=config.severity, title=title,
                      dedup_key=f"{RULE}:{brand}:{cluster.cluster_id}", post=post,
                      evidence=evidence.model_dump(mode="json"))
