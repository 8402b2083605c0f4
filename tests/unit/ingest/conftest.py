"""Fixtures of the ingest adapter tests: connector configs for the WeChat Official Account and WeCom
adapters (builders for requests and payloads live in ``wechat_builders``). Nothing here touches the
network but the 127.0.0.1 stand-in the WeCom 微信客服 client tests start themselves."""

from __future__ import annotations

import pytest
from wechat_builders import wechat_config, wecom_config

from ingest.adapters.wechat import WeChatConfig
from ingest.adapters.wecom import WeComConfig


@pytest.fixture
def oa_config() -> WeChatConfig:
    """An Official Account connector with an EncodingAESKey (plain, compatible and safe mode all work)."""
    return wechat_config()


@pytest.fixture
def wecom() -> WeComConfig:
    """A WeCom connector (callbacks and the 微信客服 pull)."""
    return wecom_config()
