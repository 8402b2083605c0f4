"""The CRM import's column mapping: what each column of a CRM row means, and how a cell becomes a typed
value. Pure. ``docs/importers.md`` documents the same table.

A column name is normalised (trimmed, lower-cased, spaces, hyphens and dots become ``_``); a header may
declare a type after a colon (``visits:integer``). Known columns have a fixed meaning and type, every other
column is an attribute of the declared type, else text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Literal, get_args

from ingest.contracts import Platform
from profile_store.contracts import Consent, CrmRecord, CrmStage, CrmValue

AttributeType = Literal["text", "integer", "number", "boolean", "list", "date"]
ATTRIBUTE_TYPES: tuple[AttributeType, ...] = get_args(AttributeType)

IDENTITY_COLUMNS = frozenset({"email", "phone", "handles", "wechat_unionid"}) | frozenset(
    p.value for p in Platform if p.value != "other")
"""Columns naming identity keys (linked to ``crm:<crm_id>``), never attributes."""
KNOWN_TYPES: dict[str, AttributeType] = {
    "name": "text", "tier": "text", "owner": "text", "lifetime_value": "number", "tags": "list",
    "loyalty_member": "boolean", "is_member": "boolean",
}
"""Attributes whose type is fixed without a declaration."""
CONSENT_COLUMNS: dict[str, tuple[str, bool]] = {
    **{f"{prefix}{channel}{suffix}": (channel, False)
       for channel in ("contact", "marketing", "analytics")
       for prefix, suffix in (("consent_", ""), ("", "_consent"), ("opt_in_", ""), ("", "_opt_in"))},
    **{f"{prefix}{channel}{suffix}": (channel, True)
       for channel in ("contact", "marketing", "analytics")
       for prefix, suffix in (("opt_out_", ""), ("", "_opt_out"))},
    "do_not_contact": ("contact", True),
}
"""Consent columns (booleans): the channel each sets, and whether the column says the opposite (an
opt-out: ``do_not_contact`` true means contact refused)."""
STAGE_COLUMNS = frozenset({"stage", "lifecycle", "lifecycle_stage"})
STAGE_WORDS: dict[str, CrmStage] = {
    "lead": "prospect", "prospect": "prospect", "opportunity": "prospect", "潜在客户": "prospect", "线索": "prospect",
    "customer": "customer", "client": "customer", "active": "customer", "inactive": "customer",
    "churned": "customer", "former_customer": "customer", "客户": "customer",
    "member": "member", "loyalty": "member", "loyalty_member": "member", "vip": "member", "会员": "member",
}
"""Stage words (normalised like column names); another word is kept as the text attribute ``stage`` and
the stage follows the loyalty columns, as without a stage column."""
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "crm_id": ("customer_id", "customer_no", "customer_number", "客户id", "客户编号", "客户号", "client_id",
               "member_id", "会员id", "会员号", "contact_id", "account_id", "id"),
    "name": ("full_name", "customer_name", "contact_name", "姓名", "客户名称", "名称"),
    "email": ("e_mail", "email_address", "mail", "邮箱", "电子邮件"),
    "phone": ("mobile", "mobile_phone", "phone_number", "tel", "telephone", "手机", "手机号", "电话"),
    "tier": ("level", "customer_tier", "等级", "会员等级"),
    "owner": ("account_owner", "sales_owner", "负责人"),
    "lifetime_value": ("ltv", "clv", "total_spend", "累计消费"),
}
"""Other names CRM exports give the known columns (normalised), most specific first: a column so named
reads as the known one when the file has no column of the known name itself (the first alias in this order
wins; the others stay attributes)."""
COMPUTED_PREFIX = "scrm_"
"""Columns ``export-crm`` computes (lifecycle, influence, ...): ignored on import, never attributes."""

_TRUE = frozenset({"true", "t", "yes", "y", "1", "on", "是", "x"})
_FALSE = frozenset({"false", "f", "no", "n", "0", "off", "否"})
_NOT_MEMBER = _FALSE | frozenset({"none", "n/a", "na", "-", "null"})
_LIST_SEPARATORS = re.compile(r"\s*[;,|]\s*")
_NORMALISE = re.compile(r"[\s\-.]+")
_CURRENCY = re.compile(r"^[¥￥$€£]|(元|RMB|CNY|USD|EUR)$|\s", re.I)
"""A currency sign before a number or a currency name after it, and spaces: ``¥1,200``, ``1200 元``."""


def normalise_column(header: str) -> tuple[str, AttributeType | None]:
    """``(name, declared type)`` of a header cell. Raises ``ValueError`` for an unknown declared type."""
    name, colon, declared = header.strip().rpartition(":") if ":" in header else (header.strip(), "", "")
    normalised = _NORMALISE.sub("_", name.strip().lower()).strip("_")
    if not colon:
        return normalised, None
    kind = declared.strip().lower()
    if kind not in ATTRIBUTE_TYPES:
        raise ValueError(f"column {header.strip()!r}: unknown type {declared.strip()!r} "
                         f"(one of {', '.join(ATTRIBUTE_TYPES)})")
    return normalised, kind  # type: ignore[return-value]


def canonical_names(names: list[str]) -> list[str]:
    """``names`` with, for each known column the file lacks, its first alias present renamed to it."""
    renamed = list(names)
    for known, aliases in COLUMN_ALIASES.items():
        if known in renamed:
            continue
        alias = next((a for a in aliases if a in renamed), None)
        if alias is not None:
            renamed[renamed.index(alias)] = known
    return renamed


def header_of(name: str, value: CrmValue) -> str:
    """The CSV header cell that reads ``value`` back as its type: the bare name when the name's default
    type (the known column's, else text) already does, else ``name:type``."""
    kind = type_of_value(value)
    return name if kind == KNOWN_TYPES.get(name, "text") else f"{name}:{kind}"


def type_of_value(value: CrmValue) -> AttributeType:
    """The attribute type a stored value has (dates are stored as ISO text)."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, tuple):
        return "list"
    return "text"


def parse_cell(text: str, kind: AttributeType) -> CrmValue:
    """A non-empty cell read as ``kind``. Raises ``ValueError`` naming the expected type (never the value:
    CRM cells are personal data)."""
    value = text.strip()
    if kind == "text":
        return value
    if kind == "list":
        return tuple(item for item in _LIST_SEPARATORS.split(value) if item)
    if kind == "boolean":
        return parse_boolean(value)
    if kind == "date":
        try:
            return (datetime.fromisoformat(value) if "T" in value or " " in value else date.fromisoformat(value)).isoformat()
        except ValueError:
            raise ValueError("not an ISO 8601 date") from None
    number = _CURRENCY.sub("", value).replace(",", "").replace("_", "")
    try:
        return int(number) if kind == "integer" else float(number)
    except ValueError:
        raise ValueError(f"not {'an integer' if kind == 'integer' else 'a number'}") from None


def parse_boolean(text: str) -> bool:
    """``true``/``false`` and their usual spellings (yes/no, y/n, 1/0, on/off, 是/否). Raises ``ValueError``."""
    word = text.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError("not a boolean (true/false, yes/no, 1/0)")


def parse_stage(text: str) -> CrmStage | None:
    """The stage a stage cell names (``STAGE_WORDS``), or ``None`` for another word."""
    return STAGE_WORDS.get(_NORMALISE.sub("_", text.strip().lower()))


def default_stage(attributes: Mapping[str, CrmValue]) -> CrmStage:
    """The stage of a row without a (known) stage word: ``member`` when a loyalty column says so, else
    ``customer``."""
    member = any(is_loyalty_column(name) and marks_member(value) for name, value in attributes.items())
    return "member" if member else "customer"


def merge_record(stored: CrmRecord, new: CrmRecord, columns: frozenset[str]) -> CrmRecord:
    """What a re-import makes of a stored record: the file's ``columns`` (normalised names, empty cells
    included) replace what they name — an attribute, a consent channel, the stage (a stage or loyalty
    column) — and everything the file has no column for is kept; identities are the union."""
    attributes = {k: v for k, v in stored.attributes.items() if k not in columns} | new.attributes
    named = {CONSENT_COLUMNS[c][0] for c in columns if c in CONSENT_COLUMNS}
    consent = Consent(**{channel: getattr(new.consent if channel in named else stored.consent, channel)
                         for channel in Consent.model_fields})
    speaks = bool(columns & STAGE_COLUMNS) or any(is_loyalty_column(c) for c in columns)
    return new.model_copy(update={
        "attributes": attributes, "consent": consent, "stage": new.stage if speaks else stored.stage,
        "identities": tuple(dict.fromkeys((*stored.identities, *new.identities))),
    })


def is_loyalty_column(name: str) -> bool:
    """A column that marks loyalty membership (its name mentions loyalty or membership)."""
    return "loyal" in name or "member" in name


def marks_member(value: CrmValue) -> bool:
    """Whether a loyalty column's value says the customer is a member: true, a positive number, a
    non-empty list, or text that is not a "no" word (``none``, ``no``, ``0``, ``-``...)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value > 0
    if isinstance(value, tuple):
        return bool(value)
    return value.strip().lower() not in _NOT_MEMBER
