"""The author population of one config: platform accounts, names, followers, dispositions, identities.

``Population`` is drawn once per stream, deterministically from the config's seed: each person's home
platform, language, name, disposition, brand, product, activity and timezone. About 5% of people get a
second account on another platform sharing an email or phone in ``identity_hints``; many WeChat users get a
``wechat_unionid`` (shared with their WeCom external-contact account), a few a ``crm_id``. Every platform
also gets one verified account per brand.
"""

from __future__ import annotations

import random
from typing import Any

from ingest.connectors import BrandAccounts
from ingest.contracts import Author, IdentityHints, Platform
from ingest.simulator.config import SimulatorConfig
from ingest.simulator.draws import B36, B62, B64, HEX, chars, cumulative, pick
from ingest.simulator.templates import EN, HANS, PRODUCTS

CHINESE = (Platform.WEIBO, Platform.WECHAT, Platform.DOUYIN, Platform.XIAOHONGSHU, Platform.ZHIHU)
_WESTERN = (Platform.X, Platform.REDDIT, Platform.YOUTUBE, Platform.FACEBOOK, Platform.INSTAGRAM)
# fmt: off
HOME_WEIGHTS = {  # relative number of people whose home is each platform
    Platform.WEIBO: 22, Platform.WECHAT: 18, Platform.DOUYIN: 16, Platform.XIAOHONGSHU: 12,
    Platform.ZHIHU: 7, Platform.X: 7, Platform.REDDIT: 4, Platform.YOUTUBE: 5, Platform.FACEBOOK: 4,
    Platform.INSTAGRAM: 5,
}
_LANG_WEIGHTS = {  # (zh-Hans, zh-Hant, en) shares per platform
    Platform.WEIBO: (88, 12, 0), Platform.WECHAT: (97, 3, 0), Platform.DOUYIN: (97, 3, 0),
    Platform.XIAOHONGSHU: (95, 5, 0), Platform.ZHIHU: (97, 3, 0), Platform.X: (10, 5, 85),
    Platform.REDDIT: (5, 3, 92), Platform.YOUTUBE: (8, 4, 88), Platform.FACEBOOK: (10, 30, 60),
    Platform.INSTAGRAM: (12, 28, 60),
}
_FOLLOWERS = {  # log-normal (mu, sigma) of follower counts; None: no public follower count
    Platform.WEIBO: (5.5, 1.8), Platform.WECHAT: None, Platform.DOUYIN: (5.5, 2.0),
    Platform.XIAOHONGSHU: (5.0, 1.8), Platform.ZHIHU: (4.5, 1.8), Platform.X: (5.0, 1.9),
    Platform.REDDIT: (2.0, 1.5), Platform.YOUTUBE: (1.0, 2.0), Platform.FACEBOOK: (5.5, 0.8),
    Platform.INSTAGRAM: (5.5, 1.6),
}
_DISPOSITIONS = ("neutral", "positive", "detractor", "advocate", "buyer")
_DISPOSITION_WEIGHTS = (45, 25, 12, 8, 10)
_INTENT_WEIGHTS = {  # in INTENTS order
    "neutral":   ( 7,  4,  7,  4, 10, 10, 15,  1, 10,  3,  1, 28),
    "positive":  ( 3,  1,  2,  1, 40, 15, 10,  0, 15,  2,  0, 11),
    "detractor": (15, 18, 12, 18,  1,  1,  4, 12,  0, 10,  5,  4),
    "advocate":  ( 1,  0,  1,  0, 45, 25,  8,  0, 10,  1,  0,  9),
    "buyer":     ( 3,  1, 15,  2,  5, 45, 20,  0,  7,  1,  0,  1),
}
# local-hour activity (0..23): quiet at night, peaks in the evening
_ACTIVITY = (0.45, 0.28, 0.17, 0.11, 0.09, 0.12, 0.25, 0.5, 0.8, 0.95, 1.0, 1.05,
             1.2, 1.0, 0.95, 0.95, 1.0, 1.05, 1.15, 1.3, 1.5, 1.6, 1.35, 0.85)
_WEST_OFFSETS = ((-5, 40), (-8, 20), (0, 25), (8, 10), (11, 5))  # (UTC offset h, weight) of en authors

