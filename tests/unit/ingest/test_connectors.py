"""The connectors file: TOML tables of connectors, secrets from the environment, clear errors that never
show a secret."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from ingest.adapters.meta import MetaConnector
from ingest.adapters.wechat import WeChatConfig
from ingest.connectors import (
    PLATFORMS,
    env_name,
    load_brands,
    load_connectors,
    parse_brands,
    parse_connectors,
)
from ingest.exceptions import ConnectorsFileError

FILE = textwrap.dedent("""
    [connectors.acme-wechat]
    platform = "wechat"
    brand = "acme"
    token = "fileToken123"
    app_id = "wx1234567890abcdef"

    [connectors.acme_meta]
    platform = "meta"
    brand = "acme"
    app_secret = "file-app-secret"
    verify_token = "file-verify-token"
""")


def test_each_table_becomes_a_connector_of_its_platform_named_by_its_table():
    connectors = parse_connectors(FILE, {})
    assert sorted(connectors) == ["acme-wechat", "acme_meta"]
    wechat = connectors["acme-wechat"]
    assert (wechat.platform, wechat.brand) == ("wechat", "acme")
    assert isinstance(wechat.config, WeChatConfig) and wechat.config.name == "acme-wechat"
    assert isinstance(connectors["acme_meta"].config, MetaConnector)
    assert connectors["acme_meta"].adapter is PLATFORMS["meta"]


def test_environment_values_override_the_file_under_the_upper_cased_name():
    environ = {"SCRM_CONNECTORS__ACME_WECHAT__TOKEN": "envToken456",
               "SCRM_CONNECTORS__ACME_META__APP_SECRET": "env-app-secret", "OTHER": "x"}
    connectors = parse_connectors(FILE, environ)
    assert connectors["acme-wechat"].config.token.get_secret_value() == "envToken456"  # type: ignore[attr-defined]
    assert connectors["acme_meta"].config.app_secret.get_secret_value() == "env-app-secret"  # type: ignore[attr-defined]
    assert env_name("acme-wechat") == "SCRM_CONNECTORS__ACME_WECHAT__"


def test_a_secret_may_come_only_from_the_environment():
    text = '[connectors.m]\nplatform = "meta"\nverify_token = "v"\n'
    connectors = parse_connectors(text, {"SCRM_CONNECTORS__M__APP_SECRET": "only-in-env"})
    assert connectors["m"].config.app_secret.get_secret_value() == "only-in-env"  # type: ignore[attr-defined]


def test_secrets_never_appear_in_reprs():
    connectors = parse_connectors(FILE, {})
    shown = repr(connectors)
    for secret in ("fileToken123", "file-app-secret", "file-verify-token"):
        assert secret not in shown


@pytest.mark.parametrize("name", ["Acme", "acme wechat", "acme.wechat", "é"])
def test_a_name_outside_lower_case_letters_digits_dash_and_underscore_is_refused(name):
    with pytest.raises(ConnectorsFileError, match="lower-case letters, digits"):
        parse_connectors(f'[connectors."{name}"]\nplatform = "meta"\n', {})


def test_an_unknown_platform_is_refused_naming_the_known_ones():
    with pytest.raises(ConnectorsFileError, match=r"connectors.x.platform must be one of \['douyin', 'meta'"):
        parse_connectors('[connectors.x]\nplatform = "myspace"\n', {})


def test_an_invalid_value_names_the_connector_and_key_but_never_the_value():
    text = '[connectors.w]\nplatform = "wechat"\ntoken = "t"\napp_id = "wx1"\nencoding_aes_key = "SECRETVALUE"\n'
    with pytest.raises(ConnectorsFileError) as caught:
        parse_connectors(text, {})
    message = str(caught.value)
    assert "connectors.w (wechat)" in message and "encoding_aes_key" in message
    assert "SECRETVALUE" not in message


def test_a_missing_secret_and_an_unknown_key_are_named():
    with pytest.raises(ConnectorsFileError, match=r"app_secret: Field required.*colour: Extra inputs"):
        parse_connectors('[connectors.m]\nplatform = "meta"\nverify_token = "v"\ncolour = "red"\n', {})


def test_an_environment_variable_naming_no_connector_is_refused():
    with pytest.raises(ConnectorsFileError, match="SCRM_CONNECTORS__ACME_WECHATT__TOKEN names no connector"):
        parse_connectors(FILE, {"SCRM_CONNECTORS__ACME_WECHATT__TOKEN": "typo"})


def test_two_names_with_one_environment_prefix_are_refused():
    text = '[connectors.a-b]\nplatform = "meta"\n[connectors.a_b]\nplatform = "meta"\n'
    with pytest.raises(ConnectorsFileError, match="share the environment prefix SCRM_CONNECTORS__A_B__"):
        parse_connectors(text, {})


def test_a_name_key_inside_a_table_is_refused():
    with pytest.raises(ConnectorsFileError, match="no 'name' key"):
        parse_connectors('[connectors.m]\nplatform = "meta"\nname = "other"\n', {})


def test_broken_toml_and_a_missing_file_are_clear_errors(tmp_path: Path):
    with pytest.raises(ConnectorsFileError, match="not TOML"):
        parse_connectors("[connectors.m\n", {})
    with pytest.raises(ConnectorsFileError, match="cannot read it"):
        load_connectors(tmp_path / "missing.toml", {})
    path = tmp_path / "connectors.toml"
    path.write_text(FILE, encoding="utf-8")
    assert sorted(load_connectors(path, {})) == ["acme-wechat", "acme_meta"]


def test_brand_tables_name_each_brands_own_accounts(tmp_path: Path):
    text = FILE + textwrap.dedent("""
        [brands.acme]
        accounts = ["weibo:5591632313", "x:1676070087321220954"]
        handles = ["acme_official"]

        [brands.lumo]
        accounts = ["wechat:gh_9c40d710a893"]
    """)
    path = tmp_path / "connectors.toml"
    path.write_text(text, encoding="utf-8")
    brands = load_brands(path)
    assert brands["acme"].accounts == ("weibo:5591632313", "x:1676070087321220954")
    assert brands["acme"].handles == ("acme_official",) and brands["lumo"].handles == ()
    assert sorted(parse_connectors(text, {})) == ["acme-wechat", "acme_meta"], "brands are no connectors"


@pytest.mark.parametrize(("table", "problem"), [
    ('accounts = ["5591632313"]', "is not <platform>:<author id>"),
    ('accounts = ["myspace:1"]', "is not <platform>:<author id>"),
    ('owners = ["li"]', "owners: Extra inputs are not permitted"),
])
def test_a_brand_account_that_is_no_identity_key_is_refused_naming_the_brand(table: str, problem: str):
    with pytest.raises(ConnectorsFileError, match=f"brand 'acme': .*{problem}"):
        parse_brands(f"[brands.acme]\n{table}\n")
    with pytest.raises(ConnectorsFileError, match="brand 'acme'"):
        parse_connectors(f"[brands.acme]\n{table}\n", {})
