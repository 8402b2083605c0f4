"""The event-time generator behind ``simulate_events``: arrivals, event kinds, threads and the crisis.

Arrivals are a Poisson process in event time at ``events_per_hour`` on average, modulated by a daily cycle
(quiet at night in each author's timezone). Customer events pick a persona, a kind from the platform's mix,
a parent among recent posts and comments, and a text from the persona's language and disposition; brand
accounts post now and then. With ``crisis_at`` set, an extra stream of negative safety/quality posts about
one product of the first brand starts at that instant, grows over about an hour, plateaus and slowly
decays, spread by shares, comments and replies and kicked off by the most-followed account on the crisis
platform.
"""

from __future__ import annotations

import heapq
import random
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

from ingest.contracts import EventKind, Metrics, Platform, SocialEvent
from ingest.simulator.config import SimulatorConfig
from ingest.simulator.draws import cumulative, pick
from ingest.simulator.kinds import (
    CHAT,
    COMMENT,
    FOLLOW,
    KIND_WEIGHTS,
    KINDS,
    LIKE,
    MENTION,
    POST,
    REPLY,
    REVIEW,
    SHARE,
)
from ingest.simulator.payloads import PLATFORM_SHAPES, Item
from ingest.simulator.population import CHINESE, HOME_WEIGHTS, Persona, Population
from ingest.simulator.templates import (
    HANT,
    INTENTS,
    LANGS,
    NEGATIVE_INTENTS,
    PRICES,
    PRODUCTS,
    SHARE_TEXT,
    TEMPLATES,
)

_CST = timezone(timedelta(hours=8))  # Asia/Shanghai: no DST
_EPOCH_UTC = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_CST = _EPOCH_UTC.astimezone(_CST)
_SEG_US = 300_000_000  # rates are piecewise constant over 5-minute segments
_HOUR_US = 3_600_000_000
_MASK40 = (1 << 40) - 1
_MASK64 = (1 << 64) - 1
# no webhooks: the connector polls, so these arrive later
_POLLED = (Platform.ZHIHU, Platform.REDDIT, Platform.YOUTUBE, Platform.XIAOHONGSHU)
_BRAND_POST_SHARE = 0.02
_ANSWERED_SHARE = 0.6  # questions to a brand that one of its accounts answers (a reply to the question)
_ANSWER_DELAY_MIN = (3.0, 50.0)  # most within the hour; a tenth come late, after the detectors' hour
_LATE_ANSWER_DELAY_MIN = (65.0, 180.0)
_ASKING = frozenset({"question", "purchase"})
_ANSWER_IDS = 1 << 39  # answers take ids from their own counter range: the rest of the stream keeps its ids
_CRISIS_KINDS = (EventKind.POST, EventKind.MENTION, EventKind.SHARE, EventKind.COMMENT, EventKind.REPLY)
_CRISIS_KIND_CUM = cumulative([35.0, 15.0, 25.0, 15.0, 10.0])
_ANSWERABLE = (EventKind.POST, EventKind.MENTION, EventKind.COMMENT, EventKind.REPLY)
_NO_METRICS = Metrics()


def _to_us(moment: datetime) -> int:
    delta = moment - _EPOCH_UTC
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


class _Channel:
    """Per-platform generation state: id counter, the pools later events point at, the payload shape."""

    def __init__(self, platform: Platform, seed: int, brand_accounts: dict[str, Persona]) -> None:
        salts = random.Random(f"{seed}:{platform.value}")
        self.platform = platform
        self.count = 0
        self.salt = salts.getrandbits(40)
        self.salt64 = salts.getrandbits(64)
        self.shape = PLATFORM_SHAPES[platform]
        self.epoch = _EPOCH_CST if platform in CHINESE or platform is Platform.WECOM else _EPOCH_UTC
        self.lag = 20.0 if platform in _POLLED else 6.0
        weights = KIND_WEIGHTS.get(platform)
        self.kind_cum = cumulative([float(w) for w in weights]) if weights else [1.0]
        self.roots: deque[Item] = deque(maxlen=300)
        self.brand_roots: deque[Item] = deque(maxlen=60)
        self.comments: deque[Item] = deque(maxlen=300)
        self.crisis_roots: deque[Item] = deque(maxlen=200)
        self.crisis_comments: deque[Item] = deque(maxlen=200)
        self.brand_accounts = brand_accounts
        self.reposts_are_roots = platform is Platform.WEIBO or platform is Platform.X
        self.answers = 0


