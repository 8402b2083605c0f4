"""Keys that cannot leak: created with ``scrm keys``, stored as hashes only, never logged, and opening (or no
longer opening) a running API within its refresh interval; a revoked key's stream tickets close too."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import ApiServices, create_app
from api.auth import Keyring, database_keys, hash_key, key_id_of, new_key
from enrichment.lexicon import LexiconEnricher
from profile_store.api_keys import StoredKey
from scrm.cli import main
from scrm.logs import RedactSecrets
from streams.storage import open_storage

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def _create(data_dir: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["keys", "create", "--data-dir", str(data_dir), *args])
    out = capsys.readouterr().out
    return code, out


def test_create_prints_the_key_once_and_stores_only_its_hash(tmp_path, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    code, out = _create(tmp_path, capsys, "--name", "ann@acme.com", "--role", "agent", "--by", "ops")
    assert code == 0
    key = out.strip().splitlines()[-1]
    assert out.count(key) == 1 and key_id_of(key) is not None, "the key alone on the last line, once"
    database = (tmp_path / "scrm.sqlite").read_bytes()
    assert key.encode() not in database and key.split("_")[-1].encode() not in database
    assert hashlib.sha256(key.encode()).hexdigest().encode() in database
    assert key not in caplog.text
    assert main(["keys", "list", "--data-dir", str(tmp_path), "--format", "json"]) == 0
    listed = capsys.readouterr().out
    assert key not in listed and hash_key(key) not in listed
    (row,) = json.loads(listed)
    assert (row["name"], row["role"], row["state"], row["created_by"]) == ("ann@acme.com", "agent", "active", "ops")


def test_refused_names_roles_dates_and_reused_names_exit_non_zero(tmp_path, capsys):
    assert _create(tmp_path, capsys, "--name", "crm-sync", "--role", "ingest")[0] == 0
    assert _create(tmp_path, capsys, "--name", "crm-sync", "--role", "ingest")[0] == 1
    assert main(["keys", "revoke", "crm-sync", "--data-dir", str(tmp_path)]) == 0
    assert _create(tmp_path, capsys, "--name", "crm-sync", "--role", "ingest")[0] == 1, "a revoked name stays taken"
    assert _create(tmp_path, capsys, "--name", "bad name; drop", "--role", "agent")[0] == 2
    assert _create(tmp_path, capsys, "--name", "env:admin", "--role", "admin")[0] == 2, "bootstrap names are reserved"
    assert _create(tmp_path, capsys, "--name", "old", "--role", "agent", "--expires", "2001-01-01")[0] == 2
    with pytest.raises(SystemExit):
        _create(tmp_path, capsys, "--name", "x", "--role", "root")
    assert main(["keys", "revoke", "nobody", "--data-dir", str(tmp_path)]) == 1


def test_a_running_api_sees_created_and_revoked_keys_within_its_refresh(tmp_path, capsys):
    storage = open_storage(f"sqlite:///{tmp_path}/scrm.sqlite", None)
    clock = [0.0]
    keyring = Keyring({"boot": "admin"}, database_keys(storage.session_factory), refresh_seconds=2.0,
                      monotonic=lambda: clock[0])
    keyring.refresh()
    services = ApiServices(session_factory=storage.session_factory, api_keys={"boot": "admin"}, keyring=keyring,
                           enricher=LexiconEnricher(), submit_links=lambda signals: None)
    with TestClient(create_app(services)) as client:
        assert client.get("/v1/alerts", headers={"X-API-Key": "boot"}).status_code == 200
        _, out = _create(tmp_path, capsys, "--name", "li@acme.com", "--role", "agent")
        key = out.strip().splitlines()[-1]
        headers = {"X-API-Key": key}
        assert client.get("/v1/alerts", headers=headers).status_code == 401, "read before the refresh is due"
        clock[0] = 2.0
        assert client.get("/v1/alerts", headers=headers).status_code == 200
        assert client.get("/v1/alerts", headers={"Authorization": f"Bearer {key}"}).status_code == 200
        assert client.get("/v1/profiles", headers=headers).status_code == 200
        assert client.get("/v1/deadletters", headers=headers).status_code == 403, "the key's role, not more"
        ticket = client.post("/v1/alerts/stream/ticket", headers=headers).json()["ticket"]
        assert keyring.principal("li@acme.com") is not None
        tampered = key[:-1] + ("A" if key[-1] != "A" else "B")
        assert client.get("/v1/alerts", headers={"X-API-Key": tampered}).status_code == 401

        assert main(["keys", "revoke", "li@acme.com", "--data-dir", str(tmp_path)]) == 0
        clock[0] = 4.0
        assert client.get("/v1/alerts", headers=headers).status_code == 401
        assert client.get("/v1/alerts/stream", params={"ticket": ticket}).status_code == 401, \
            "a revoked key's tickets close with it"
        assert client.get("/v1/alerts", headers={"X-API-Key": "boot"}).status_code == 200
    storage.close()


def test_expired_keys_and_an_unreadable_database():
    now = [T0]
    key, key_id = new_key()
    stored = StoredKey(name="tmp", role="analyst", key_id=key_id, secret_hash=hash_key(key), created_at=T0,
                       expires_at=T0 + timedelta(days=1))
    rows: list[StoredKey] | None = [stored]

    def load() -> list[StoredKey]:
        if rows is None:
            raise ConnectionError("database away")
        return rows

    clock = [0.0]
    keyring = Keyring({}, load, refresh_seconds=1.0, now=lambda: now[0], monotonic=lambda: clock[0])
    principal = keyring.authenticate(key)
    assert principal is not None and (principal.name, principal.role) == ("tmp", "analyst")
    rows, clock[0] = None, 5.0
    assert keyring.authenticate(key) is not None, "the last keys read still answer while the database is away"
    now[0] = T0 + timedelta(days=2)
    assert keyring.authenticate(key) is None and keyring.principal("tmp") is None


def test_bootstrap_keys_are_hashed_and_named_by_role():
    keyring = Keyring({"first-secret": "admin", "second-secret": "admin", "a-secret": "agent"})
    assert "first-secret" not in repr(vars(keyring))
    names = {keyring.authenticate(k).name for k in ("first-secret", "second-secret", "a-secret")}  # type: ignore[union-attr]
    assert names == {"env:admin", "env:admin:2", "env:agent"}
    assert keyring.authenticate("first-secre") is None and keyring.authenticate("") is None


def test_access_log_lines_never_carry_tickets_tokens_or_signatures():
    record = logging.LogRecord("uvicorn.access", logging.INFO, "", 0, '%s - "%s %s HTTP/%s" %d',
                               ("1.2.3.4:5", "GET", "/v1/alerts/stream?ticket=1.YQ.sig&x=1", "1.1", 200), None)
    RedactSecrets().filter(record)
    line = record.getMessage()
    assert "1.YQ.sig" not in line and "ticket=<redacted>&x=1" in line
    record = logging.LogRecord("uvicorn.access", logging.INFO, "", 0, "%s", ("/wx?signature=s&echostr=e&nonce=1",), None)
    RedactSecrets().filter(record)
    assert record.getMessage() == "/wx?signature=<redacted>&echostr=<redacted>&nonce=1"
