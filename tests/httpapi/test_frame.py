"""The app's frame: keys from the command line, rate limits per key, the docs page served
from this machine, and errors as problem details."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from factories import artist, museum_in_process, run_museum
from litestar import Litestar
from litestar.testing import TestClient

from api.http.app import create_app
from api.http.settings import HttpSettings
from httpapi.conftest import Keys, issue_keys, museum_of
from ledger.crypto import MasterKey
from ledger.errors import Conflict, InvalidInput, NotFound
from ledger.settings import Settings


def test_keys_are_issued_listed_and_revoked_from_the_command_line(tmp_path: Path) -> None:
    home = tmp_path / "var"
    env = {"MUSEUM_MASTER_KEY": MasterKey.generate_text()}
    made = run_museum(
        home, "keys", "create", "--role", "integrator", "--name", "Print shop", "--json", env=env
    )
    assert made.returncode == 0, made.stderr  # the console script; the rest in-process
    issued = json.loads(made.stdout)
    secret, key_id = issued["secret"], issued["key"]["key_id"]
    assert re.fullmatch(r"museum_[0-9a-f]{16}_[A-Za-z0-9_-]{43}", secret)
    listed = museum_in_process(home, "keys", "list", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    assert secret not in listed.stdout
    [row] = json.loads(listed.stdout)["keys"]
    assert (row["key_id"], row["role"], row["name"], row["revoked_at"]) == (
        key_id,
        "integrator",
        "Print shop",
        None,
    )
    assert museum_in_process(home, "keys", "revoke", key_id, env=env).returncode == 0
    again = museum_in_process(home, "keys", "revoke", key_id, env=env)
    assert again.returncode == 4
    assert again.stderr.count("\n") == 1
    assert "was revoked at" in again.stderr
    [row] = json.loads(museum_in_process(home, "keys", "list", "--json", env=env).stdout)["keys"]
    assert row["revoked_at"] is not None
    for args, code in (
        (("--role", "boss", "--name", "x"), 2),
        (("--role", "artist", "--name", "x"), 2),
        (("--role", "artist", "--name", "x", "--artist", "not-an-id"), 2),
        (("--role", "artist", "--name", "x", "--artist", str(uuid.uuid4())), 3),
        (("--role", "curator", "--name", "  "), 2),
    ):
        refused = museum_in_process(home, "keys", "create", *args, env=env)
        assert refused.returncode == code, (args, refused.stderr)
        assert refused.stderr.startswith("error: ")
        assert refused.stderr.count("\n") == 1


def test_the_key_store_keeps_only_a_digest(sqlite_client: TestClient[Litestar]) -> None:
    museum = museum_of(sqlite_client)
    issued = museum.keys.create("compliance", "Auditor")
    with museum.ledger.engine.connect() as connection:
        stored = [
            bytes(v) if isinstance(v, bytes | memoryview) else v
            for row in connection.exec_driver_sql("SELECT * FROM api_keys")
            for v in row
        ]
    assert issued.secret.encode() not in b"".join(v for v in stored if isinstance(v, bytes))
    assert all(issued.secret not in str(v) for v in stored)
    assert museum.keys.authenticate(issued.secret) is not None
    other = "B" if issued.secret.endswith("A") else "A"
    assert museum.keys.authenticate(issued.secret[:-1] + other) is None
    with pytest.raises(NotFound):
        museum.keys.revoke("0" * 16)
    museum.keys.revoke(issued.key.key_id)
    with pytest.raises(Conflict):
        museum.keys.revoke(issued.key.key_id)
    with pytest.raises(InvalidInput):
        museum.keys.create("visitor", "nobody")


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[TestClient[Litestar]]:
    settings = Settings(home=tmp_path / "var", master_key=MasterKey.generate_text())
    http = HttpSettings(rate_limit="3/minute", key_cache_seconds=0)
    with TestClient(create_app(settings, http), raise_server_exceptions=False) as test:
        yield test


def test_rate_limits_are_per_key_and_spare_staff_and_founders(
    limited: TestClient[Litestar],
) -> None:
    keys: Keys = issue_keys(museum_of(limited))
    museum = museum_of(limited)
    second = {"Authorization": f"Bearer {museum.keys.create('integrator', 'Another').secret}"}
    codes = [
        limited.get("/api/v1/health", headers=keys["integrator"]).status_code for _ in range(5)
    ]
    assert codes == [200, 200, 200, 429, 429]
    refused = limited.get("/api/v1/health", headers=keys["integrator"])
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["status"] == 429
    assert limited.get("/api/v1/health", headers=second).status_code == 200  # its own budget
    for role in ("compliance", "curator", "visitor"):
        assert {
            limited.get("/api/v1/health", headers=keys[role]).status_code for _ in range(5)
        } == {200}, role
    # Artists below founding tier are limited; the founding roll's artists are not.
    assert [
        limited.get("/api/v1/health", headers=keys["member"]).status_code for _ in range(4)
    ] == [200, 200, 200, 429]
    assert {
        limited.get("/api/v1/health", headers=keys["founder"]).status_code for _ in range(5)
    } == {200}
    granted_id = museum.ledger.register_artist(artist("Founder By Grant"))
    museum.ledger.grant_founding(granted_id, "Curator Ada")
    granted = {
        "Authorization": "Bearer " + museum.keys.create("artist", "granted", granted_id).secret
    }
    assert {limited.get("/api/v1/health", headers=granted).status_code for _ in range(5)} == {200}


def test_the_docs_page_loads_nothing_from_elsewhere(sqlite_client: TestClient[Litestar]) -> None:
    page = sqlite_client.get("/api/docs")
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    links = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
    assert links, "the page names its assets"
    for link in links:
        assert link.startswith("/"), f"{link} is not served by the museum"
        assert sqlite_client.get(link).status_code == 200, link
    schema = sqlite_client.get("/api/docs/openapi.json").json()
    assert schema["openapi"].startswith("3.1")
