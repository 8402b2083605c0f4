"""A WeChat Official Account ``unsubscribe`` push, in the shape WeChat's 接收事件推送 documents, withdraws the
follower's contact and marketing consent once it reaches the apply lane (embedded runtime, real SQLite);
the retried push changes nothing, and the follow before it granted nothing."""

from __future__ import annotations

from wechat_builders import plain_post, wechat_config

from enrichment.lexicon import LexiconEnricher
from ingest.adapters.wechat import handle
from ingest.codec import encode_event
from profile_store.consents import statements_of
from profile_store.contracts import Consent
from profile_store.repository import find_profile_by_identity
from streams.config import PipelineConfig
from streams.runtimes.embedded import EmbeddedRuntime
from streams.storage import Storage

PUSH = """<xml>
  <ToUserName><![CDATA[gh_acme]]></ToUserName>
  <FromUserName><![CDATA[oAcmeFollower1]]></FromUserName>
  <CreateTime>{created}</CreateTime>
  <MsgType><![CDATA[event]]></MsgType>
  <Event><![CDATA[{event}]]></Event>
</xml>"""


def _deliver(runtime: EmbeddedRuntime, event: str, created: int) -> None:
    for social in handle(plain_post(PUSH.format(event=event, created=created)), wechat_config()).events:
        runtime.publish(encode_event(social))
    runtime.drain()


def test_an_unsubscribe_push_withdraws_contact_and_marketing_once(storage: Storage) -> None:
    runtime = EmbeddedRuntime(config=PipelineConfig(), enricher=LexiconEnricher(), storage=storage)
    _deliver(runtime, "subscribe", 1764748800)
    with storage.session_factory() as session:
        followed = find_profile_by_identity("wechat:oAcmeFollower1", session=session)
    assert followed is not None and followed.consent == Consent()

    _deliver(runtime, "unsubscribe", 1764752400)
    with storage.session_factory() as session:
        profile = find_profile_by_identity("wechat:oAcmeFollower1", session=session)
        statements = statements_of(["wechat:oAcmeFollower1"], session=session)
    assert profile is not None and profile.consent == Consent(contact=False, marketing=False)
    assert profile.counts_by_kind == {"follow": 1, "unfollow": 1}
    assert {(s.purpose, s.granted, s.source, int(s.updated_at.timestamp())) for s in statements} == {
        ("contact", False, "wechat-oa-acme", 1764752400), ("marketing", False, "wechat-oa-acme", 1764752400)}

    _deliver(runtime, "unsubscribe", 1764752400)  # WeChat's retry of the same push
    with storage.session_factory() as session:
        assert statements_of(["wechat:oAcmeFollower1"], session=session) == statements
        again = find_profile_by_identity("wechat:oAcmeFollower1", session=session)
    assert again == profile
