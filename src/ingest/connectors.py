"""The connectors file: which webhook receivers and pollers a deployment runs, each one a platform adapter
with its configuration. Pure but for reading the file (``load_connectors``); ``parse_connectors`` takes the
text.

```toml
[connectors.acme-wechat]
platform = "wechat"          # webhooks: wechat | wecom | meta | douyin; polled: x | reddit | youtube | weibo
brand = "acme"
token = "..."                # the rest is the platform's config model (ingest.adapters.<platform>)
app_id = "wx..."

[connectors.acme-x]
platform = "x"
brand = "acme"
bearer_token = "..."
query = "acme OR @acme"

[brands.acme]                # the brand's own accounts: they answer questions, they are not customers
accounts = ["weibo:1234567890", "x:44196397"]   # identity keys, <platform>:<author id>
handles = ["acme_official"]  # optional: handles, for platforms whose ids an operator does not know
```
- A connector's name (the table key) is the events' ``source``, a webhook connector's receiver URL
  (``/v1/ingest/webhooks/<name>``) and the key of a poll connector's stored cursors: lower-case letters,
  digits, ``-`` and ``_``.
- Every key may come from the environment instead, and the environment wins:
  ``SCRM_CONNECTORS__<NAME>__<KEY>`` with the name upper-cased and ``-`` written ``_`` (so
  ``SCRM_CONNECTORS__ACME_WECHAT__TOKEN``), which keeps secrets out of the file. A variable naming no
  connector of the file is an error (a typo would otherwise leave a connector without its secret).
- Secrets are ``SecretStr`` in the config models: reprs print ``**********``, and every error here names
  the connector and the key, never the value.

Adding a webhook platform is one entry in ``PLATFORMS``; a polled one, one entry in
``ingest.polling.POLLERS``.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from ingest.adapters import douyin, meta, wechat, wecom
from ingest.adapters.base import Delivery, WebhookReply, WebhookRequest
from ingest.adapters.polled import PollConfig
from ingest.contracts import Platform
from ingest.exceptions import ConnectorsFileError
from ingest.polling import POLLERS
from ingest.polling.spec import Poller

ENV_PREFIX = "SCRM_CONNECTORS__"
NAME_PATTERN = re.compile(r"^[a-z0-9_-]+$")


@dataclass(frozen=True)
class PlatformAdapter:
    """How one platform's webhooks are read: its config model, its pure ``handle`` and what a delivery it
    cannot read is answered (``dead_letter_reply``, so the platform stops retrying) and keeps of the request
    (``dead_letter_headers``: never a secret)."""

    config: type[BaseModel]
    handle: Callable[[WebhookRequest, Any], Delivery]
    dead_letter_reply: WebhookReply
    dead_letter_headers: tuple[str, ...]


PLATFORMS: Mapping[str, PlatformAdapter] = {
    "wechat": PlatformAdapter(wechat.WeChatConfig, wechat.handle, wechat.DEAD_LETTER_REPLY, wechat.DEAD_LETTER_HEADERS),
    "wecom": PlatformAdapter(wecom.WeComConfig, wecom.handle, wecom.DEAD_LETTER_REPLY, wecom.DEAD_LETTER_HEADERS),
    "meta": PlatformAdapter(meta.MetaConnector, meta.handle, meta.DEAD_LETTER_REPLY, meta.DEAD_LETTER_HEADERS),
    "douyin": PlatformAdapter(douyin.DouyinConnector, douyin.handle, douyin.DEAD_LETTER_REPLY,
                              douyin.DEAD_LETTER_HEADERS),
}
"""The registry: one entry per platform adapter, by the ``platform`` value of the connectors file."""


@dataclass(frozen=True)
class Connector:
    """One configured webhook receiver: ``config`` is the platform's config model (its ``name`` is
    ``name``)."""

    name: str
    platform: str
    config: BaseModel
    kind: ClassVar[Literal["webhook"]] = "webhook"

    @property
    def adapter(self) -> PlatformAdapter:
        return PLATFORMS[self.platform]

    @property
    def brand(self) -> str | None:
        brand: str | None = getattr(self.config, "brand", None)
        return brand

    def handle(self, request: WebhookRequest) -> Delivery:
        """The adapter's ``handle`` with this connector's config: pure; raises ``SignatureRejected`` and
        ``InvalidEvent`` as the adapter documents."""
        return self.adapter.handle(request, self.config)


@dataclass(frozen=True)
class PollConnector:
    """One configured poller: ``config`` is the platform's ``PollConfig`` model (its ``name`` is ``name``)."""

    name: str
    platform: str
    config: PollConfig
    kind: ClassVar[Literal["poll"]] = "poll"

    @property
    def brand(self) -> str | None:
        return self.config.brand

    def poller(self) -> Poller:
        """A new ``Poller`` for this connector (it may cache a token: one per engine)."""
        return POLLERS[self.platform].factory(self.config)


