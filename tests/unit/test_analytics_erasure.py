"""``analytics.erasure`` on chDB: an erased account's alerts are redacted (title and dedup key, ids emptied)
and its events deleted, while another account whose id merely starts with the same characters keeps all."""

from __future__ import annotations

from datetime import UTC, datetime

from analytics.erasure import AnalyticsSubject, erase_person, traces
from analytics.schema.tables import ALERT_COLUMNS

AT = datetime(2032, 9, 1, 9, 0, tzinfo=UTC)


def _alert(alert_id: str, account: str, handle: str) -> tuple:
    values = {"alert_id": alert_id, "incident_id": f"i-{alert_id}", "rule": "advocate_content", "kind": "opportunity",
              "severity": 2, "title": f"New content from advocate {handle} ({account})",
              "dedup_key": f"opportunity:advocate_content:acme:{account}", "customer_id": f"c-{account}",
              "event_id": f"e-{alert_id}", "event_key": f"{account}/e-{alert_id}", "platform": "weibo",
              "brand": "acme", "topic": "", "language": "en", "occurred_at": AT, "recorded_at": AT}
    return tuple(values[c] for c in ALERT_COLUMNS)


def test_erasure_redacts_the_persons_alerts_and_leaves_a_lookalike_id_alone(chdb_storage) -> None:
    client = chdb_storage.analytics
    client.insert("alerts", [_alert("a1", "weibo:123", "Ximena Q"), _alert("a2", "weibo:1234", "Yusuf R")],
                  ALERT_COLUMNS)
    subject = AnalyticsSubject(identity_keys=("weibo:123",), customer_ids=("c-weibo:123",),
                               event_keys=("weibo:123/e-a1",), needles=("c-weibo:123", "weibo:123", "Ximena Q"))

    counts = erase_person(client, subject)

    assert counts["clickhouse.alerts"] == 1 and counts["clickhouse.old_parts_left"] == 0
    _, rows = client.query(f"SELECT alert_id, title, dedup_key, customer_id, event_key FROM {client.database}.alerts "
                           "FINAL ORDER BY alert_id")
    assert rows == [
        ("a1", "New content from advocate [erased] ([erased])", "opportunity:advocate_content:acme:[erased]", "", ""),
        ("a2", "New content from advocate Yusuf R (weibo:1234)", "opportunity:advocate_content:acme:weibo:1234",
         "c-weibo:1234", "weibo:1234/e-a2"),
    ]
    assert not any(traces(client, subject).values())
