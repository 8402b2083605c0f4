"""Pages of the polled platforms' APIs in the shape of their public documentation, for the adapter and
poller tests (each builder names its page). Ids are numbered so a test can ask for "tweets 7..5"."""

from __future__ import annotations

from typing import Any

# --- X API v2: developer.x.com/en/docs/x-api/tweets/search/api-reference/get-tweets-search-recent --------


def x_tweet(n: int, *, author: str = "2244994945", refs: list[dict[str, str]] | None = None) -> dict[str, Any]:
    tweet: dict[str, Any] = {
        "author_id": author,
        "conversation_id": str(1_600_000_000_000_000_000 + n),
        "created_at": f"2026-11-23T08:{n % 60:02d}:00.000Z",
        "edit_history_tweet_ids": [str(1_600_000_000_000_000_000 + n)],
        "id": str(1_600_000_000_000_000_000 + n),
        "lang": "en",
        "public_metrics": {"retweet_count": 2, "reply_count": 1, "like_count": 7, "quote_count": 1,
                           "bookmark_count": 0, "impression_count": 120},
        "text": f"@acme tweet number {n}",
    }
    if refs is not None:
        tweet["referenced_tweets"] = refs
    return tweet


X_USER = {"id": "2244994945", "name": "Developers", "username": "XDevelopers", "verified": True,
          "public_metrics": {"followers_count": 583423, "following_count": 2048, "tweet_count": 14052,
                             "listed_count": 1672, "like_count": 2135}}


def x_page(numbers: list[int], *, next_token: str | None = None) -> dict[str, Any]:
    """A recent-search / mentions answer holding tweets ``numbers`` (newest first, as X sorts them)."""
    if not numbers:
        return {"meta": {"result_count": 0}}
    meta: dict[str, Any] = {"newest_id": x_tweet(numbers[0])["id"], "oldest_id": x_tweet(numbers[-1])["id"],
                            "result_count": len(numbers)}
    if next_token:
        meta["next_token"] = next_token
    return {"data": [x_tweet(n) for n in numbers], "includes": {"users": [X_USER]}, "meta": meta}


# --- Reddit: reddit.com/dev/api (listings), reddit-archive/reddit wiki "JSON" (things) ----------------------


def reddit_comment(n: int, *, parent: str | None = None) -> dict[str, Any]:
    cid = f"k{n:05d}"
    return {"kind": "t1", "data": {
        "subreddit_id": "t5_2qh1i", "subreddit": "acme", "link_id": "t3_1abcd2", "link_title": "Acme launch",
        "id": cid, "name": f"t1_{cid}", "parent_id": parent or "t3_1abcd2",
        "author": f"user{n}", "author_fullname": f"t2_u{n:04d}", "body": f"comment {n} about acme",
        "body_html": "&lt;div&gt;...&lt;/div&gt;", "created_utc": 1_795_000_000.0 + n, "created": 1_795_000_000.0 + n,
        "permalink": f"/r/acme/comments/1abcd2/acme_launch/{cid}/", "score": 3, "ups": 3, "downs": 0,
        "replies": "", "stickied": False, "distinguished": None,
    }}


def reddit_link(n: int) -> dict[str, Any]:
    lid = f"1l{n:04d}"
    return {"kind": "t3", "data": {
        "subreddit": "gadgets", "id": lid, "name": f"t3_{lid}", "author": f"poster{n}",
        "author_fullname": f"t2_p{n:04d}", "title": f"Is the acme phone {n} any good?", "selftext": "Thinking of buying.",
        "created_utc": 1_795_000_000.0 + n, "permalink": f"/r/gadgets/comments/{lid}/is_the_acme_phone_good/",
        "url": f"https://www.reddit.com/r/gadgets/comments/{lid}/is_the_acme_phone_good/", "num_comments": 4,
        "score": 12, "ups": 12, "is_self": True, "over_18": False,
    }}


def reddit_listing(children: list[dict[str, Any]], *, after: str | None = None) -> dict[str, Any]:
    return {"kind": "Listing", "data": {"after": after, "dist": len(children), "modhash": "", "geo_filter": "",
                                        "children": children, "before": None}}


# --- YouTube: developers.google.com/youtube/v3/docs/commentThreads/list ------------------------------------


