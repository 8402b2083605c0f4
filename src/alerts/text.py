"""Text folding for phrase matching: NFKC (full-width digits and letters), lower case, and traditional to
simplified Chinese — through OpenCC when it is installed, else a small built-in map of the characters the
packaged phrase lists need. Pure; never raises."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

# Traditional -> simplified for characters used by risk, purchase and question phrases (fallback only).
_T2S = str.maketrans({
    "質": "质", "題": "题", "問": "问", "訴": "诉", "維": "维", "權": "权", "聲": "声", "師": "师", "貨": "货", "詐": "诈",
    "薦": "荐", "換": "换", "機": "机", "買": "买", "裡": "里", "裏": "里", "嗎": "吗", "麼": "么", "號": "号", "發": "发",
    "壞": "坏", "價": "价", "錢": "钱", "後": "后", "這": "这", "個": "个", "們": "们", "說": "说", "還": "还", "沒": "没",
    "應": "应", "該": "该", "離": "离", "開": "开", "點": "点", "產": "产", "對": "对", "處": "处", "謝": "谢", "熱": "热",
    "愛": "爱", "讚": "赞", "滿": "满", "錯": "错", "爛": "烂", "遞": "递", "務": "务", "願": "愿", "啟": "启", "動": "动",
    "關": "关", "閉": "闭", "費": "费", "電": "电", "話": "话", "燒": "烧", "訂": "订", "單": "单", "門": "门", "長": "长",
    "車": "车", "馬": "马", "見": "见", "鐘": "钟", "讓": "让", "為": "为", "與": "与", "來": "来", "時": "时", "間": "间",
    "實": "实", "際": "际", "體": "体", "驗": "验", "溫": "温", "違": "违", "規": "规", "險": "险", "爭": "争", "議": "议",
    "報": "报", "導": "导",
})


@lru_cache(maxsize=1)
def _opencc() -> Any | None:
    try:
        from opencc import OpenCC  # type: ignore[import-untyped]
    except ImportError:
        return None
    try:
        return OpenCC("t2s")
    except Exception:  # a broken install degrades to the built-in map
        return None


@lru_cache(maxsize=16_384)
def fold(text: str) -> str:
    """``text`` normalised for matching: NFKC, case-folded, traditional characters made simplified.
    Cached: phrases are folded for every post, and several detectors fold the same post."""
    if not text:
        return ""
    folded = unicodedata.normalize("NFKC", text).casefold()
    converter = _opencc()
    if converter is not None:
        try:
            return str(converter.convert(folded))
        except Exception:
            pass
    return folded.translate(_T2S)


def matches(text: str, phrases: Iterable[str]) -> list[str]:
    """The phrases (as configured) found in ``text``, compared folded; in configuration order. ASCII-word
    phrases match on word boundaries (``sue`` does not match ``issue``)."""
    haystack = fold(text)
    found = []
    for phrase in phrases:
        needle = fold(phrase)
        if needle and _contains(haystack, needle):
            found.append(phrase)
    return found


def _contains(haystack: str, needle: str) -> bool:
    if not needle.isascii() or not needle[:1].isalnum():
        return needle in haystack
    start = haystack.find(needle)
    while start >= 0:
        end = start + len(needle)
        before = haystack[start - 1] if start else " "
        after = haystack[end] if end < len(haystack) else " "
        if not (before.isascii() and before.isalnum()) and not (after.isascii() and after.isalnum()):
            return True
        start = haystack.find(needle, start + 1)
    return False
