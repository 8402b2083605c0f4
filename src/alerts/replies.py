"""Suggested replies: an editable reply per alert, chosen from templates by intent, topic and language.

Templates ship in ``alerts/data/reply_templates.json``; a file given by ``AlertingConfig.reply_templates``
(same shape) adds templates and replaces packaged ones with the same id. Placeholders ``{author}`` and
``{brand}`` are filled literally (no format-string evaluation of post text).
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from alerts.contracts import Alert, ReplyLanguage, SuggestedReply

RULE_INTENTS = {
    "negative_post": "complaint",
    "risk_terms": "complaint",
    "negative_velocity": "crisis",
    "negative_spike": "crisis",
    "purchase_intent": "purchase_intent",
    "unanswered_question": "question",
    "influencer_positive": "thanks",
    "advocate_content": "thanks",
}


class ReplyTemplate(BaseModel):
    """One template: used for ``intent`` in ``language``, for one ``topic`` or (``None``) any."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    intent: str
    topic: str | None = None
    language: ReplyLanguage
    text: str


def _parse(raw: str) -> list[ReplyTemplate]:
    return [ReplyTemplate.model_validate(t) for t in json.loads(raw)["templates"]]


@lru_cache(maxsize=8)
def load_templates(override_path: str | None = None) -> tuple[ReplyTemplate, ...]:
    """Packaged templates, with ``override_path``'s merged over them by id. Cached; raises ``OSError`` or
    ``ValueError`` on an unreadable or invalid override file."""
    packaged = resources.files("alerts").joinpath("data/reply_templates.json").read_text(encoding="utf-8")
    by_id = {t.id: t for t in _parse(packaged)}
    if override_path:
        by_id.update({t.id: t for t in _parse(Path(override_path).read_text(encoding="utf-8"))})
    return tuple(by_id.values())


def reply_language(language: str, text: str | None) -> ReplyLanguage:
    """The reply language for a post: its own when it is one we write in, else Chinese when the text has
    CJK characters, else English."""
    if language in ("zh-Hans", "zh-Hant", "en"):
        return language  # type: ignore[return-value]
    if text and any("\u4e00" <= ch <= "\u9fff" for ch in text):
        return "zh-Hans"
    return "en"


def suggest(
    alert: Alert, templates: tuple[ReplyTemplate, ...], *, author: str | None = None, text: str | None = None
) -> SuggestedReply | None:
    """Pure. The best template for the alert's rule-intent, topic and language (topic-specific first, then
    generic; the language falls back to English), filled in; ``None`` when no template fits."""
    intent = RULE_INTENTS.get(alert.rule)
    if intent is None:
        return None
    language = reply_language(alert.language, text)
    for lang in dict.fromkeys((language, "en")):
        candidates = [t for t in templates if t.intent == intent and t.language == lang]
        chosen = next((t for t in candidates if t.topic and t.topic == alert.topic), None) or next(
            (t for t in candidates if t.topic is None), None
        )
        if chosen is not None:
            filled = chosen.text.replace("{author}", f"@{author}" if author else "").replace(
                "{brand}", alert.brand or ""
            )
            return SuggestedReply(template_id=chosen.id, language=chosen.language, text=filled)
    return None
