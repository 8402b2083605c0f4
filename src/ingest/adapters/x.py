"""X API v2 tweet listings -> ``SocialEvent``s. Pure: ``events_from_page(page_json, config, received_at)``.

The platform's documentation: "GET /2/tweets/search/recent" and "GET /2/users/:id/mentions" (developer.x.com
/en/docs/x-api/tweets/search/api-reference/get-tweets-search-recent, .../timelines/api-reference/
get-users-id-mentions). Both answer ``{"data": [tweet...], "includes": {"users": [user...]}, "meta":
{"newest_id", "oldest_id", "result_count", "next_token"?}}``, newest first; ``data`` is absent when nothing
matched; ``errors`` may list referenced tweets that could not be expanded (not an error of the page).

Mapping (platform ``x``, event_id = the tweet ``id``, author id = ``author_id``, the author's ``username``,
``name``, ``public_metrics.followers_count`` and ``verified`` from ``includes.users`` (requested with
``expansions=author_id&user.fields=public_metrics,verified``), occurred_at = ``created_at``, text =
``note_tweet.text`` (a long post) or ``text``, lang = ``lang`` unless ``und``, thread_id =
``conversation_id``, url = ``https://x.com/<username>/status/<id>``):
| ``referenced_tweets`` | kind | parent_id |
|---|---|---|
| ``replied_to`` | reply | the tweet replied to |
| ``quoted`` | share (with the quoting text) | the quoted tweet |
| ``retweeted`` | share | the retweeted tweet |
| none | mention (found by the brand's query or mentions timeline) | - |
metrics: likes = ``like_count``, shares = ``retweet_count + quote_count``, replies = ``reply_count``.
Skipped: a tweet by the connector's own account (``user_id``). Invalid: a tweet without ``id`` or
``author_id``. ``PageResult.newest`` is ``meta.newest_id`` and ``next_page`` is ``meta.next_token``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import Field, SecretStr

from ingest.adapters.base import Skipped
from ingest.adapters.json_payload import bounded_raw, bounded_text, epoch, list_of, mapping_of, text_of
from ingest.adapters.polled import PageResult, PollConfig, count, read_items, required_object
from ingest.codec import event_from_dict
from ingest.contracts import EventKind, Platform, SocialEvent
from ingest.exceptions import InvalidEvent

DEFAULT_BASE_URL = "https://api.x.com"
_REFERENCE_KINDS = (("replied_to", EventKind.REPLY), ("quoted", EventKind.SHARE), ("retweeted", EventKind.SHARE))
"""Which ``referenced_tweets`` type decides the kind, first match wins (a reply that quotes is a reply)."""


class XConfig(PollConfig):
    """An X API v2 poll connector for one brand: an app's bearer token (developer portal > Projects & Apps >
    Keys and tokens) and what to poll. Without ``query`` the recent search is skipped, without ``user_id``
    the mentions timeline."""

    base_url: str = Field(default=DEFAULT_BASE_URL, min_length=1)
    requests_per_15min: int = Field(default=60, ge=1, le=100_000)
    """60: the Basic tier's recent-search limit per app (Pro: 450); each endpoint is counted in it."""
    bearer_token: SecretStr = Field(min_length=1)
    query: str | None = Field(default=None, min_length=1, max_length=4096)
    """A recent-search query, e.g. ``acme OR @acme -is:retweet`` (512 characters on Basic, 4096 on Pro)."""
    user_id: str | None = Field(default=None, pattern=r"^[0-9]{1,19}$")
    """The brand account's numeric user id, for the mentions timeline (and to skip its own tweets)."""
    max_results: int = Field(default=100, ge=10, le=100)
    """Tweets per page (search: 10-100, mentions: 5-100)."""


def events_from_page(page: Any, config: XConfig, received_at: datetime) -> PageResult:
    """Map one recent-search or mentions answer. Pure; raises ``InvalidEvent`` for an answer that is not a
    tweets listing (not an object, ``data`` not a list, neither ``data`` nor ``meta``)."""
    body = required_object(page, "<payload>")
    if "data" not in body and "meta" not in body:
        raise InvalidEvent("<payload>", "neither data nor meta: not a tweets listing")
    data = body.get("data", [])
    if not isinstance(data, list):
        raise InvalidEvent("data", f"expected a list of tweets, got {type(data).__name__}")
    users: dict[str, Mapping[str, Any]] = {}
    for user in map(mapping_of, list_of(mapping_of(body.get("includes")).get("users"))):
        user_id = text_of(user.get("id"))
        if user_id is not None:
            users[user_id] = user

    def one(item: Any, where: str) -> SocialEvent | Skipped:
        return _tweet(item, where, users, config, received_at)

    events, skipped, invalid = read_items(data, "data", one)
    meta = mapping_of(body.get("meta"))
    return PageResult(events, skipped, invalid, next_page=text_of(meta.get("next_token")),
                      newest=text_of(meta.get("newest_id")))


def _tweet(
    item: Any, where: str, users: Mapping[str, Mapping[str, Any]], config: XConfig, received_at: datetime
) -> SocialEvent | Skipped:
    tweet = required_object(item, where)
    tweet_id = text_of(tweet.get("id"))
    if tweet_id is None:
        raise InvalidEvent(f"{where}.id", "missing")
    author_id = text_of(tweet.get("author_id"))
    if author_id is None:
        raise InvalidEvent(f"{where}.author_id", "missing (request expansions=author_id)")
    if author_id == config.user_id:
        return Skipped(f"{where} id={tweet_id}", "a tweet by the connector's own account")
    user = users.get(author_id, {})
    username = text_of(user.get("username"))
    kind, parent = EventKind.MENTION, None
    references = {text_of(mapping_of(ref).get("type")): text_of(mapping_of(ref).get("id"))
                  for ref in list_of(tweet.get("referenced_tweets"))}
    for name, reference_kind in _REFERENCE_KINDS:
        if references.get(name):
            kind, parent = reference_kind, references[name]
            break
    metrics = mapping_of(tweet.get("public_metrics"))
    lang = text_of(tweet.get("lang"))
    raw: dict[str, Any] = {"tweet": tweet, "author": dict(user)} if user else {"tweet": tweet}
    return event_from_dict({
        "event_id": tweet_id,
        "platform": Platform.X.value,
        "kind": kind.value,
        "occurred_at": epoch(tweet.get("created_at")) or received_at,
        "received_at": received_at,
        "author": {
            "id": author_id,
            "handle": username,
            "display_name": text_of(user.get("name")),
            "followers": _followers(user),
            "verified": user.get("verified") is True,
        },
        "brand": config.brand,
        "text": bounded_text(mapping_of(tweet.get("note_tweet")).get("text")) or bounded_text(tweet.get("text")),
        "lang": lang if lang and lang != "und" and len(lang) <= 35 else None,
        "url": f"https://x.com/{username or 'i/web'}/status/{tweet_id}",
        "parent_id": parent,
        "thread_id": text_of(tweet.get("conversation_id")),
        "metrics": {
            "likes": count(metrics.get("like_count")),
            "shares": count(metrics.get("retweet_count")) + count(metrics.get("quote_count")),
            "replies": count(metrics.get("reply_count")),
        },
        "source": config.name,
        "raw": bounded_raw(raw),
    })


def _followers(user: Mapping[str, Any]) -> int | None:
    value = mapping_of(user.get("public_metrics")).get("followers_count")
    return count(value) if value is not None else None
