"""A realistic, seeded, deterministic simulated stream of ``SocialEvent``s for demos, tests and benchmarks.

Everything derives from ``SimulatorConfig.seed``: the same config always yields the same stream, event for
event, and nothing here touches the wall clock or module-level randomness. The author population (platform
accounts, names, followers, dispositions, identity hints) is built once per call; the per-event work is a
few random draws, a template fill and one ``SocialEvent`` construction, so generation runs at tens of
thousands of events per second on one core.

What the stream looks like:

- Arrivals are a Poisson process in event time at ``events_per_hour`` on average, modulated by a daily cycle
  (quiet at night in each author's timezone: Asia/Shanghai for the Chinese platforms).
- Authors live on weibo, wechat, douyin, xiaohongshu, zhihu, x, reddit, youtube, facebook and instagram
  (Chinese platforms weighted more) with platform-style ids, heavy-tailed follower counts, a few verified
  influencers, a disposition (neutral, positive, detractor, advocate, buyer) and a language (zh-Hans,
  zh-Hant, en; a few zh-Hans posts mix in English words). About 5% of people have a second account on
  another platform with the same email or phone in ``identity_hints``; many WeChat users carry
  ``wechat_unionid`` (shared with their WeCom external-contact account), a few carry ``crm_id``.
- Texts come from template banks by intent (see ``INTENTS``, ``NEGATIVE_INTENTS``); ``template_intent``
  maps a generated text back to its intent, which is how tests measure sentiment shifts without a model.
- With ``crisis_at`` set, an extra stream of negative safety/quality posts about one product of the first
  brand starts at that instant, grows over about an hour, plateaus and slowly decays, spread by shares,
  comments and replies and kicked off by a verified influencer.

Modules: ``config`` (the knobs), ``templates`` with ``templates_zh``/``templates_en`` (text banks),
``population`` (authors), ``kinds`` (event kinds per platform), ``payloads`` (platform ids, urls, raw
shapes), ``draws`` (seeded picks and id alphabets), ``stream`` (``simulate_events``) and ``output``
(``raw_records``, ``write_jsonl``).
"""

from ingest.simulator.config import DEFAULT_START, SimulatorConfig
from ingest.simulator.output import raw_records, write_jsonl
from ingest.simulator.stream import simulate_events
from ingest.simulator.templates import INTENTS, NEGATIVE_INTENTS, template_intent

__all__ = [
    "DEFAULT_START",
    "INTENTS",
    "NEGATIVE_INTENTS",
    "SimulatorConfig",
    "raw_records",
    "simulate_events",
    "template_intent",
    "write_jsonl",
]
