"""Traditional <-> Simplified Chinese conversion (OpenCC).

The sentiment heads are trained on Simplified text; converting zh-Hant to Simplified first recovers most of
the accuracy lost on Traditional posts (see docs/enrichment.md). Without the ``opencc`` package the
functions return the text unchanged (a logged, measurable degradation, never an error).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any


@lru_cache(maxsize=2)
def _converter(config: str) -> Any | None:
    try:
        from opencc import OpenCC  # type: ignore[import-untyped]
    except ImportError:
        return None
    return OpenCC(config)


def opencc_available() -> bool:
    return _converter("t2s") is not None


def to_simplified(text: str) -> str:
    """Traditional -> Simplified; identity for text without Traditional characters. Pure, never raises."""
    conv = _converter("t2s")
    return conv.convert(text) if conv is not None and text else text


def to_traditional(text: str) -> str:
    """Simplified -> Traditional (used to build zh-Hant test sets)."""
    conv = _converter("s2t")
    return conv.convert(text) if conv is not None and text else text


def head_input(text: str, language: str) -> str:
    """What the heads read for a text of ``language``: zh-Hant and mixed text converted to Simplified (the
    heads are trained on Simplified Chinese); anything else unchanged."""
    return to_simplified(text) if language in ("zh-Hant", "mixed") else text

