"""The Meta adapter on deliveries in the shape of Meta's public documentation:

- "Getting Started" (Graph API Webhooks: verification request, X-Hub-Signature-256, batching and retries),
  https://developers.facebook.com/docs/graph-api/webhooks/getting-started
- "Webhooks for Pages" and the Page webhooks reference (``feed`` and ``mention`` fields),
  https://developers.facebook.com/docs/pages-api/webhooks-for-pages,
  https://developers.facebook.com/docs/graph-api/webhooks/reference/page
- "Set Up Webhooks for Instagram" (``comments``, ``mentions``),
  https://developers.facebook.com/docs/graph-api/webhooks/getting-started/webhooks-for-instagram
- "Instagram Platform Webhook Notification Examples" (comments and messaging payloads),
  https://developers.facebook.com/docs/instagram-platform/webhooks/examples
- "Meta Webhooks for Messenger Platform" (``messaging``: message, echo, delivery, read),
  https://developers.facebook.com/docs/messenger-platform/webhook-reference
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ingest.adapters.base import Delivery, SignatureRejected, Skipped, WebhookRequest
from ingest.adapters.meta import DEAD_LETTER_REPLY, MetaConnector, handle
from ingest.contracts import MAX_RAW_BYTES, MAX_TEXT_CHARS, EventKind, Platform, json_size
from ingest.exceptions import InvalidEvent

APP_SECRET = "app-secret-for-tests"
VERIFY_TOKEN = "meatyhamhock"
PAGE_ID = "1234567890"
IG_ID = "17841405309211844"
RECEIVED = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
CONNECTOR = MetaConnector(name="meta-acme", brand="acme", app_secret=APP_SECRET, verify_token=VERIFY_TOKEN)


def signed(payload: Any, *, secret: str = APP_SECRET, received_at: datetime = RECEIVED) -> WebhookRequest:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return WebhookRequest("POST", {}, {"x-hub-signature-256": f"sha256={signature}"}, body, received_at)


def page_delivery(*changes: dict[str, Any], page_id: str = PAGE_ID) -> dict[str, Any]:
    return {"object": "page", "entry": [{"id": page_id, "time": 1647456766, "changes": list(changes)}]}


def feed(**value: Any) -> dict[str, Any]:
    return {"field": "feed", "value": value}


COMMENT: dict[str, Any] = feed(
    **{"from": {"id": "24242424242", "name": "Cinderella Hoover"}},
    item="comment",
    comment_id="444444444_555555555",
    post_id="444444444_666666666",
    parent_id="444444444_666666666",
    verb="add",
    created_time=1647456766,
    message="Where can I buy this?",
)


def only_event(delivery: Delivery) -> Any:
    assert len(delivery.events) == 1, delivery.skipped
    return delivery.events[0]


def only_skip(delivery: Delivery) -> Skipped:
    assert not delivery.events and len(delivery.skipped) == 1
    return delivery.skipped[0]


# --- the GET handshake -------------------------------------------------------------------------------


def test_handshake_with_the_verify_token_echoes_the_challenge() -> None:
    query = {"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": VERIFY_TOKEN}
    delivery = handle(WebhookRequest("GET", query, {}, b"", RECEIVED), CONNECTOR)
    assert (delivery.reply.status, delivery.reply.body) == (200, b"1158201444")
    assert delivery.events == () and delivery.skipped == ()


@pytest.mark.parametrize(
    "query",
    [
        {"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": "wrong"},
        {"hub.mode": "unsubscribe", "hub.challenge": "1158201444", "hub.verify_token": VERIFY_TOKEN},
        {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN},
        {},
    ],
)
def test_handshake_without_the_right_token_mode_and_challenge_is_refused_403(query: dict[str, str]) -> None:
    with pytest.raises(SignatureRejected) as refused:
        handle(WebhookRequest("GET", query, {}, b"", RECEIVED), CONNECTOR)
    assert refused.value.status == 403
    assert VERIFY_TOKEN not in str(refused.value)


# --- the signature -----------------------------------------------------------------------------------


def test_a_missing_signature_is_refused_401() -> None:
    request = WebhookRequest("POST", {}, {}, json.dumps(page_delivery(COMMENT)).encode(), RECEIVED)
    with pytest.raises(SignatureRejected) as refused:
        handle(request, CONNECTOR)
    assert refused.value.status == 401


@pytest.mark.parametrize("header", ["sha256=" + "0" * 64, "sha1=abc", "sha256=", "garbage"])
def test_a_wrong_or_malformed_signature_is_refused_401(header: str) -> None:
    request = WebhookRequest(
        "POST", {}, {"x-hub-signature-256": header}, json.dumps(page_delivery(COMMENT)).encode(), RECEIVED
    )
    with pytest.raises(SignatureRejected) as refused:
        handle(request, CONNECTOR)
    assert refused.value.status == 401
    assert APP_SECRET not in str(refused.value)


def test_a_body_signed_with_another_secret_is_refused() -> None:
    with pytest.raises(SignatureRejected):
        handle(signed(page_delivery(COMMENT), secret="someone-else"), CONNECTOR)


def test_the_signature_covers_the_exact_bytes_meta_sent_with_escaped_unicode() -> None:
    escaped = json.dumps(page_delivery(feed(**{**COMMENT["value"], "message": "äöå 好"}))).encode()
    assert b"\\u00e4" in escaped  # Meta sends unicode escaped and signs those bytes
    event = only_event(handle(signed(escaped), CONNECTOR))
    assert event.text == "äöå 好"
    tampered = signed(escaped)
    with pytest.raises(SignatureRejected):
        handle(
            WebhookRequest("POST", {}, tampered.headers, escaped.replace(b"\\u00e4", b"a"), RECEIVED),
            CONNECTOR,
        )


# --- Facebook Page feed ------------------------------------------------------------------------------


def test_a_feed_comment_on_a_post_becomes_a_comment_event() -> None:
    delivery = handle(signed(page_delivery(COMMENT)), CONNECTOR)
    event = only_event(delivery)
    assert delivery.reply.status == 200
    assert (event.event_id, event.platform, event.kind) == (
        "444444444_555555555",
        Platform.FACEBOOK,
        EventKind.COMMENT,
    )
    assert event.identity_key == "facebook:24242424242"
    assert event.author.display_name == "Cinderella Hoover"
    assert (event.parent_id, event.thread_id) == ("444444444_666666666", "444444444_666666666")
    assert event.text == "Where can I buy this?"
    assert event.occurred_at == datetime.fromtimestamp(1647456766, tz=UTC)
    assert (event.received_at, event.source, event.brand) == (RECEIVED, "meta-acme", "acme")
    assert event.raw == {
        "object": "page",
        "entry": [{"id": PAGE_ID, "time": 1647456766, "changes": [COMMENT]}],
    }


def test_a_feed_comment_on_a_comment_is_a_reply_to_it() -> None:
    reply = feed(**{**COMMENT["value"], "comment_id": "444444444_777", "parent_id": "444444444_555555555"})
    event = only_event(handle(signed(page_delivery(reply)), CONNECTOR))
    assert (event.kind, event.parent_id, event.thread_id) == (
        EventKind.REPLY,
        "444444444_555555555",
        "444444444_666666666",
    )


def test_a_reaction_is_a_like_with_an_id_made_from_target_person_type_and_time() -> None:
    reaction = feed(
        **{"from": {"id": "24242424242", "name": "Cinderella Hoover"}},
        item="reaction",
        post_id="444444444_666666666",
        parent_id="444444444_666666666",
        reaction_type="love",
        verb="add",
        created_time=1647456766,
    )
    on_comment = feed(**{**reaction["value"], "comment_id": "444444444_555555555", "reaction_type": "angry"})
    events = handle(signed(page_delivery(reaction, on_comment)), CONNECTOR).events
    assert [e.kind for e in events] == [EventKind.LIKE, EventKind.LIKE]
    assert events[0].event_id == "reaction:444444444_666666666:24242424242:love:1647456766"
    assert events[1].event_id == "reaction:444444444_555555555:24242424242:angry:1647456766"
    assert (events[1].parent_id, events[1].thread_id) == ("444444444_555555555", "444444444_666666666")


def test_a_visitor_post_a_share_and_a_page_like_become_post_share_and_follow() -> None:
    person = {"from": {"id": "24242424242", "name": "Cinderella Hoover"}}
    status = feed(
        **person,
        item="status",
        post_id="1234567890_111",
        verb="add",
        published=1,
        created_time=1647456766,
        message="Love the new store!",
    )
    share = feed(
        **person,
        item="share",
        share_id="222",
        post_id="24242424242_222",
        verb="add",
        link="https://www.facebook.com/1234567890/posts/111",
        message="look",
        created_time=1647456766,
    )
    page_like = feed(**person, item="like", verb="add")
    events = handle(signed(page_delivery(status, share, page_like)), CONNECTOR).events
    assert [(e.kind, e.event_id) for e in events] == [
        (EventKind.POST, "1234567890_111"),
        (EventKind.SHARE, "222"),
        (EventKind.FOLLOW, f"page_like:{PAGE_ID}:24242424242:"),
    ]
    assert events[0].text == "Love the new store!"
    assert events[1].url == "https://www.facebook.com/1234567890/posts/111"
    assert events[2].occurred_at == datetime.fromtimestamp(
        1647456766, tz=UTC
    )  # entry.time when no created_time


@pytest.mark.parametrize("verb", ["edited", "edit", "remove", "hide"])
def test_edits_and_removals_are_skipped_with_the_verb_in_the_reason(verb: str) -> None:
    skip = only_skip(handle(signed(page_delivery(feed(**{**COMMENT["value"], "verb": verb}))), CONNECTOR))
    assert skip.what == "entry[0].changes[0]"
    assert f"verb={verb}" in skip.reason


def test_the_pages_own_comment_and_a_comment_without_author_are_skipped() -> None:
    own = feed(**{**COMMENT["value"], "from": {"id": PAGE_ID, "name": "Acme"}})
    anonymous = feed(**{key: value for key, value in COMMENT["value"].items() if key != "from"})
    skipped = handle(signed(page_delivery(own, anonymous)), CONNECTOR).skipped
    assert [s.reason for s in skipped] == [
        "the brand's own activity on its own account",
        "no from.id: Meta left the author out of this change",
    ]


def test_unsupported_fields_items_and_objects_are_skipped_with_reasons() -> None:
    rating = {"field": "ratings", "value": {"item": "rating", "verb": "add"}}
    event_item = feed(**{"from": {"id": "1"}}, item="event", verb="add")
    delivery = handle(signed(page_delivery(rating, event_item)), CONNECTOR)
    assert [(s.what, s.reason) for s in delivery.skipped] == [
        ("entry[0].changes[0] field=ratings", "page field 'ratings' is not turned into events"),
        ("entry[0].changes[1] item=event", "feed item 'event' (or its ids) is not turned into events"),
    ]
    user = only_skip(handle(signed({"object": "user", "entry": [{"id": "1", "changes": []}]}), CONNECTOR))
    assert user.what == "object=user"


def test_a_page_mention_becomes_a_mention_by_the_sender() -> None:
    mention = {
        "field": "mention",
        "value": {
            "post_id": "44_55",
            "sender_name": "Cinderella Hoover",
            "sender_id": "24242424242",
            "item": "post",
            "verb": "add",
        },
    }
    event = only_event(handle(signed(page_delivery(mention)), CONNECTOR))
    assert (event.kind, event.event_id, event.identity_key) == (
        EventKind.MENTION,
        "mention:44_55",
        "facebook:24242424242",
    )


# --- Instagram comments and mentions -----------------------------------------------------------------


def ig_delivery(*changes: dict[str, Any]) -> dict[str, Any]:
    return {"object": "instagram", "entry": [{"id": IG_ID, "time": 1547687043, "changes": list(changes)}]}


IG_COMMENT: dict[str, Any] = {
    "field": "comments",
    "value": {
        "from": {"id": "232323232", "username": "test_user"},
        "media": {"id": "123123123", "media_product_type": "FEED"},
        "id": "17865799348089039",
        "text": "This is an example.",
    },
}


def test_an_instagram_comment_becomes_a_comment_keyed_by_the_commenter() -> None:
    event = only_event(handle(signed(ig_delivery(IG_COMMENT)), CONNECTOR))
    assert (event.platform, event.kind, event.event_id) == (
        Platform.INSTAGRAM,
        EventKind.COMMENT,
        "17865799348089039",
    )
    assert (event.identity_key, event.author.handle) == ("instagram:232323232", "test_user")
    assert (event.parent_id, event.thread_id, event.text) == ("123123123", "123123123", "This is an example.")
    assert event.occurred_at == datetime.fromtimestamp(1547687043, tz=UTC)


def test_an_instagram_reply_names_its_parent_comment() -> None:
    reply = {
        "field": "comments",
        "value": {**IG_COMMENT["value"], "id": "1786", "parent_id": "17865799348089039"},
    }
    event = only_event(handle(signed(ig_delivery(reply)), CONNECTOR))
    assert (event.kind, event.parent_id) == (EventKind.REPLY, "17865799348089039")


def test_an_instagram_mention_becomes_a_mention_with_a_stand_in_author() -> None:
    in_comment = {
        "field": "mentions",
        "value": {"comment_id": "17894227972186120", "media_id": "17918195224117851"},
    }
    in_caption = {"field": "mentions", "value": {"media_id": "17918195224117852"}}
    first, second = handle(signed(ig_delivery(in_comment, in_caption)), CONNECTOR).events
    assert (first.kind, first.event_id, first.parent_id) == (
        EventKind.MENTION,
        "mention:17894227972186120",
        "17918195224117851",
    )
    assert first.author.id == "unresolved-mention:17894227972186120"
    assert (second.event_id, second.parent_id, second.thread_id) == (
        "mention:17918195224117852",
        None,
        "17918195224117852",
    )


def test_the_documentation_example_shape_a_top_level_array_with_the_change_in_the_entry_is_read() -> None:
    documented = [{"object": "instagram", "entry": [{"id": IG_ID, "time": 1547687043, **IG_COMMENT}]}]
    assert only_event(handle(signed(documented), CONNECTOR)).event_id == "17865799348089039"


# --- Messenger and Instagram messaging ---------------------------------------------------------------


def messaging(obj: str, account: str, *items: dict[str, Any]) -> dict[str, Any]:
    return {"object": obj, "entry": [{"id": account, "time": 1583173667623, "messaging": list(items)}]}


def message(sender: str, mid: str, **fields: Any) -> dict[str, Any]:
    return {
        "sender": {"id": sender},
        "recipient": {"id": PAGE_ID},
        "timestamp": 1583173666767,
        "message": {"mid": mid, **fields},
    }


def test_a_messenger_message_becomes_a_chat_message_keyed_by_the_sender() -> None:
    text = message(
        "5566778899",
        "m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM_QPpz5jdCK48PnKAjSdjfipqxqMvK8ma6AC8fplwlqLP_5cgXIbu7I3rBN0P",
        text="hello, world!",
        reply_to={"mid": "m_earlier"},
    )
    image = message(
        "5566778899", "m_image", attachments=[{"type": "image", "payload": {"url": "https://x/y.jpg"}}]
    )
    first, second = handle(signed(messaging("page", PAGE_ID, text, image)), CONNECTOR).events
    assert (first.kind, first.platform, first.identity_key) == (
        EventKind.CHAT_MESSAGE,
        Platform.FACEBOOK,
        "facebook:5566778899",
    )
    assert first.event_id.startswith("m_AG5Hz2Uq7") and first.text == "hello, world!"
    assert first.parent_id == "m_earlier"
    assert first.occurred_at == datetime(2020, 3, 2, 18, 27, 46, 767000, tzinfo=UTC)  # timestamp is ms
    assert (second.event_id, second.text) == ("m_image", None)
    assert second.raw is not None and second.raw["entry"][0]["messaging"] == [image]


def test_echoes_receipts_and_other_messaging_items_are_skipped_with_reasons() -> None:
    echo = message(PAGE_ID, "m_echo", is_echo=True, app_id=1517776481860111, text="thanks!")
    delivery_receipt = {
        "sender": {"id": "55"},
        "recipient": {"id": PAGE_ID},
        "delivery": {"mids": ["m_1"], "watermark": 1458668856253},
    }
    read = {
        "sender": {"id": "55"},
        "recipient": {"id": PAGE_ID},
        "timestamp": 1458668856463,
        "read": {"watermark": 1458668856253},
    }
    postback = {
        "sender": {"id": "55"},
        "recipient": {"id": PAGE_ID},
        "postback": {"title": "Start", "payload": "GO"},
    }
    delivery = handle(signed(messaging("page", PAGE_ID, echo, delivery_receipt, read, postback)), CONNECTOR)
    assert delivery.events == ()
    assert [s.what for s in delivery.skipped] == [
        "entry[0].messaging[0] is_echo",
        "entry[0].messaging[1] delivery",
        "entry[0].messaging[2] read",
        "entry[0].messaging[3] postback",
    ]


def test_instagram_messaging_and_a_story_mention() -> None:
    dm = message("1234567", "aWdfZAG1faXRlbTox", text="is this in stock?")
    story = message(
        "1234567",
        "aWdfZAG1faXRlbToy",
        attachments=[{"type": "story_mention", "payload": {"url": "https://lookaside.fbsbx.com/x"}}],
    )
    first, second = handle(signed(messaging("instagram", IG_ID, dm, story)), CONNECTOR).events
    assert (first.platform, first.kind, first.identity_key) == (
        Platform.INSTAGRAM,
        EventKind.CHAT_MESSAGE,
        "instagram:1234567",
    )
    assert (second.kind, second.event_id) == (EventKind.MENTION, "aWdfZAG1faXRlbToy")


# --- batching, retries, malformed and over-large deliveries ------------------------------------------


def test_several_entries_with_several_changes_and_messages_each_become_their_own_event() -> None:
    second_comment = feed(**{**COMMENT["value"], "comment_id": "444444444_888", "message": "me too"})
    body = {
        "object": "page",
        "entry": [
            {"id": PAGE_ID, "time": 1647456766, "changes": [COMMENT, second_comment]},
            {
                "id": "999",
                "time": 1647456767,
                "changes": [feed(**{**COMMENT["value"], "comment_id": "999_1"})],
                "messaging": [message("5566", "m_in_batch", text="hi")],
            },
        ],
    }
    delivery = handle(signed(body), CONNECTOR)
    assert [e.event_id for e in delivery.events] == [
        "444444444_555555555",
        "444444444_888",
        "999_1",
        "m_in_batch",
    ]
    assert delivery.events[2].raw is not None and delivery.events[2].raw["entry"][0]["id"] == "999"


def test_a_retried_delivery_gives_the_same_event_ids() -> None:
    body = page_delivery(
        COMMENT,
        feed(
            **{"from": {"id": "7"}},
            item="reaction",
            post_id="44_66",
            reaction_type="like",
            verb="add",
            created_time=1647456770,
        ),
    )
    first = handle(signed(body), CONNECTOR)
    retry = handle(signed(body, received_at=RECEIVED + timedelta(hours=3)), CONNECTOR)
    assert [e.event_id for e in first.events] == [e.event_id for e in retry.events]
    assert len(first.events) == 2


@pytest.mark.parametrize(
    "body", [b"{not json", b"", b"\xff\xfe", b'{"object": "page"}', b"[1, 2]", b'"page"']
)
def test_a_signed_body_that_is_not_a_delivery_raises_invalid_event(body: bytes) -> None:
    with pytest.raises(InvalidEvent):
        handle(signed(body), CONNECTOR)
    assert DEAD_LETTER_REPLY.status == 200  # answered 200 anyway, or Meta retries for 36 hours


def test_an_over_large_comment_still_flows_with_text_cut_and_raw_left_out() -> None:
    huge = "好" * (MAX_RAW_BYTES // 2)
    event = only_event(
        handle(signed(page_delivery(feed(**{**COMMENT["value"], "message": huge}))), CONNECTOR)
    )
    assert event.text == huge[:MAX_TEXT_CHARS]
    assert (
        event.raw is not None
        and set(event.raw) == {"omitted", "bytes"}
        and event.raw["bytes"] > MAX_RAW_BYTES
    )
    assert json_size(event.raw) < 1024


def test_configured_accounts_skip_entries_for_other_accounts_and_the_brands_own_ids() -> None:
    connector = CONNECTOR.model_copy(update={"facebook_page_ids": frozenset({PAGE_ID, "777"})})
    own_page = feed(**{**COMMENT["value"], "from": {"id": "777"}})
    delivery = handle(
        signed(
            {
                "object": "page",
                "entry": [
                    {"id": PAGE_ID, "time": 1, "changes": [COMMENT, own_page]},
                    {"id": "someone-elses-page", "time": 1, "changes": [COMMENT]},
                ],
            }
        ),
        connector,
    )
    assert [e.event_id for e in delivery.events] == ["444444444_555555555"]
    assert [s.what for s in delivery.skipped] == ["entry[0].changes[1]", "entry[1]"]
    assert "not one of this connector's page accounts" in delivery.skipped[1].reason