class _Stream:
    """Mutable generation state of one ``simulate_events`` call."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.pop = pop = Population(config)
        self.rng = random.Random(config.seed * 1_000_003 + 29)
        self.channels: dict[Platform, _Channel] = {}
        for platform in PLATFORM_SHAPES:  # platforms it can render (not bilibili, kuaishou: they arrive as imports)
            if platform is not Platform.OTHER:
                accounts = {b: a for (p, b), a in pop.brand_accounts.items() if p is platform}
                self.channels[platform] = _Channel(platform, config.seed, accounts)
        for persona in [*pop.personas, *pop.brand_accounts.values()]:
            persona.channel = self.channels[persona.platform]
            if persona.wecom is not None:
                persona.wecom.channel = self.channels[Platform.WECOM]
        self.platforms = list(HOME_WEIGHTS)
        self.platform_cum = cumulative([float(HOME_WEIGHTS[p]) for p in self.platforms])
        self.brand_titles = {b: b[:1].upper() + b[1:] for b in config.brands}
        self.crisis_us = None if config.crisis_at is None else _to_us(config.crisis_at)
        self.crisis_brand = config.brands[0]
        self.crisis_product = self.rng.randrange(len(PRODUCTS[0]))
        candidates = [
            p for p in (Platform.WEIBO, Platform.DOUYIN, Platform.XIAOHONGSHU) if p in pop.by_platform
        ]
        self.crisis_platform = self.rng.choice(candidates) if candidates else next(iter(pop.by_platform))
        self.crisis_started = False
        self.metrics_cache: dict[int, Metrics] = {}
        # brand answers draw from their own generator, so the customer stream is the same with or without them
        self.answer_rng = random.Random(config.seed * 1_000_003 + 31)
        self.answers: list[tuple[int, int, Item, str, Platform]] = []  # heap: (time, seq, question, brand, platform)
        self.answer_seq = 0

    # ---- arrivals

    def run(self) -> Iterator[SocialEvent]:
        rng = self.rng
        hour_rate = self.pop.hour_rate
        base_per_us = self.config.events_per_hour / _HOUR_US
        t = float(_to_us(self.config.start))
        last = int(t)
        while True:
            seg_start = int(t // _SEG_US) * _SEG_US
            seg_end = seg_start + _SEG_US
            hour = (seg_start // _HOUR_US) % 24
            base = base_per_us * hour_rate[hour]
            crisis = self._crisis_rate(seg_start + _SEG_US // 2) * base_per_us
            total = base + crisis
            crisis_share = crisis / total
            while True:
                t += rng.expovariate(total)
                if t >= seg_end:  # memoryless: restart the draw at the boundary with the next rate
                    t = float(seg_end)
                    break
                us = int(t)
                while self.answers and self.answers[0][0] < us:  # answers due before this arrival come first
                    due, _, question, brand, platform = heapq.heappop(self.answers)
                    last = due if due > last else last + 1
                    yield self._answer(question, brand, platform, last)
                us = us if us > last else last + 1
                last = us
                if crisis_share and rng.random() < crisis_share:
                    yield self._crisis_event(us)
                elif rng.random() < _BRAND_POST_SHARE:
                    yield self._brand_post(us)
                else:
                    yield self._customer_event(us, hour)

    def _crisis_rate(self, us: int) -> float:
        """Crisis arrivals relative to ``events_per_hour``: ramps up over an hour, plateaus, decays."""
        if self.crisis_us is None or us < self.crisis_us:
            return 0.0
        age_h = (us - self.crisis_us) / _HOUR_US
        if age_h < 1.0:
            return 1.6 * (0.05 + 0.95 * age_h**1.5)
        if age_h < 3.0:
            return 1.6
        return 1.6 * 0.5 ** ((age_h - 3.0) / 3.0)

    # ---- event kinds

    def _customer_event(self, us: int, hour: int) -> SocialEvent:
        rng = self.rng
        pop = self.pop
        persona = pop.personas[pick(rng, pop.hour_cum[hour])]
        ch = persona.channel
        kind = KINDS[pick(rng, ch.kind_cum)]
        parent: Item | None = None
        if kind is COMMENT or kind is LIKE:
            parent = self._choose(ch.brand_roots if rng.random() < 0.5 else ch.roots)
            parent = parent or self._choose(ch.roots) or self._choose(ch.brand_roots)
        elif kind is REPLY:
            parent = self._choose(ch.comments if rng.random() < 0.7 else ch.roots) or self._choose(ch.roots)
        elif kind is SHARE:
            preferred = ch.brand_roots if rng.random() < 0.8 else ch.roots
            parent = self._choose(preferred) or self._choose(ch.brand_roots)
        elif kind is CHAT and persona.wecom is not None and rng.random() < 0.6:
            persona = persona.wecom
        if parent is None and (kind is COMMENT or kind is LIKE or kind is REPLY or kind is SHARE):
            kind = CHAT if ch.platform is Platform.WECHAT else POST
        brand = parent.brand if parent is not None and parent.brand else persona.brand
        if kind is LIKE or kind is FOLLOW:
            return self._emit(persona, kind, us, None, brand, parent, brand)
        intent = INTENTS[pick(rng, persona.intent_cum)]
        text = (
            self._share_text(persona, parent) if kind is SHARE else self._text(persona, intent, brand, None)
        )
        if kind is MENTION:
            text = f"@{ch.brand_accounts[brand].author.handle} {text}"
        brand_field: str | None = brand
        if kind is POST and text and self.brand_titles[brand] not in text and rng.random() < 0.5:
            brand_field = None  # category talk ("求推荐...") caught by keyword listening, no brand named
        rating = None
        if kind is REVIEW:
            rating = 1 + int(rng.random() * 2) if intent in NEGATIVE_INTENTS else 3 + int(rng.random() * 3)
        event = self._emit(persona, kind, us, text, brand_field, parent, brand_field, rating=rating)
        if intent in _ASKING and brand_field and kind in _ANSWERABLE:
            self._schedule_answer(ch, kind, brand_field, us)
        return event

    def _schedule_answer(self, ch: _Channel, kind: EventKind, brand: str, us: int) -> None:
        """Maybe schedule the brand's answer to the question just emitted (its item is the newest of its
        pool). Draws only from ``answer_rng``."""
        a = self.answer_rng
        if a.random() >= _ANSWERED_SHARE:
            return
        low, high = _LATE_ANSWER_DELAY_MIN if a.random() < 0.1 else _ANSWER_DELAY_MIN
        question = ch.comments[-1] if kind is COMMENT or kind is REPLY else ch.roots[-1]
        self.answer_seq += 1
        due = us + int((low + a.random() * (high - low)) * 60_000_000)
        heapq.heappush(self.answers, (due, self.answer_seq, question, brand, ch.platform))

    def _answer(self, question: Item, brand: str, platform: Platform, us: int) -> SocialEvent:
        """The brand account's reply to ``question`` (template intent ``answer``), drawn from ``answer_rng``."""
        persona = self.channels[platform].brand_accounts[brand]
        text = self._text(persona, "answer", brand, None, rng=self.answer_rng)
        return self._emit(persona, REPLY, us, text, brand, question, brand, answer=True)

    def _brand_post(self, us: int) -> SocialEvent:
        rng = self.rng
        platform = self.platforms[pick(rng, self.platform_cum)]
        brand = self.config.brands[int(rng.random() * len(self.config.brands))]
        persona = self.channels[platform].brand_accounts[brand]
        text = self._text(persona, "official", brand, int(rng.random() * len(PRODUCTS[0])))
        return self._emit(persona, POST, us, text, brand, None, brand)

    def _crisis_event(self, us: int) -> SocialEvent:
        rng = self.rng
        by_platform = self.pop.by_platform
        platform = self.crisis_platform
        if rng.random() >= 0.55:
            platform = self.platforms[pick(rng, self.platform_cum)]
            if platform not in by_platform:
                platform = self.crisis_platform
        members, cum = by_platform[platform]
        if not self.crisis_started:  # the most-followed account on the crisis platform kicks it off
            self.crisis_started = True
            persona = max(by_platform[self.crisis_platform][0], key=lambda p: (p.reach, p.author.id))
            kind = POST
        else:
            persona = members[pick(rng, cum)]
            kind = _CRISIS_KINDS[pick(rng, _CRISIS_KIND_CUM)]
        ch = persona.channel
        brand = self.crisis_brand
        parent: Item | None = None
        if kind is SHARE or kind is COMMENT:
            parent = self._choose(ch.crisis_roots)
        elif kind is REPLY:
            parent = self._choose(ch.crisis_comments) or self._choose(ch.crisis_roots)
        if ch.platform is Platform.WECHAT:  # no public posts on WeChat: people complain to the brand in chat
            kind, parent = CHAT, None
            if persona.wecom is not None and rng.random() < 0.6:
                persona = persona.wecom
        elif parent is None and kind is not MENTION:
            kind = POST
        if kind is SHARE and rng.random() < 0.4:
            text = self._share_text(persona, parent)
        else:
            text = self._text(
                persona, "safety" if rng.random() < 0.7 else "quality", brand, self.crisis_product
            )
        if kind is MENTION:
            text = f"@{ch.brand_accounts[brand].author.handle} {text}"
        return self._emit(persona, kind, us, text, brand, parent, brand, crisis=True)

    # ---- helpers

    def _choose(self, pool: deque[Item]) -> Item | None:
        n = len(pool)
        if not n:
            return None
        r = self.rng.random()
        return pool[n - 1 - int(n * r * r)]  # biased towards recent items

    def _text(self, persona: Persona, intent: str, brand: str, product: int | None,
              rng: random.Random | None = None) -> str:
        rng = rng or self.rng
        bank = persona.bank
        templates = TEMPLATES[bank][intent]
        template = templates[int(rng.random() * len(templates))]
        if product is None:
            product = persona.product if rng.random() < 0.7 else int(rng.random() * len(PRODUCTS[0]))
        return template.format(
            brand=self.brand_titles[brand],
            product=PRODUCTS[bank][product],
            n=2 + int(rng.random() * 8),
            days=2 + int(rng.random() * 8),
            price=PRICES[bank][int(rng.random() * 8)],
        )

    def _share_text(self, persona: Persona, parent: Item | None) -> str | None:
        if persona.platform is not Platform.WEIBO:
            return None
        text = SHARE_TEXT[1 if persona.bank == HANT else 0]
        return f"{text} //@{parent.handle}" if parent is not None and self.rng.random() < 0.3 else text

    def _metrics(self, likes: int, shares: int, replies: int) -> Metrics:
        if likes >= 1000:
            return Metrics(likes=likes, shares=shares, replies=replies)
        key = likes * 1_000_000 + shares * 1000 + replies
        cached = self.metrics_cache.get(key)
        if cached is None:
            cached = self.metrics_cache[key] = Metrics(likes=likes, shares=shares, replies=replies)
        return cached

    def _emit(
        self,
        persona: Persona,
        kind: EventKind,
        us: int,
        text: str | None,
        brand: str | None,
        parent: Item | None,
        item_brand: str | None,
        *,
        rating: int | None = None,
        crisis: bool = False,
        answer: bool = False,
    ) -> SocialEvent:
        rng = self.answer_rng if answer else self.rng  # answers never move the customer stream
        ch = persona.channel
        if answer:  # a counter of their own: answers never shift the ids of the rest of the stream
            count = _ANSWER_IDS + ch.answers
            ch.answers += 1
        else:
            count = ch.count
            ch.count = count + 1
        s = (count * 0x9E3779B97F4A7C15 + ch.salt) & _MASK40  # a bijection: unique ids that look random
        s64 = (s * 0xD6E8FEB86659FD93 + ch.salt64) & _MASK64
        occurred = ch.epoch + timedelta(microseconds=us)
        received = _EPOCH_UTC + timedelta(microseconds=us + int((rng.random() * ch.lag + 0.5) * 1_000_000))
        root = parent.thread_id if parent is not None else None
        ids = (s, s64, count, us, occurred)
        event_id, url, native, raw = ch.shape(persona, kind, ids, parent, item_brand or "gadgets")
        if rating is not None:
            raw["rating"] = rating
        if kind is FOLLOW:
            raw["target_id"] = ch.brand_accounts[item_brand or persona.brand].author.id
        if kind is LIKE or kind is FOLLOW or kind is CHAT:
            metrics = _NO_METRICS
        else:
            spread = rng.lognormvariate(0.0, 1.0) * (4.0 if crisis else 1.0)
            if kind is POST or kind is MENTION or kind is REVIEW:
                likes = int(persona.reach * 0.02 * spread)  # engagement grows with the audience
            else:
                likes = int(spread * (1.0 + persona.reach**0.5 * 0.05))
            r = rng.random()
            metrics = self._metrics(likes, int(likes * 0.12 * r), int(likes * 0.3 * (1.0 - r)))
        event = SocialEvent(
            event_id=event_id,
            platform=ch.platform,
            kind=kind,
            occurred_at=occurred,
            received_at=received,
            author=persona.author,
            brand=brand,
            text=text,
            lang=None if text is None else LANGS[persona.bank],
            url=url,
            parent_id=None if parent is None else parent.event_id,
            thread_id=root,
            metrics=metrics,
            identity_hints=persona.hints,
            source="simulator",
            raw=raw,
        )
        if kind is LIKE or kind is FOLLOW or kind is CHAT:
            return event
        if kind is POST or kind is MENTION or kind is REVIEW or (kind is SHARE and ch.reposts_are_roots):
            handle = persona.author.handle or persona.author.display_name or persona.author.id
            item = Item(event_id, event_id, item_brand, url, handle, native)
            (ch.brand_roots if persona.is_brand else ch.roots).append(item)
            if crisis:
                ch.crisis_roots.append(item)
        elif parent is not None and kind is not SHARE and not answer:
            handle = persona.author.handle or persona.author.display_name or persona.author.id
            item = Item(event_id, parent.thread_id, parent.brand, parent.url, handle, parent.native)
            ch.comments.append(item)
            if crisis:
                ch.crisis_comments.append(item)
        return event


def simulate_events(config: SimulatorConfig) -> Iterator[SocialEvent]:
    """An infinite, event-time ordered stream of valid ``SocialEvent``s (``occurred_at`` strictly increasing).

    Deterministic: the same config yields the same events (ids included) on every call and machine. Lazy and
    cheap to start (the population is built on first ``next``); never raises for a valid config.
    """
    yield from _Stream(config).run()