# (simplified, traditional, pinyin)
_SURNAMES = [
    n.split("/")
    for n in [
        "王/王/wang", "李/李/li", "张/張/zhang", "刘/劉/liu", "陈/陳/chen", "杨/楊/yang", "黄/黃/huang",
        "赵/趙/zhao", "吴/吳/wu", "周/周/zhou", "徐/徐/xu", "孙/孫/sun", "马/馬/ma", "朱/朱/zhu", "胡/胡/hu",
        "郭/郭/guo", "林/林/lin", "何/何/he", "高/高/gao", "罗/羅/luo",
    ]
]
_GIVEN = [
    n.split("/")
    for n in [
        "伟/偉/wei", "芳/芳/fang", "娜/娜/na", "敏/敏/min", "静/靜/jing", "丽/麗/li", "强/強/qiang", "磊/磊/lei",
        "洋/洋/yang", "杰/傑/jie", "涛/濤/tao", "明/明/ming", "超/超/chao", "华/華/hua", "慧/慧/hui",
        "婷/婷/ting", "宇/宇/yu", "欣怡/欣怡/xinyi", "子涵/子涵/zihan", "浩然/浩然/haoran", "雨桐/雨桐/yutong",
        "志明/志明/zhiming", "家豪/家豪/jiahao", "淑芬/淑芬/shufen",
    ]
]
# (simplified, traditional)
_NICK_PREFIX = [
    n.split("/")
    for n in [
        "爱吃火锅的/愛吃火鍋的", "不想上班的/不想上班的", "熬夜的/熬夜的", "快乐的/快樂的", "骑单车的/騎單車的",
        "想去旅行的/想去旅行的",
    ]
]
_FIRST = [
    "James", "Mary", "John", "Linda", "Michael", "Sarah", "David", "Emily", "Chris", "Jessica", "Daniel",
    "Ashley", "Matt", "Olivia", "Ryan", "Sophia", "Kevin", "Grace", "Jason", "Chloe",
]
_LAST = [
    "Smith", "Johnson", "Brown", "Garcia", "Miller", "Davis", "Wilson", "Taylor", "Clark", "Lewis",
    "Walker", "Young", "Allen", "King", "Wright", "Scott", "Green", "Baker", "Nguyen", "Chen",
]
# fmt: on
_CN_MAIL = ("qq.com", "163.com", "126.com", "foxmail.com", "sina.com")
_EN_MAIL = ("gmail.com", "outlook.com", "yahoo.com", "icloud.com")


class Persona:
    """One platform account of the population, precomputed so per-event work stays tiny."""

    __slots__ = (
        "platform",
        "author",
        "hints",
        "bank",
        "intent_cum",
        "brand",
        "product",
        "activity",
        "offset",
        "reach",
        "wecom",
        "is_brand",
        "channel",
    )

    def __init__(
        self,
        platform: Platform,
        author: Author,
        hints: IdentityHints,
        bank: int,
        disposition: str,
        brand: str,
        product: int,
        activity: float,
        offset: int,
    ) -> None:
        self.platform = platform
        self.author = author
        self.hints = hints
        self.bank = bank
        self.intent_cum = cumulative(_INTENT_WEIGHTS[disposition])
        self.brand = brand
        self.product = product
        self.activity = activity
        self.offset = offset
        self.reach = float(author.followers if author.followers is not None else 60)
        self.wecom: Persona | None = None
        self.is_brand = False
        self.channel: Any = None  # the platform's channel, attached by the stream


