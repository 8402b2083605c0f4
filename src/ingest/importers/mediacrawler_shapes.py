"""Where MediaCrawler (github.com/NanmiCoder/MediaCrawler) writes each field, per platform: the record
shapes its ``store/<platform>/__init__.py`` functions build (``update_xhs_note``,
``update_xhs_note_comment``, ``update_douyin_aweme``, ``update_dy_aweme_comment``, ``update_weibo_note``,
``update_weibo_note_comment``, ``update_bilibili_video``, ``update_bilibili_video_comment``,
``update_bilibili_creator_dynamic``, ``update_kuaishou_video``, ``update_ks_video_comment``, and the
``ZhihuContent`` / ``ZhihuComment`` models of ``model/m_zhihu.py``), read 2026-08 (commit d6f7c5b) and in
the history before its 2026-07 change that replaced ``user_id`` with an anonymised ``creator_hash``.

Data only: ``ingest.importers.mediacrawler`` reads rows through these tables. Fields every platform
shares are not repeated: a comment's ``comment_id``, ``content``, ``parent_comment_id``,
``sub_comment_count``; everyone's ``user_id`` (or ``creator_hash``) and ``ip_location``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ingest.contracts import Platform


@dataclass(frozen=True)
class PostShape:
    """A note, video, answer or dynamic: the column of its id, its time (the first present wins), title
    and body, counts, URL (``url`` column, else ``url_template`` with ``{id}``), author name and handle."""

    id: str
    time: tuple[str, ...]
    body: tuple[str, ...]
    title: str | None = None
    likes: str | None = None
    shares: str | None = None
    replies: str | None = None
    url: str | None = None
    url_template: str | None = None
    nickname: tuple[str, ...] = ("nickname",)
    handle: tuple[str, ...] = ()


@dataclass(frozen=True)
class CommentShape:
    """A comment or sub-comment: the column naming the post it is under, its time, likes, author."""

    post: str
    time: tuple[str, ...] = ("create_time",)
    likes: tuple[str, ...] = ("like_count",)
    nickname: tuple[str, ...] = ("nickname",)
    handle: tuple[str, ...] = ()


@dataclass(frozen=True)
class CrawlerPlatform:
    """One platform MediaCrawler crawls: ``names`` are its directory under ``data/`` and its ``--platform``
    value (``xhs``, ``dy``, ...); ``posts`` the post shapes its content files hold."""

    platform: Platform
    names: tuple[str, ...]
    posts: tuple[PostShape, ...]
    comment: CommentShape


_DOUYIN_HANDLE = ("user_unique_id", "short_user_id")

PLATFORMS: tuple[CrawlerPlatform, ...] = (
    CrawlerPlatform(
        Platform.XIAOHONGSHU, ("xhs", "xiaohongshu"),
        posts=(PostShape(id="note_id", time=("time",), title="title", body=("desc",), likes="liked_count",
                         shares="share_count", replies="comment_count",
                         url_template="https://www.xiaohongshu.com/explore/{id}"),),
        comment=CommentShape(post="note_id"),
    ),
    CrawlerPlatform(
        Platform.DOUYIN, ("douyin", "dy"),
        posts=(PostShape(id="aweme_id", time=("create_time",), title="title", body=("desc",), likes="liked_count",
                         shares="share_count", replies="comment_count", url="aweme_url",
                         url_template="https://www.douyin.com/video/{id}", handle=_DOUYIN_HANDLE),),
        comment=CommentShape(post="aweme_id", handle=_DOUYIN_HANDLE),
    ),
    CrawlerPlatform(
        Platform.WEIBO, ("weibo", "wb"),
        posts=(PostShape(id="note_id", time=("create_time", "create_date_time"), body=("content",),
                         likes="liked_count", shares="shared_count", replies="comments_count", url="note_url",
                         url_template="https://m.weibo.cn/detail/{id}"),),
        comment=CommentShape(post="note_id", time=("create_time", "create_date_time"),
                             likes=("comment_like_count", "like_count")),
    ),
    CrawlerPlatform(
        Platform.BILIBILI, ("bili", "bilibili"),
        posts=(
            PostShape(id="video_id", time=("create_time",), title="title", body=("desc",), likes="liked_count",
                      shares="video_share_count", replies="video_comment", url="video_url",
                      url_template="https://www.bilibili.com/video/av{id}"),
            PostShape(id="dynamic_id", time=("pub_ts",), body=("text",), likes="total_liked",
                      shares="total_forwards", replies="total_comments",
                      url_template="https://t.bilibili.com/{id}", nickname=("user_name",)),
        ),
        comment=CommentShape(post="video_id"),
    ),
    CrawlerPlatform(
        Platform.KUAISHOU, ("kuaishou", "ks"),
        posts=(PostShape(id="video_id", time=("create_time",), title="title", body=("desc",), likes="liked_count",
                         url="video_url", url_template="https://www.kuaishou.com/short-video/{id}"),),
        comment=CommentShape(post="video_id", likes=()),
    ),
    CrawlerPlatform(
        Platform.ZHIHU, ("zhihu",),
        posts=(PostShape(id="content_id", time=("created_time",), title="title", body=("content_text", "desc"),
                         likes="voteup_count", replies="comment_count", url="content_url",
                         nickname=("user_nickname",), handle=("user_url_token",)),),
        comment=CommentShape(post="content_id", time=("publish_time",), nickname=("user_nickname",)),
    ),
)
"""Every platform the ``mediacrawler`` format imports (MediaCrawler's tieba has no sCRM platform)."""

BY_NAME: dict[str, CrawlerPlatform] = {
    name: shape for shape in PLATFORMS for name in (*shape.names, shape.platform.value)
}
"""A platform by MediaCrawler's name for it (``xhs``, ``dy``, ``wb``, ``bili``, ``ks``, ``zhihu``, the
``data/`` directory names) or by its sCRM name."""
