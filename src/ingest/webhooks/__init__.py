"""Webhook signature schemes and the small platform clients push connectors need (WeChat/WeCom crypto, the
WeCom 微信客服 pull)."""