def yt_comment(comment_id: str, minute: int, *, parent: str | None = None, author: str = "UCa1b2c3d4e5f6g7h8i9j0kl") -> dict[str, Any]:
    snippet: dict[str, Any] = {
        "channelId": "UCacmeacmeacmeacmeacmeac", "videoId": "dQw4w9WgXcQ",
        "textDisplay": f"comment {comment_id} &amp; more", "textOriginal": f"comment {comment_id} & more",
        "authorDisplayName": "@viewer", "authorProfileImageUrl": "https://yt3.ggpht.com/a.jpg",
        "authorChannelUrl": "http://www.youtube.com/@viewer", "authorChannelId": {"value": author},
        "canRate": True, "viewerRating": "none", "likeCount": 4,
        "publishedAt": f"2026-11-23T08:{minute:02d}:00Z", "updatedAt": f"2026-11-23T08:{minute:02d}:00Z",
    }
    if parent:
        snippet["parentId"] = parent
    return {"kind": "youtube#comment", "etag": "e", "id": comment_id, "snippet": snippet}


def yt_thread(thread_id: str, minute: int, *, replies: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    replies = replies or []
    thread: dict[str, Any] = {"kind": "youtube#commentThread", "etag": "t", "id": thread_id, "snippet": {
        "channelId": "UCacmeacmeacmeacmeacmeac", "videoId": "dQw4w9WgXcQ",
        "topLevelComment": yt_comment(thread_id, minute), "canReply": True,
        "totalReplyCount": len(replies), "isPublic": True}}
    if replies:
        thread["replies"] = {"comments": list(replies)}
    return thread


def yt_page(threads: list[dict[str, Any]], *, next_token: str | None = None) -> dict[str, Any]:
    page: dict[str, Any] = {"kind": "youtube#commentThreadListResponse", "etag": "p",
                            "pageInfo": {"totalResults": len(threads), "resultsPerPage": 100}, "items": threads}
    if next_token:
        page["nextPageToken"] = next_token
    return page


# --- Weibo: open.weibo.com/wiki/2/comments/to_me, open.weibo.com/wiki/2/statuses/mentions -------------------


def weibo_user(uid: str = "1404376560") -> dict[str, Any]:
    return {"id": int(uid), "idstr": uid, "screen_name": "zaku", "name": "zaku", "province": "11", "city": "5",
            "location": "北京 朝阳区", "followers_count": 1204, "friends_count": 447, "statuses_count": 2908,
            "verified": False, "gender": "m"}


def weibo_status(n: int, *, user: str = "1404376560") -> dict[str, Any]:
    sid = 4_000_000_000_000_000 + n
    return {"created_at": "Tue May 31 17:46:55 +0800 2011", "id": sid, "idstr": str(sid), "mid": str(sid),
            "text": f"@acme 第{n}条微博", "source": "<a href=\"http://weibo.com\">新浪微博</a>", "favorited": False,
            "truncated": False, "user": weibo_user(user), "reposts_count": 8, "comments_count": 9,
            "attitudes_count": 3}


def weibo_comment(n: int, *, reply_to: int | None = None) -> dict[str, Any]:
    cid = 5_000_000_000_000_000 + n
    comment: dict[str, Any] = {
        "created_at": "Wed Jun 01 00:50:25 +0800 2011", "id": cid, "idstr": str(cid), "mid": str(cid),
        "text": f"评论{n}：什么时候发货？", "source": "<a href=\"http://weibo.com\">新浪微博</a>",
        "user": weibo_user("1756362765"), "status": weibo_status(1, user="2803301701"),
    }
    if reply_to is not None:
        comment["reply_comment"] = {"created_at": "Wed Jun 01 00:40:25 +0800 2011", "id": 5_000_000_000_000_000 + reply_to,
                                    "idstr": str(5_000_000_000_000_000 + reply_to), "text": "原评论",
                                    "user": weibo_user("2803301701")}
    return comment


def weibo_comments(numbers: list[int]) -> dict[str, Any]:
    return {"comments": [weibo_comment(n) for n in numbers], "hasvisible": False, "previous_cursor": 0,
            "next_cursor": 0, "total_number": len(numbers)}


def weibo_mentions(numbers: list[int]) -> dict[str, Any]:
    return {"statuses": [weibo_status(n) for n in numbers], "hasvisible": False, "previous_cursor": 0,
            "next_cursor": 0, "total_number": len(numbers)}
