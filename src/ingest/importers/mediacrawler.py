"""The ``mediacrawler`` format: the files MediaCrawler writes for xhs, dy, wb, bili, ks and zhihu.

MediaCrawler saves to ``data/<platform>/<json|jsonl|csv>/<crawler>_<item>_<date>.<ext>`` (older releases:
``data/<platform>/[<n>_]<crawler>_<item>_<date>.csv`` and ``data/<platform>/json/...``): ``json`` files hold
one array of records, ``jsonl`` one record per line, ``csv`` a header row and one record per row (cells as
text). The platform comes from ``--platform`` or else a directory of the path (``xhs``, ``douyin``,
``weibo``, ``bili``, ``kuaishou``, ``zhihu``, or the ``--platform`` names ``dy``, ``wb``, ``ks``); a file
whose platform neither tells is refused (``UnreadableFile``). The item in the file name says what the
records are: ``contents`` / ``videos`` / ``dynamics`` posts, ``comments``, and ``creators`` / ``contacts``
(profiles and follower lists: skipped, they are no interactions or carry no time); a name without a known
item leaves it to each record (a ``comment_id`` makes a comment).

Each post -> a ``post`` with the platform's own id as ``event_id``; each comment -> a ``comment`` under
its post (``parent_id`` = ``thread_id`` = the post id) or, when ``parent_comment_id`` names another
comment, a ``reply`` to it. The author is ``user_id``, or the ``creator_hash`` MediaCrawler writes
instead since 2026-07 (as ``creator_hash:<hash>``: a pseudonym, stable across that release's exports but
never equal to the account's own id). Times (seconds or milliseconds) become ``occurred_at``; counts such
as ``1.2万`` or ``10万+`` are read as numbers; ``ip_location`` becomes ``location``; the record is ``raw``.
A record without an id, an author or a time is dead-lettered with the reason. Importing an export again
gives the same events (same ids), so nothing changes. Field tables: ``mediacrawler_shapes``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ingest.adapters.json_payload import bounded_raw, bounded_text, epoch, text_of
from ingest.codec import event_from_dict
from ingest.contracts import MAX_LOCATION_CHARS, EventKind, SocialEvent
from ingest.exceptions import InvalidEvent
from ingest.importers.base import ImportOptions, RowOutcome, UnreadableFile, as_mapping, source_of
from ingest.importers.mediacrawler_shapes import BY_NAME, CommentShape, CrawlerPlatform, PostShape
from ingest.importers.readers import Record, csv_records, json_array_records, jsonl_records

NAME = "mediacrawler"
POSTS, COMMENTS = "posts", "comments"
ITEMS = {"contents": POSTS, "videos": POSTS, "dynamics": POSTS, "comments": COMMENTS}
SKIPPED_ITEMS = {
    "creators": "a creator's profile, not an interaction",
    "contacts": "a follower-list entry: MediaCrawler records no time of the follow",
}
_NONE_TEXTS = {"", "none", "null", "nan"}
_NO_PARENT = {"0", "-1"}
_LOCATION_PREFIX = re.compile(r"^\s*(?:IP\s*属地[:：]?|发布于|来自)\s*")
_COUNT = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([万wW亿]?)\s*\+?\s*$")
_DECIMAL = re.compile(r"^\s*[0-9]+\.[0-9]*\s*$")
_SCALE = {"": 1, "万": 10_000, "w": 10_000, "W": 10_000, "亿": 100_000_000}


def platform_of(path: Path, options: ImportOptions) -> CrawlerPlatform:
    """The platform of a file: ``--platform`` if given, else the nearest directory of its path that names
    one. Raises ``UnreadableFile`` when neither tells, or the platform is not one MediaCrawler crawls."""
    if options.platform is not None:
        found = BY_NAME.get(options.platform.value)
        if found is None:
            raise UnreadableFile(path, f"MediaCrawler does not crawl {options.platform.value}")
        return found
    for part in reversed(path.parent.parts):
        found = BY_NAME.get(part.lower())
        if found is not None:
            return found
    names = ", ".join(sorted({name for shape in BY_NAME.values() for name in shape.names}))
    raise UnreadableFile(path, f"no directory of the path names the platform ({names}); give --platform")


def item_of(path: Path) -> str | None:
    """What the file name says its records are: ``contents``, ``videos``, ``dynamics``, ``comments``,
    ``creators``, ``contacts``, or ``None``."""
    for token in path.stem.lower().split("_"):
        if token in ITEMS or token in SKIPPED_ITEMS:
            return token
    return None


def read(path: Path, options: ImportOptions) -> Iterator[RowOutcome]:
    """Stream the file's records as outcomes (by suffix: ``.json`` array, ``.jsonl``, ``.csv``).
    ``UnreadableFile`` (raised on the first ``next``) for an unknown platform or suffix. Blocks on I/O."""
    crawler = platform_of(path, options)
    item = item_of(path)
    source = source_of(NAME, path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with csv_records(path) as (_, records):
            for record in records:
                yield map_record(record, crawler, item, source=source, options=options)
        return
    if suffix not in (".json", ".jsonl"):
        raise UnreadableFile(path, f"MediaCrawler writes .json, .jsonl and .csv files, not {suffix or 'no suffix'}")
    for record in json_array_records(path) if suffix == ".json" else jsonl_records(path):
        yield map_record(record, crawler, item, source=source, options=options)


def map_record(
    record: Record, crawler: CrawlerPlatform, item: str | None, *, source: str, options: ImportOptions
) -> RowOutcome:
    """Pure: one MediaCrawler record -> its event, a skip (profiles, follower lists) or the error that
    dead-letters it."""
    if item in SKIPPED_ITEMS:
        return RowOutcome(record.number, record.original, skipped=SKIPPED_ITEMS[item])
    try:
        if record.error is not None:
            raise record.error
        row = as_mapping(record.value, record.number)
        event = _event(row, crawler, ITEMS.get(item or ""), source=source, options=options)
    except InvalidEvent as exc:
        return RowOutcome(record.number, record.original, error=exc)
    if isinstance(event, str):
        return RowOutcome(record.number, record.original, skipped=event)
    return RowOutcome(record.number, record.original, event=event)


def _event(
    row: Mapping[str, Any], crawler: CrawlerPlatform, item: str | None, *, source: str, options: ImportOptions
) -> SocialEvent | str:
    if item == COMMENTS or (item is None and "comment_id" in row):
        fields = _comment(row, crawler.comment)
    else:
        found = next(((s, i) for s in crawler.posts if (i := _text(row, s.id)) is not None), None)
        if found is None:
            if item is None and "up_id" in row and "fan_id" in row:
                return SKIPPED_ITEMS["contacts"]
            if item is None and _author(row) is not None:
                return SKIPPED_ITEMS["creators"]
            ids = " / ".join(s.id for s in crawler.posts)
            raise InvalidEvent(ids, f"a {crawler.platform.value} post record without {ids}")
        fields = _post(row, *found)
    author = _author(row)
    if author is None:
        raise InvalidEvent("user_id", "no user_id (nor creator_hash) names the author")
    fields["author"] = {**fields.get("author", {}), "id": author}
    payload = {
        **fields,
        "platform": crawler.platform.value,
        "brand": options.brand,
        "location": _location(row),
        "source": source,
        "raw": bounded_raw(dict(row)),
    }
    return event_from_dict(payload, received_at=options.received_at)


def _post(row: Mapping[str, Any], shape: PostShape, post_id: str) -> dict[str, Any]:
    return {
        "event_id": post_id,
        "kind": EventKind.POST.value,
        "occurred_at": _occurred_at(row, shape.time),
        "text": bounded_text(_joined(_text(row, shape.title) if shape.title else None, _first(row, shape.body))),
        "url": _first(row, (shape.url,) if shape.url else ()) or _url(shape, post_id),
        "metrics": {"likes": _count(row, shape.likes), "shares": _count(row, shape.shares),
                    "replies": _count(row, shape.replies)},
        "author": _names(row, shape.nickname, shape.handle),
    }


def _comment(row: Mapping[str, Any], shape: CommentShape) -> dict[str, Any]:
    comment_id = _text(row, "comment_id")
    if comment_id is None:
        raise InvalidEvent("comment_id", "a comment record without comment_id")
    post_id = _text(row, shape.post)
    if post_id is None:
        raise InvalidEvent(shape.post, f"comment {comment_id} names no post ({shape.post})")
    parent = _text(row, "parent_comment_id")
    is_reply = parent is not None and parent not in _NO_PARENT and parent != comment_id
    return {
        "event_id": comment_id,
        "kind": (EventKind.REPLY if is_reply else EventKind.COMMENT).value,
        "occurred_at": _occurred_at(row, shape.time),
        "text": bounded_text(_text(row, "content")),
        "parent_id": parent if is_reply else post_id,
        "thread_id": post_id,
        "metrics": {"likes": max((_count(row, name) for name in shape.likes), default=0),
                    "replies": _count(row, "sub_comment_count")},
        "author": _names(row, shape.nickname, shape.handle),
    }


def _author(row: Mapping[str, Any]) -> str | None:
    user_id = _text(row, "user_id")
    if user_id is not None:
        return user_id
    hashed = _text(row, "creator_hash")
    return f"creator_hash:{hashed}" if hashed is not None else None


def _names(row: Mapping[str, Any], nickname: tuple[str, ...], handle: tuple[str, ...]) -> dict[str, Any]:
    return {"display_name": _cut(_first(row, nickname), 512), "handle": _cut(_first(row, handle), 256)}


def _text(row: Mapping[str, Any], name: str) -> str | None:
    """A cell as stripped text; ``None`` for absent, blank and the ``None`` / ``null`` MediaCrawler writes
    when Python's ``str(None)`` reached a file."""
    text = text_of(row.get(name))
    if text is None or text.strip().lower() in _NONE_TEXTS:
        return None
    return text.strip()


