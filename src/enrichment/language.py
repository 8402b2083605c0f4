"""Script-based language identification: zh-Hans, zh-Hant, en, mixed, other. Pure and fast."""

from __future__ import annotations

import re

from enrichment.contracts import Language

# Characters that exist only in Traditional Chinese (their Simplified forms differ); enough to tell the
# scripts apart on short social posts.
_TRADITIONAL_ONLY = frozenset(
    "們這個來說對會時為國與關開問題買賣貨發處後點給還們當們寫讓認證實點電話號質務優惠劃體驗應該視頻廣網頁態"
    "讚轉寶貝鐘錢銷價費運輸遞麼麵歡樂氣線車東產隊員見記語謝請錯難雙歲條際機幾從聲總傳門書變師邊區層報紙飯館"
)
_SIMPLIFIED_ONLY = frozenset(
    "们这个来说对会时为国与关开问题买卖货发处后点给还当写让认证实电话号质务优惠划体验应该视频广网页态赞转宝"
    "贝钟钱销价费运输递么面欢乐气线车东产队员见记语谢请错难双岁条际机几从声总传门书变师边区层报纸饭馆"
)


_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'’.+-]*|[0-9]+[A-Za-z][A-Za-z0-9'’.+-]*")
_HAN_PER_WORD = 1.6
"""Han characters per word in Chinese social text (most words are one or two characters)."""
_MIXED_LATIN_SHARE = (0.25, 0.85)
"""A text is bilingual when Latin words make up this share of its words (Han words estimated)..."""
_MIXED_MIN_FUNCTION_WORDS = 2
"""... and it has an English clause, not just English nouns and adjectives in a Chinese sentence: at least
this many English function words."""
_FUNCTION_WORDS = frozenset(
    ["i", "me", "my", "we", "our", "you", "your", "he", "she", "it", "its", "they", "them", "their", "this", "that", "these", "those", "the", "a", "an", "is", "are", "was", "were", "be", "been", "am", "do", "does", "did", "have", "has", "had", "will", "would", "can", "could", "should", "to", "of", "in", "on", "at", "for", "with", "from", "by", "and", "or", "but", "not", "no", "so", "very", "too", "just", "than", "then", "there", "here", "what", "which", "who", "when", "where", "why", "how", "if", "because"]
)


def _is_han(char: str) -> bool:
    code = ord(char)
    return 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0xF900 <= code <= 0xFAFF


def _latin_words(text: str) -> tuple[int, int]:
    """Latin words and English function words among them, counting a run of names (capitalised or with
    digits: ``ACME X9 Pro Max``, ``iPhone 15``) as one word: a product or brand name is not English."""
    words = function = 0
    in_name = False
    for token in text.split():
        for match in _LATIN_WORD.finditer(token):
            word = match.group()
            lowered = word.lower()
            function += lowered in _FUNCTION_WORDS
            name = lowered not in _FUNCTION_WORDS and (
                word[0].isupper() or any(c.isdigit() for c in word) or any(c.isupper() for c in word[1:]))
            if name and in_name:
                continue
            words += 1
            in_name = name
        if not _LATIN_WORD.fullmatch(token):
            in_name = False
    return words, function


def detect_language(text: str) -> Language:
    """Classify ``text`` by script, in words: Chinese naming a Latin-letter brand or product (``ACME X9 Pro``,
    ``iPhone 15``) or carrying English words (``求 link！哪里有 discount？``) is Chinese; ``mixed`` is for
    genuinely bilingual text: an English clause (two or more function words such as "is", "the", "my") beside
    Chinese, Latin words making up 25-85 % of the words (Han words estimated at 1.6 characters each).
    Chinese with more Traditional-only than Simplified-only characters is ``zh-Hant``. Pure."""
    han = latin = other = trad = simp = 0
    for char in text:
        if _is_han(char):
            han += 1
            trad += char in _TRADITIONAL_ONLY
            simp += char in _SIMPLIFIED_ONLY
        elif char.isascii() and char.isalpha():
            latin += 1
        elif char.isalpha():
            other += 1
    letters = han + latin + other
    if letters == 0:
        return "other"
    chinese: Language = "zh-Hant" if trad > simp else "zh-Hans"
    if han == 0:
        return "en" if latin / letters >= 0.5 else "other"
    latin_words, function_words = _latin_words(text) if latin else (0, 0)
    han_words = han / _HAN_PER_WORD
    share = latin_words / (latin_words + han_words)
    low, high = _MIXED_LATIN_SHARE
    if function_words >= _MIXED_MIN_FUNCTION_WORDS and low <= share <= high:
        return "mixed"
    if share > high and latin_words > han_words:
        return "en"
    if han >= other:
        return chinese
    return "other"