AnyConnector = Connector | PollConnector
"""What a table of the connectors file becomes."""


def poll_connectors(connectors: Mapping[str, AnyConnector]) -> dict[str, PollConnector]:
    """The poll connectors among ``connectors``."""
    return {name: c for name, c in connectors.items() if isinstance(c, PollConnector)}


def env_name(connector: str) -> str:
    """The environment prefix of a connector's keys, e.g. ``SCRM_CONNECTORS__ACME_WECHAT__``."""
    return f"{ENV_PREFIX}{connector.upper().replace('-', '_')}__"


def load_connectors(path: Path, environ: Mapping[str, str]) -> dict[str, AnyConnector]:
    """Read ``path`` and build its connectors (see ``parse_connectors``). Blocks on the file; raises
    ``ConnectorsFileError`` (also for a missing or unreadable file)."""
    return parse_connectors(_read(path), environ, where=str(path))


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConnectorsFileError(f"connectors file {path}: cannot read it ({type(exc).__name__})") from exc


def parse_connectors(
    text: str, environ: Mapping[str, str], *, where: str = "connectors file"
) -> dict[str, AnyConnector]:
    """The connectors ``text`` (TOML) declares, with ``environ``'s ``SCRM_CONNECTORS__*`` values over the
    file's. Pure; raises ``ConnectorsFileError`` naming the connector and key of the first problem."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConnectorsFileError(f"{where}: not TOML ({exc})") from exc
    unknown = set(document) - {"connectors", "brands"}
    if unknown:
        raise ConnectorsFileError(f"{where}: unknown top-level keys {sorted(unknown)}; expected [connectors.<name>] "
                                  "and [brands.<brand>]")
    tables = document.get("connectors", {})
    if not isinstance(tables, dict):
        raise ConnectorsFileError(f"{where}: 'connectors' must be a table of [connectors.<name>] tables")
    _brands_of(document, where)
    overrides = _env_overrides(tables, environ, where)
    return {name: _connector(name, table, overrides.get(name, {}), where) for name, table in tables.items()}


class BrandAccounts(BaseModel):
    """A brand's own accounts (``[brands.<brand>]``): identity keys ``<platform>:<author id>`` and, where
    an id is not known, handles."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    accounts: tuple[str, ...] = ()
    handles: tuple[str, ...] = ()

    @field_validator("accounts")
    @classmethod
    def _identity_keys(cls, accounts: tuple[str, ...]) -> tuple[str, ...]:
        platforms = {p.value for p in Platform}
        for key in accounts:
            platform, _, author = key.partition(":")
            if platform not in platforms or not author:
                raise ValueError(f"{key!r} is not <platform>:<author id> (platforms: {', '.join(sorted(platforms))})")
        return accounts