def _first(row: Mapping[str, Any], names: tuple[str, ...]) -> str | None:
    return next((text for text in (_text(row, name) for name in names) if text is not None), None)


def _joined(title: str | None, body: str | None) -> str | None:
    """A post's title and body as one text; a title that only repeats the body's start is left out."""
    if not title:
        return body
    if not body or body.startswith(title):
        return body or title
    return f"{title}\n{body}"


def _url(shape: PostShape, post_id: str) -> str | None:
    return shape.url_template.format(id=post_id) if shape.url_template else None


def _occurred_at(row: Mapping[str, Any], names: tuple[str, ...]) -> str:
    for name in names:
        value = row.get(name)
        if isinstance(value, str) and _DECIMAL.match(value):
            value = float(value)
        moment = epoch(int(value) if isinstance(value, float) else value)
        if moment is not None:
            return moment.isoformat()
    raise InvalidEvent(names[0], f"no time in {' / '.join(names)} (Unix seconds or milliseconds)")


def _count(row: Mapping[str, Any], name: str | None) -> int:
    """A count as MediaCrawler writes it: a number, digits, ``1,234``, ``1.2万``, ``10万+``; 0 otherwise."""
    if name is None:
        return 0
    value = row.get(name)
    if isinstance(value, bool):
        return 0
    if isinstance(value, int | float):
        return max(0, int(value))
    if not isinstance(value, str):
        return 0
    match = _COUNT.match(value.replace(",", ""))
    return int(float(match.group(1)) * _SCALE[match.group(2)]) if match else 0


def _location(row: Mapping[str, Any]) -> str | None:
    text = _text(row, "ip_location")
    if text is None:
        return None
    return _cut(_LOCATION_PREFIX.sub("", text).strip(), MAX_LOCATION_CHARS)


def _cut(text: str | None, limit: int) -> str | None:
    return text[:limit] if text else None
