"""``scrm poll``'s refusals: a connectors file without poll connectors, an unknown ``--only``, a bad file."""

from __future__ import annotations

from scrm.cli import main

WEBHOOK_ONLY = '[connectors.acme-wechat]\nplatform = "wechat"\ntoken = "t0ken1234"\napp_id = "wx1234567890abcdef"\n'
WITH_X = WEBHOOK_ONLY + '\n[connectors.acme-x]\nplatform = "x"\nbearer_token = "b"\nquery = "acme"\n'


def test_a_file_without_poll_connectors_is_refused(tmp_path, capsys):
    path = tmp_path / "c.toml"
    path.write_text(WEBHOOK_ONLY)
    assert main(["poll", "--connectors", str(path), "--data-dir", str(tmp_path / "d"), "--once"]) == 2
    assert "no poll connector" in capsys.readouterr().err


def test_an_unknown_only_is_refused_naming_it(tmp_path, capsys):
    path = tmp_path / "c.toml"
    path.write_text(WITH_X)
    assert main(["poll", "--connectors", str(path), "--only", "acme-y", "--once"]) == 2
    assert "acme-y" in capsys.readouterr().err


def test_a_bad_connectors_file_is_refused_without_its_secrets(tmp_path, capsys):
    path = tmp_path / "c.toml"
    path.write_text(WITH_X.replace('query = "acme"', "max_results = 5"))
    assert main(["poll", "--connectors", str(path), "--once"]) == 2
    err = capsys.readouterr().err
    assert "acme-x" in err and "max_results" in err and 'bearer_token = "b"' not in err
