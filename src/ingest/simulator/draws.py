"""Seeded draws and id spelling shared by the population and the payload shapes.

Weighted picks over cumulative weights, random strings and fixed-width encodings over the alphabets
platform ids use. Pure apart from the ``random.Random`` passed in.
"""

from __future__ import annotations

import bisect
import random

B62 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
B36 = B62[:36]
HEX = B62[:16]


def cumulative(weights: tuple[float, ...] | list[float]) -> list[float]:
    """Running totals of ``weights``: the ``cum`` argument of ``pick``."""
    out, total = [], 0.0
    for w in weights:
        total += w
        out.append(total)
    return out


def pick(rng: random.Random, cum: list[float]) -> int:
    """An index drawn with probability proportional to its weight in ``cum``; one ``rng.random()`` draw."""
    return bisect.bisect_right(cum, rng.random() * cum[-1])


def chars(rng: random.Random, alphabet: str, n: int) -> str:
    """``n`` random characters of ``alphabet``."""
    return "".join(rng.choice(alphabet) for _ in range(n))


def enc(value: int, alphabet: str, width: int) -> str:
    """The low ``width`` digits of ``value`` in base ``len(alphabet)``, most significant first."""
    base = len(alphabet)
    out = []
    for _ in range(width):
        value, digit = divmod(value, base)
        out.append(alphabet[digit])
    return "".join(reversed(out))
