"""Script-based language identification: zh-Hans, zh-Hant, en, mixed, other. Pure and fast."""

from __future__ import annotations

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


def _is_han(char: str) -> bool:
    code = ord(char)
    return 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0xF900 <= code <= 0xFAFF


def detect_language(text: str) -> Language:
    """Classify ``text`` by script. Chinese with more Traditional-only than Simplified-only characters is
    ``zh-Hant``; Latin letters and Han together (each >= 20% of letters) is ``mixed``."""
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
    han_share, latin_share = han / letters, latin / letters
    if han_share >= 0.2 and latin_share >= 0.2 and latin >= 4:
        return "mixed"
    if han_share >= 0.5 or (han and han >= latin):
        return "zh-Hant" if trad > simp else "zh-Hans"
    if latin_share >= 0.5:
        return "en"
    return "other"
