"""`callbox central passwd`: owners see every site, a manager one."""

from __future__ import annotations

import io

from firmware import cli
from tests.central.conftest import central_toml


def test_passwd_creates_owners_and_managers(pg_dsn, tmp_path, monkeypatch, capsys):
    path = tmp_path / "central.toml"
    path.write_text(central_toml(pg_dsn))
    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-password\n"))
    assert cli.main(["central", "passwd", "anna", "--config", str(path)]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("another-password\n"))
    assert cli.main(["central", "passwd", "jan", "--role", "manager", "--site", "Kraków",
                     "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "anna (owner, all sites)" in out and "jan (manager, site Kraków)" in out
    monkeypatch.setattr("sys.stdin", io.StringIO("another-password\n"))
    assert cli.main(["central", "passwd", "ola", "--role", "manager", "--site", "Nowhere",
                     "--config", str(path)]) == 1
    monkeypatch.setattr("sys.stdin", io.StringIO("another-password\n"))
    assert cli.main(["central", "passwd", "ola", "--role", "manager",
                     "--config", str(path)]) == 1
    assert "site" in capsys.readouterr().err


def test_a_manager_sees_only_their_site(central, central_client):
    central.users.set_password("anna", "a-long-password", "owner")
    central.users.set_password("jan", "another-password", "manager", "Kraków")
    jan = {"Authorization": _basic("jan", "another-password")}
    anna = {"Authorization": _basic("anna", "a-long-password")}
    assert central_client.get("/api/sites", headers=jan).json["sites"][0]["name"] == "Kraków"
    assert len(central_client.get("/api/sites", headers=anna).json["sites"]) == 2
    assert central_client.get("/api/summary?site=Gda%C5%84sk", headers=jan).status_code == 403
    assert central_client.get("/api/summary", headers=jan).json["site"] == "Kraków"
    assert central_client.get("/api/summary", headers=anna).json["site"] is None
    assert central_client.get("/api/summary?site=Nowhere", headers=anna).status_code == 400
    assert central_client.get("/api/summary").status_code == 401
    wrong = {"Authorization": _basic("jan", "wrong-password")}
    assert central_client.get("/api/summary", headers=wrong).status_code == 401


def _basic(user: str, password: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
