"""Identity keys: how a person is named in the identity graph.

Platform accounts are ``<platform>:<author.id>``; linking keys come from identity hints and CRM rows:
``email:<lower-cased>``, ``phone:<E.164>``, ``wechat_unionid:<id>``, ``crm:<crm id>``. Pure functions.
"""

from __future__ import annotations

import phonenumbers

from ingest.contracts import IdentityHints, Platform

LINKING_PREFIXES = ("email", "phone", "wechat_unionid", "crm")
DEFAULT_PHONE_REGION = "CN"


def normalise_email(email: str) -> str | None:
    """Lower-cased, trimmed address, or ``None`` when it is not plausibly an address."""
    value = email.strip().lower()
    local, _, domain = value.partition("@")
    return value if local and "." in domain and " " not in value else None


def normalise_phone(phone: str, default_region: str = DEFAULT_PHONE_REGION) -> str | None:
    """E.164 form (``+8613800138000``), or ``None`` when the number is not valid. Numbers without a
    country code are read in ``default_region``."""
    try:
        parsed = phonenumbers.parse(phone, default_region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def linking_keys(hints: IdentityHints) -> list[str]:
    """The linking identity keys the hints name (invalid email/phone values are ignored)."""
    keys = []
    if hints.email and (email := normalise_email(hints.email)):
        keys.append(f"email:{email}")
    if hints.phone and (phone := normalise_phone(hints.phone)):
        keys.append(f"phone:{phone}")
    if hints.wechat_unionid and hints.wechat_unionid.strip():
        keys.append(f"wechat_unionid:{hints.wechat_unionid.strip()}")
    if hints.crm_id and hints.crm_id.strip():
        keys.append(f"crm:{hints.crm_id.strip()}")
    return keys


def without_keys(hints: IdentityHints, keys: set[str]) -> IdentityHints:
    """``hints`` without the fields whose linking key is one of ``keys`` (an erased person's e-mail that
    another account states: it links nothing, and is not stored again)."""
    cleared = {field: None for field in IdentityHints.model_fields if getattr(hints, field)
               and keys.intersection(linking_keys(IdentityHints.model_validate({field: getattr(hints, field)})))}
    return hints.model_copy(update=cleared) if cleared else hints


def parse_identity_key(value: str) -> str:
    """Validate and normalise a user-supplied identity key (``weibo:123``, ``email:A@B.com``,
    ``phone:+86 138...``). Raises ``ValueError`` with the reason."""
    prefix, sep, rest = value.strip().partition(":")
    prefix = prefix.lower()
    if not sep or not rest.strip():
        raise ValueError(f"identity key {value!r} must look like <platform>:<id> or email:/phone:/crm:/wechat_unionid:")
    if prefix == "email":
        email = normalise_email(rest)
        if email is None:
            raise ValueError(f"not an email address: {rest!r}")
        return f"email:{email}"
    if prefix == "phone":
        phone = normalise_phone(rest)
        if phone is None:
            raise ValueError(f"not a valid phone number: {rest!r}")
        return f"phone:{phone}"
    if prefix in LINKING_PREFIXES:
        return f"{prefix}:{rest.strip()}"
    if prefix not in {platform.value for platform in Platform}:
        raise ValueError(f"unknown identity kind {prefix!r}")
    return f"{prefix}:{rest.strip()}"


def is_platform_key(identity_key: str) -> bool:
    """True for ``<platform>:<id>`` keys (accounts that act), false for linking keys."""
    return identity_key.partition(":")[0] not in LINKING_PREFIXES