def brands_toml(brands: Mapping[str, BrandAccounts]) -> str:
    """``[brands.<brand>]`` tables for a connectors file."""
    tables = []
    for brand, accounts in brands.items():
        tables.append(f"[brands.{json.dumps(brand)}]\naccounts = {json.dumps(list(accounts.accounts), ensure_ascii=False)}\n"
                      f"handles = {json.dumps(list(accounts.handles), ensure_ascii=False)}\n")
    return "\n".join(tables)


def parse_brands(text: str, *, where: str = "connectors file") -> dict[str, BrandAccounts]:
    """The ``[brands.<brand>]`` tables of a connectors file. Pure; raises ``ConnectorsFileError`` naming
    the brand and the problem."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConnectorsFileError(f"{where}: not TOML ({exc})") from exc
    return _brands_of(document, where)


def _brands_of(document: Mapping[str, Any], where: str) -> dict[str, BrandAccounts]:
    tables = document.get("brands", {})
    if not isinstance(tables, dict):
        raise ConnectorsFileError(f"{where}: 'brands' must be a table of [brands.<brand>] tables")
    brands: dict[str, BrandAccounts] = {}
    for brand, table in tables.items():
        try:
            brands[brand] = BrandAccounts.model_validate(table)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'table'}: {e['msg']}" for e in exc.errors())
            raise ConnectorsFileError(f"{where}: brand {brand!r}: {problems}") from exc
    return brands


def load_brands(path: Path) -> dict[str, BrandAccounts]:
    """Read ``path`` and return its brands' accounts (see ``parse_brands``); raises ``ConnectorsFileError``."""
    return parse_brands(_read(path), where=str(path))


def _env_overrides(tables: Mapping[str, Any], environ: Mapping[str, str], where: str) -> dict[str, dict[str, str]]:
    prefixes: dict[str, str] = {}
    for name in tables:
        prefix = env_name(name)
        if prefix in prefixes:
            raise ConnectorsFileError(f"{where}: connectors {prefixes[prefix]!r} and {name!r} share the "
                                      f"environment prefix {prefix}")
        prefixes[prefix] = name
    overrides: dict[str, dict[str, str]] = {}
    for variable, value in environ.items():
        if not variable.startswith(ENV_PREFIX):
            continue
        prefix, _, key = variable.rpartition("__")
        owner = prefixes.get(prefix + "__")
        if owner is None or not key:
            raise ConnectorsFileError(f"{variable} names no connector of {where} "
                                      f"(expected {ENV_PREFIX}<NAME>__<KEY>)")
        overrides.setdefault(owner, {})[key.lower()] = value
    return overrides


def _connector(name: str, table: Any, env: Mapping[str, str], where: str) -> AnyConnector:
    if not NAME_PATTERN.match(name):
        raise ConnectorsFileError(f"{where}: connector name {name!r} must be lower-case letters, digits, - and _")
    if not isinstance(table, dict):
        raise ConnectorsFileError(f"{where}: connectors.{name} must be a table")
    values = {**table, **env}
    if "name" in values:
        raise ConnectorsFileError(f"{where}: connectors.{name}: no 'name' key (the table's name is the connector's)")
    platform = values.pop("platform", None)
    model: type[BaseModel] | None = None
    if isinstance(platform, str):
        model = PLATFORMS[platform].config if platform in PLATFORMS else None
        model = POLLERS[platform].config if platform in POLLERS else model
    if model is None or not isinstance(platform, str):
        raise ConnectorsFileError(f"{where}: connectors.{name}.platform must be one of "
                                  f"{sorted({*PLATFORMS, *POLLERS})}")
    try:
        config = model.model_validate({**values, "name": name})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or '<table>'}: {error['msg']}"
            for error in exc.errors(include_url=False, include_input=False, include_context=False)
        )
        raise ConnectorsFileError(f"{where}: connectors.{name} ({platform}): {problems}") from None
    if isinstance(config, PollConfig):
        return PollConnector(name=name, platform=platform, config=config)
    return Connector(name=name, platform=platform, config=config)
