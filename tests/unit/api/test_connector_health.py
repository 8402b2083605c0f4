"""Connector health counters: totals, deliveries in the last minute, and the last error as a reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from api.connector_health import ConnectorHealth

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_deliveries_count_in_total_and_in_the_minute_before_now():
    health = ConnectorHealth()
    health.delivered("a", events=5, skipped=1, at=T0)
    health.delivered("a", events=2, skipped=0, at=T0 + timedelta(seconds=50))
    health.delivered("a", events=1, skipped=0, at=T0 + timedelta(seconds=70))

    report = health.report("a", T0 + timedelta(seconds=75))
    assert (report.deliveries, report.deliveries_last_minute) == (3, 2)
    assert (report.events, report.skipped) == (8, 1)
    assert report.last_delivery_at == T0 + timedelta(seconds=70)
    assert health.report("a", T0 + timedelta(minutes=5)).deliveries_last_minute == 0


def test_refusals_dead_letters_and_failures_are_counted_apart_and_the_last_names_the_error():
    health = ConnectorHealth()
    health.signature_failed("a", "X-Hub-Signature-256 does not match the body", T0)
    health.dead_lettered("a", "<payload>: not JSON", T0 + timedelta(seconds=1), count=2)
    health.failed("a", "intake unavailable: journal down", T0 + timedelta(seconds=2))

    report = health.report("a", T0)
    assert (report.signature_failures, report.dead_letters, report.errors) == (1, 2, 1)
    assert report.last_error == "intake unavailable: journal down"
    assert report.last_error_at == T0 + timedelta(seconds=2)


def test_a_connector_that_saw_nothing_reports_zeros():
    report = ConnectorHealth().report("quiet", T0)
    assert report.deliveries == 0 and report.last_delivery_at is None and report.last_error is None