class Population:
    """The author population and brand accounts of one config; deterministic for its seed."""

    def __init__(self, config: SimulatorConfig) -> None:
        rng = random.Random(config.seed * 1_000_003 + 11)
        self._ids: dict[Platform, set[str]] = {}
        self._contacts: set[str] = set()
        self.personas: list[Persona] = []
        self.brand_accounts: dict[tuple[Platform, str], Persona] = {}
        platforms = list(HOME_WEIGHTS)
        home_cum = cumulative([float(HOME_WEIGHTS[p]) for p in platforms])
        brand_cum = cumulative([1.0 / (i + 1) for i in range(len(config.brands))])
        disp_cum = cumulative(_DISPOSITION_WEIGHTS)
        west_cum = cumulative([float(w) for _, w in _WEST_OFFSETS])
        for index in range(config.customers):
            home = platforms[pick(rng, home_cum)]
            bank = pick(rng, cumulative(_LANG_WEIGHTS[home]))
            name = self._name(rng, bank)
            disposition = _DISPOSITIONS[pick(rng, disp_cum)]
            brand = config.brands[pick(rng, brand_cum)]
            product = rng.randrange(len(PRODUCTS[0]))
            activity = rng.lognormvariate(0.0, 0.9)
            offset = 8 if bank != EN else _WEST_OFFSETS[pick(rng, west_cum)][0]
            second: Platform | None = None
            if rng.random() < 0.05:
                pool = [p for p in (_WESTERN if bank == EN else platforms) if p != home]
                second = rng.choice(pool)
            email = phone = None
            roll = rng.random()
            if second is not None and roll < 0.5 or second is None and roll < 0.10:
                email = self._email(rng, bank, name[2], index)
            elif second is not None or roll < 0.16:
                phone = self._phone(rng, bank)
            crm_id = f"CRM-{rng.randrange(10**7):07d}" if rng.random() < 0.03 else None
            for platform in (home,) if second is None else (home, second):
                unionid = None
                if platform is Platform.WECHAT and rng.random() < 0.45:
                    unionid = "o" + chars(rng, B64, 27)
                hints = IdentityHints(email=email, phone=phone, wechat_unionid=unionid, crm_id=crm_id)
                author = self._author(rng, platform, name)
                persona = Persona(
                    platform, author, hints, bank, disposition, brand, product, activity, offset
                )
                if platform is Platform.WECHAT and rng.random() < 0.5:
                    wecom_id = "wm" + chars(rng, B62, 30)
                    wecom_author = Author(id=wecom_id, display_name=author.display_name)
                    persona.wecom = Persona(
                        Platform.WECOM,
                        wecom_author,
                        IdentityHints(wechat_unionid=unionid),
                        bank,
                        disposition,
                        brand,
                        product,
                        activity,
                        offset,
                    )
                self.personas.append(persona)
        for platform in platforms:
            for brand in config.brands:
                self.brand_accounts[platform, brand] = self._brand_account(rng, platform, brand)
        self.by_platform: dict[Platform, tuple[list[Persona], list[float]]] = {}
        for platform in platforms:
            members = [p for p in self.personas if p.platform is platform]
            if members:
                self.by_platform[platform] = (members, cumulative([p.activity for p in members]))
        # per UTC hour: cumulative selection weights and the relative total rate
        self.hour_cum: list[list[float]] = []
        totals = []
        for hour in range(24):
            cum = cumulative([p.activity * _ACTIVITY[(hour + p.offset) % 24] for p in self.personas])
            self.hour_cum.append(cum)
            totals.append(cum[-1])
        mean = sum(totals) / 24
        self.hour_rate = [t / mean for t in totals]

    def _unique(self, platform: Platform, make: Any) -> str:
        seen = self._ids.setdefault(platform, set())
        while True:
            value: str = make()
            if value not in seen:
                seen.add(value)
                return value

    def _name(self, rng: random.Random, bank: int) -> tuple[str, str, str]:
        """(display name, handle stem, email stem)."""
        if bank == EN:
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            style = rng.random()
            display = (
                f"{first} {last}" if style < 0.7 else first.lower() if style < 0.85 else f"{first} {last[0]}."
            )
            stem = (
                f"{first.lower()}{last[0].lower()}"
                if rng.random() < 0.5
                else f"{first.lower()}_{last.lower()}"
            )
            return display, stem, f"{first.lower()}.{last.lower()}"
        script = 0 if bank == HANS else 1
        sur, given = rng.choice(_SURNAMES), rng.choice(_GIVEN)
        style = rng.random()
        if style < 0.35:
            display = sur[script] + given[script]
        elif style < 0.55:
            display = "小" + given[script][-1]
        elif style < 0.7:
            display = given[script] + ("同学" if script == 0 else "同學")
        else:
            display = rng.choice(_NICK_PREFIX)[script] + (
                "小" + sur[script] if rng.random() < 0.6 else ("猫咪", "貓咪")[script]
            )
        return display, f"{given[2]}{sur[2]}", f"{given[2]}.{sur[2]}"

    def _email(self, rng: random.Random, bank: int, stem: str, index: int) -> str:
        domains = _EN_MAIL if bank == EN else _CN_MAIL
        email = f"{stem}{rng.randrange(10, 99)}@{rng.choice(domains)}"
        if email in self._contacts:
            email = f"{stem}.{index}@{domains[0]}"  # index makes it unique
        self._contacts.add(email)
        return email

    def _phone(self, rng: random.Random, bank: int) -> str:
        while True:
            if bank == EN:
                phone = f"+1{rng.choice((212, 415, 646, 310, 617))}555{rng.randrange(10**4):04d}"
            else:
                phone = f"+86{rng.choice((138, 139, 150, 186, 135, 177))}{rng.randrange(10**8):08d}"
            if phone not in self._contacts:
                self._contacts.add(phone)
                return phone

    def _author(self, rng: random.Random, platform: Platform, name: tuple[str, str, str]) -> Author:
        display, stem, _ = name
        handle: str | None = f"{stem}{rng.randrange(100, 9999)}"
        make = {
            Platform.WEIBO: lambda: str(rng.randrange(1_000_000_000, 7_999_999_999)),
            Platform.WECHAT: lambda: "o" + chars(rng, B64, 27),
            Platform.DOUYIN: lambda: "MS4wLjABAAAA" + chars(rng, B64, 43),
            Platform.XIAOHONGSHU: lambda: chars(rng, HEX, 24),
            Platform.ZHIHU: lambda: chars(rng, HEX, 32),
            Platform.X: lambda: str(rng.randrange(10**17, 2 * 10**18)),
            Platform.REDDIT: lambda: "t2_" + chars(rng, B36, 8),
            Platform.YOUTUBE: lambda: "UC" + chars(rng, B64, 22),
            Platform.FACEBOOK: lambda: str(rng.randrange(10**15, 10**16)),
            Platform.INSTAGRAM: lambda: str(rng.randrange(17_841_400_000_000_000, 17_841_499_999_999_999)),
        }[platform]
        if platform is Platform.WEIBO:
            handle = display if rng.random() < 0.5 else f"{display}_{rng.randrange(10, 999)}"
        elif platform is Platform.WECHAT:
            handle = None
        params = _FOLLOWERS[platform]
        followers = None if params is None else int(rng.lognormvariate(*params))
        verified = params is not None and rng.random() < 0.015
        if verified:  # an influencer: Pareto-tailed audience from 100k up
            followers = min(int(100_000 * rng.paretovariate(1.2)), 80_000_000)
        return Author(
            id=self._unique(platform, make),
            handle=handle,
            display_name=display,
            followers=followers,
            verified=verified,
        )

    def _brand_account(self, rng: random.Random, platform: Platform, brand: str) -> Persona:
        title = brand[:1].upper() + brand[1:]
        suffix = {
            Platform.WEIBO: "官方微博",
            Platform.WECHAT: "服务号",
            Platform.DOUYIN: "官方旗舰店",
            Platform.XIAOHONGSHU: "官方号",
            Platform.ZHIHU: "官方",
        }.get(platform, "")
        display = title + suffix
        handle = (
            display
            if platform is Platform.WEIBO
            else None
            if platform is Platform.WECHAT
            else f"{brand}_official"
        )
        if platform is Platform.WECHAT:
            author_id = "gh_" + chars(rng, HEX, 12)
        else:
            author_id = self._author(rng, platform, (display, brand, brand)).id
        author = Author(
            id=author_id,
            handle=handle,
            display_name=display,
            followers=None if platform is Platform.WECHAT else rng.randrange(200_000, 5_000_000),
            verified=True,
        )
        bank = HANS if platform in CHINESE else EN
        persona = Persona(platform, author, IdentityHints(), bank, "positive", brand, 0, 1.0, 8)
        persona.is_brand = True
        return persona


def brand_accounts(config: SimulatorConfig) -> dict[str, BrandAccounts]:
    """The simulated brands' own accounts, as a connectors file's ``[brands.<brand>]`` tables would list
    them (identity keys on every platform, and their handles)."""
    population = Population(config)
    out: dict[str, BrandAccounts] = {}
    for brand in config.brands:
        personas = [p for (_, b), p in sorted(population.brand_accounts.items(), key=lambda kv: kv[0][0].value)
                    if b == brand]
        out[brand] = BrandAccounts(
            accounts=tuple(f"{p.platform.value}:{p.author.id}" for p in personas),
            handles=tuple(dict.fromkeys(p.author.handle for p in personas if p.author.handle)),
        )
    return out

