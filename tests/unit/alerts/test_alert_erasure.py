"""``alerts.erasure.Redaction``: the person's keys and names are replaced where they stand on their own, never
inside a longer id (another person's), and exact values (a post's text) go whole."""

from __future__ import annotations

from alerts.erasure import ERASED, Redaction


def test_a_redaction_replaces_the_persons_strings_and_never_part_of_a_strangers_id() -> None:
    redaction = Redaction(keys=("weibo:123",), exact=frozenset({"my battery died again", "123"}),
                          needles=("weibo:123", "Ximena Q"), phrases=("my battery died again",))
    incident = {"dedup": "opportunity:praise:acme:weibo:123", "title": "Praise from Ximena Q (weibo:123)",
                "reply": "@Ximena Q您好，很抱歉",
                "summary": "“my battery died again after the update”",
                "evidence": {"text": "my battery died again", "author_id": "123", "count": 3},
                "others": ["weibo:1234", "weibo:123-b", "Ximena Quinn"]}

    assert redaction.names(incident)
    assert redaction.walk(incident) == {
        "dedup": f"opportunity:praise:acme:{ERASED}", "title": f"Praise from {ERASED} ({ERASED})",
        "reply": f"@{ERASED}您好，很抱歉",
        "summary": f"“{ERASED} after the update”",
        "evidence": {"text": ERASED, "author_id": ERASED, "count": 3},
        "others": ["weibo:1234", "weibo:123-b", "Ximena Quinn"],
    }
    assert not redaction.names({"dedup": "opportunity:praise:acme:weibo:1234", "title": "from weibo:123-b"})
