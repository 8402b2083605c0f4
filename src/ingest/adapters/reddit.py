"""Reddit listings -> ``SocialEvent``s. Pure: ``events_from_page(page_json, config, received_at, search=...)``.

The platform's documentation: the Reddit API (reddit.com/dev/api: ``GET /r/{subreddit}/comments``,
``GET [/r/{subreddit}]/search``, "listings": ``after`` / ``before`` / ``limit``), and the "JSON" page of
reddit-archive/reddit's wiki for the things. Every listing answers ``{"kind": "Listing", "data": {"after",
"before", "dist", "children": [{"kind": "t1" | "t3", "data": {...}}]}}``, newest first.

Mapping (platform ``reddit``, event_id = the thing's fullname ``name`` (``t1_...`` / ``t3_...``, so a
reply's ``parent_id`` names its parent's event id), author id = ``author_fullname`` (``t2_...``), handle =
``author``, occurred_at = ``created_utc``, url = ``https://www.reddit.com`` + ``permalink``):
| thing | kind | text | parent_id | thread_id | metrics |
|---|---|---|---|---|---|
| t1 (comment) on a link | comment | ``body`` | ``parent_id`` (``t3_...``) | ``link_id`` | likes = ``ups`` |
| t1 replying to a t1 | reply | ``body`` | ``parent_id`` (``t1_...``) | ``link_id`` | likes = ``ups`` |
| t3 (link / self post) | post (a subreddit listing) or mention (a search hit) | ``title`` + blank line + ``selftext`` | - | its own ``name`` | likes = ``ups``, replies = ``num_comments`` |
Skipped: other kinds, things whose author is ``[deleted]``, comments ``[removed]`` / ``[deleted]``. Invalid: a
thing without ``id`` or ``author_fullname``. ``next_page`` is ``data.after``; ``newest`` the first child's
fullname (the newest thing: listings are sorted new).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, SecretStr

from ingest.adapters.base import Skipped
from ingest.adapters.json_payload import bounded_raw, bounded_text, epoch, mapping_of, text_of
from ingest.adapters.polled import PageResult, PollConfig, count, read_items, required_object
from ingest.codec import event_from_dict
from ingest.contracts import EventKind, Platform, SocialEvent
from ingest.exceptions import InvalidEvent

DEFAULT_BASE_URL = "https://oauth.reddit.com"
DEFAULT_AUTH_URL = "https://www.reddit.com"
_GONE = frozenset({"[deleted]", "[removed]"})
Subreddit = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_]{1,20}$")]


class RedditConfig(PollConfig):
    """A Reddit poll connector for one brand: a "script" or "web" app's client id and secret
    (reddit.com/prefs/apps), read with the OAuth client-credentials grant (application-only, public data).
    Without ``subreddits`` the comment listings are skipped, without ``query`` the search."""

    base_url: str = Field(default=DEFAULT_BASE_URL, min_length=1)
    auth_url: str = Field(default=DEFAULT_AUTH_URL, min_length=1)
    """Where ``/api/v1/access_token`` lives (``www.reddit.com``; the API itself is ``oauth.reddit.com``)."""
    requests_per_15min: int = Field(default=600, ge=1, le=100_000)
    """Reddit allows 100 requests a minute per OAuth client; 600 per 15 minutes leaves room for others."""
    client_id: str = Field(min_length=1, max_length=64)
    client_secret: SecretStr = Field(min_length=1)
    user_agent: str = Field(min_length=1, max_length=256)
    """Reddit requires a unique, descriptive one: ``<platform>:<app id>:<version> (by /u/<username>)``."""
    subreddits: tuple[Subreddit, ...] = Field(default=(), max_length=100)
    """Subreddits whose new comments to poll (``/r/{sub}/comments``), e.g. ``("acme", "acmehelp")``."""
    query: str | None = Field(default=None, min_length=1, max_length=512)
    """A search query (``/search``, sort new), e.g. ``acme OR "acme corp"``."""
    search_subreddits: tuple[Subreddit, ...] = Field(default=(), max_length=100)
    """Restrict the search to these subreddits (``/r/a+b/search?restrict_sr=1``); empty searches all."""
    limit: int = Field(default=100, ge=1, le=100)


def events_from_page(page: Any, config: RedditConfig, received_at: datetime, *, search: bool = False) -> PageResult:
    """Map one listing (``search``: it answered a search, so a link is a mention of the brand, not a post
    in its community). Pure; raises ``InvalidEvent`` for an answer that is not a Listing."""
    body = required_object(page, "<payload>")
    if body.get("kind") != "Listing":
        raise InvalidEvent("kind", f"expected 'Listing', got {body.get('kind')!r}")
    data = mapping_of(body.get("data"))
    children = data.get("children")
    if not isinstance(children, list):
        raise InvalidEvent("data.children", "missing or not a list")

    def one(item: Any, where: str) -> SocialEvent | Skipped:
        return _thing(item, where, config, received_at, search=search)

    events, skipped, invalid = read_items(children, "data.children", one)
    first = mapping_of(mapping_of(children[0]).get("data")) if children else {}
    return PageResult(events, skipped, invalid, next_page=text_of(data.get("after")),
                      newest=_fullname(mapping_of(children[0]).get("kind"), first) if children else None)


def _fullname(kind: Any, thing: Any) -> str | None:
    thing = mapping_of(thing)
    name = text_of(thing.get("name"))
    thing_id = text_of(thing.get("id"))
    return name or (f"{kind}_{thing_id}" if isinstance(kind, str) and thing_id else None)


def _thing(item: Any, where: str, config: RedditConfig, received_at: datetime, *, search: bool) -> SocialEvent | Skipped:
    child = required_object(item, where)
    kind = child.get("kind")
    if kind not in ("t1", "t3"):
        return Skipped(f"{where} kind={kind}", "not a comment (t1) or link (t3)")
    thing = required_object(child.get("data"), f"{where}.data")
    fullname = _fullname(kind, thing)
    if fullname is None:
        raise InvalidEvent(f"{where}.data.name", "missing (and no id)")
    author = text_of(thing.get("author"))
    if author is None or author in _GONE:
        return Skipped(f"{where} {fullname}", "the author deleted their account or the thing")
    if kind == "t1" and text_of(thing.get("body")) in _GONE:
        return Skipped(f"{where} {fullname}", "a removed or deleted comment")
    author_id = text_of(thing.get("author_fullname"))
    if author_id is None:
        raise InvalidEvent(f"{where}.data.author_fullname", "missing")
    permalink = text_of(thing.get("permalink"))
    common: dict[str, Any] = {
        "event_id": fullname,
        "platform": Platform.REDDIT.value,
        "occurred_at": epoch(thing.get("created_utc")) or received_at,
        "received_at": received_at,
        "author": {"id": author_id, "handle": author},
        "brand": config.brand,
        "url": f"https://www.reddit.com{permalink}" if permalink and permalink.startswith("/") else None,
        "source": config.name,
        "raw": bounded_raw(child),
    }
    if kind == "t1":
        parent = text_of(thing.get("parent_id"))
        return event_from_dict({
            **common,
            "kind": (EventKind.REPLY if parent and parent.startswith("t1_") else EventKind.COMMENT).value,
            "text": bounded_text(thing.get("body")),
            "parent_id": parent,
            "thread_id": text_of(thing.get("link_id")),
            "metrics": {"likes": count(thing.get("ups"))},
        })
    title, selftext = text_of(thing.get("title")), text_of(thing.get("selftext"))
    return event_from_dict({
        **common,
        "kind": (EventKind.MENTION if search else EventKind.POST).value,
        "text": bounded_text("\n\n".join(part for part in (title, selftext) if part)),
        "thread_id": fullname,
        "metrics": {"likes": count(thing.get("ups")), "replies": count(thing.get("num_comments"))},
    })

