"""Event kinds: their fixed order, short aliases, and each platform's mix of kinds."""

from __future__ import annotations

from ingest.contracts import EventKind, Platform

# post, mention, comment, reply, like, share, follow, chat_message, review: no unfollows (a withdrawal of consent)
KINDS: tuple[EventKind, ...] = tuple(kind for kind in EventKind if kind is not EventKind.UNFOLLOW)
POST, MENTION, COMMENT, REPLY, LIKE, SHARE, FOLLOW, CHAT, REVIEW = KINDS

# fmt: off
KIND_WEIGHTS: dict[Platform, tuple[int, ...]] = {  # relative weights in KINDS order
    Platform.WEIBO:       (10, 14, 18, 10, 28, 12,  6,  0,  2),
    Platform.WECHAT:      ( 0,  0, 20,  5, 15, 10, 10, 40,  0),
    Platform.DOUYIN:      ( 8,  4, 25, 12, 35,  6,  8,  0,  4),
    Platform.XIAOHONGSHU: (15,  8, 20, 10, 25,  5,  5,  0, 12),
    Platform.ZHIHU:       (18,  5, 22, 15, 25,  3, 10,  0,  2),
    Platform.X:           (12, 15,  0, 22, 25, 12,  6,  0,  0),
    Platform.REDDIT:      (15,  3, 35, 20, 25,  0,  2,  0,  0),
    Platform.YOUTUBE:     ( 3,  0, 40, 20, 25,  2, 10,  0,  0),
    Platform.FACEBOOK:    ( 8,  5, 25, 12, 30, 10,  5,  0,  5),
    Platform.INSTAGRAM:   ( 8,  8, 30, 10, 35,  1,  8,  0,  0),
}
# fmt: on
