"""The pages' frame: sign-in by key and by one-time link into a session, sign-out, revocation,
CSRF on every form, the API untouched by cookies, error pages, and nothing loaded from
elsewhere."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import sqlalchemy as sa
from factories import run_museum
from litestar import Litestar
from litestar.testing import TestClient

from api.http.app import create_app
from api.http.auth.links import sign_in_links
from api.http.settings import HttpSettings
from api.web.frame import CSRF_COOKIE
from api.web.sessions import COOKIE
from httpapi.conftest import Keys, museum_of
from httpapi.pages import form_token, links_of, secret_of, sign_in_with, signed_in
from ledger.crypto import MasterKey
from ledger.settings import Settings

Client = TestClient[Litestar]


def set_cookie(response_headers: list[str], name: str) -> str:
    [found] = [h for h in response_headers if h.startswith(f"{name}=")]
    return found


def test_sign_in_with_a_key_holds_the_key_id_and_not_the_secret(
    sqlite_client: Client, keys: Keys, tmp_path: Path
) -> None:
    client = sqlite_client
    secret = secret_of(keys, "member")
    response = client.post(
        "/sign-in",
        data={"key": secret, "next": "/donate", "_csrf_token": form_token(client)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/donate"
    cookie = set_cookie(response.headers.get_list("set-cookie"), COOKIE)
    assert "httponly" in cookie.lower()
    assert "samesite=lax" in cookie.lower()
    assert "secure" not in cookie.lower()
    page = client.get("/donate")
    assert page.status_code == 200
    assert "Signed in as <strong>test member</strong> (artist)" in page.text
    # The session store holds the key id, never the secret.
    stored = b"".join(p.read_bytes() for p in (tmp_path / "var" / "web-sessions").iterdir())
    key_id = museum_of(client).keys.list()[-1].key_id
    assert secret.encode() not in stored
    assert any(k.key_id.encode() in stored for k in museum_of(client).keys.list()), key_id


def test_a_wrong_key_re_renders_the_form_and_signs_nobody_in(
    sqlite_client: Client, keys: Keys
) -> None:
    client = sqlite_client
    for wrong in ("museum_0000000000000000_" + "A" * 43, "", secret_of(keys, "member")[:-1]):
        status = sign_in_with(client, wrong)
        assert status == 422, wrong
        assert COOKIE not in client.cookies
    refused = client.post("/sign-in", data={"key": "nope", "_csrf_token": form_token(client)})
    assert "That key is not valid" in refused.text
    assert client.get("/donate", follow_redirects=False).status_code == 303


def test_next_never_leaves_the_site(sqlite_client: Client, keys: Keys) -> None:
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "evil"):
        sqlite_client.cookies.clear()
        response = sqlite_client.post(
            "/sign-in",
            data={
                "key": secret_of(keys, "curator"),
                "next": target,
                "_csrf_token": form_token(sqlite_client),
            },
            follow_redirects=False,
        )
        assert response.headers["location"] == "/", target


def test_sign_out_ends_the_session_for_good(sqlite_client: Client, keys: Keys) -> None:
    client = signed_in(sqlite_client, keys, "member")
    old = client.cookies[COOKIE]
    out = client.post("/sign-out", data={"_csrf_token": form_token(client)}, follow_redirects=False)
    assert out.status_code == 303
    assert client.get("/donate", follow_redirects=False).status_code == 303
    client.cookies.set(COOKIE, old, domain="testserver.local")  # replayed, it is worth nothing
    assert client.get("/donate", follow_redirects=False).status_code == 303


def test_each_sign_in_gets_a_new_session_id(sqlite_client: Client, keys: Keys) -> None:
    client = sqlite_client
    client.cookies.set(COOKIE, "planted" * 8, domain="testserver.local")
    assert sign_in_with(client, secret_of(keys, "member")) == 303
    assert client.cookies[COOKIE] != "planted" * 8


def test_a_revoked_key_ends_its_sessions(sqlite_client: Client, keys: Keys) -> None:
    museum = museum_of(sqlite_client)
    issued = museum.keys.create("artist", "short-lived", uuid.UUID(keys.artist_ids["member"]))
    client = sqlite_client
    client.cookies.clear()
    assert sign_in_with(client, issued.secret) == 303
    assert client.get("/donate").status_code == 200
    museum.keys.revoke(issued.key.key_id)
    assert client.get("/donate", follow_redirects=False).status_code == 303
    assert "Sign in</a>" in client.get("/").text


def test_the_api_takes_no_cookies(sqlite_client: Client, keys: Keys) -> None:
    client = signed_in(sqlite_client, keys, "compliance")
    me = client.get("/api/v1/me")
    assert me.status_code == 200
    assert me.json()["role"] == "visitor"
    assert client.get("/api/v1/consents").status_code == 401
    # and no page reads a Bearer key
    sqlite_client.cookies.clear()
    bearer = sqlite_client.get("/donate", headers=keys["member"], follow_redirects=False)
    assert bearer.status_code == 303


def test_a_one_time_link_signs_in_once(sqlite_client: Client, keys: Keys) -> None:
    museum = museum_of(sqlite_client)
    key_id = next(k.key_id for k in museum.keys.list() if k.name == "test curator")
    link = museum.links.issue(key_id, "http://testserver")
    path = link.url.removeprefix("http://testserver")
    token = path.split("token=", 1)[1]
    client = sqlite_client
    client.cookies.clear()
    shown = client.get(path)
    assert shown.status_code == 200
    assert "signs you in as <strong>test curator</strong> (curator)" in shown.text
    assert COOKIE not in client.cookies  # looking at the link uses nothing up
    used = client.post(
        "/sign-in/link",
        data={"token": token, "_csrf_token": form_token(client)},
        follow_redirects=False,
    )
    assert used.status_code == 303
    assert "test curator" in client.get("/").text
    client.cookies.clear()
    again = client.post("/sign-in/link", data={"token": token, "_csrf_token": form_token(client)})
    assert again.status_code == 410
    assert "signs nobody in" in again.text
    assert client.get(path).status_code == 410
    assert COOKIE not in client.cookies
    with museum.ledger.engine.connect() as connection:
        stored = connection.execute(sa.select(sign_in_links)).all()
    assert all(token.encode() not in bytes(row.token_sha256) for row in stored)


def test_an_expired_link_and_a_revoked_keys_link_are_refused(
    sqlite_client: Client, keys: Keys
) -> None:
    museum = museum_of(sqlite_client)
    key_id = next(k.key_id for k in museum.keys.list() if k.name == "test compliance")
    expired = museum.links.issue(key_id, "")
    with museum.ledger.engine.begin() as connection:
        connection.execute(sign_in_links.update().values(expires_at_ms=1))
    revoked_key = museum.keys.create("integrator", "gone")
    revoked = museum.links.issue(revoked_key.key.key_id, "")
    museum.keys.revoke(revoked_key.key.key_id)
    client = sqlite_client
    for link in (expired, revoked):
        token = link.url.split("token=", 1)[1]
        assert client.get(link.url).status_code == 410
        posted = client.post(
            "/sign-in/link", data={"token": token, "_csrf_token": form_token(client)}
        )
        assert posted.status_code == 410
        assert COOKIE not in client.cookies


def test_the_command_line_prints_a_link_that_works(tmp_path: Path) -> None:
    home = tmp_path / "var"
    key = MasterKey.generate_text()
    env = {"MUSEUM_MASTER_KEY": key, "MUSEUM_HTTP_PUBLIC_URL": "http://testserver"}
    made = run_museum(
        home, "keys", "create", "--role", "curator", "--name", "Ada", "--link", "--json", env=env
    )
    assert made.returncode == 0, made.stderr
    issued = json.loads(made.stdout)
    assert issued["link"]["url"].startswith("http://testserver/sign-in/link?token=")
    again = run_museum(home, "keys", "link", issued["key"]["key_id"], env=env)
    assert again.returncode == 0, again.stderr
    [url] = re.findall(r"http://testserver/sign-in/link\?token=\S+", again.stdout)
    missing = run_museum(home, "keys", "link", "0" * 16, env=env)
    assert missing.returncode == 3
    assert missing.stderr.startswith("error: no key")
    settings = Settings(home=home, master_key=key)
    with TestClient(create_app(settings, HttpSettings(key_cache_seconds=0))) as client:
        token = url.split("token=", 1)[1]
        assert client.get(url).status_code == 200
        used = client.post(
            "/sign-in/link", data={"token": token, "_csrf_token": form_token(client)}
        )
        assert used.status_code == 200
        assert "Signed in as <strong>Ada</strong> (curator)" in used.text


def test_every_form_post_needs_its_csrf_token(sqlite_client: Client, keys: Keys) -> None:
    client = signed_in(sqlite_client, keys, "member")
    for path, data in (
        ("/sign-in", {"key": secret_of(keys, "curator")}),
        ("/sign-out", {}),
        ("/sign-in/link", {"token": "x"}),
    ):
        refused = client.post(path, data=data, follow_redirects=False)
        assert refused.status_code == 403, path
        assert refused.headers["content-type"].startswith("text/html")
        assert "The form had expired" in refused.text
        forged = client.post(path, data=data | {"_csrf_token": "0" * 128}, follow_redirects=False)
        assert forged.status_code == 403, path
    assert "test member" in client.get("/").text  # none of them signed anyone in or out
    multipart = client.post("/donate", files={"stage-0-image": ("a.png", b"x", "image/png")})
    assert multipart.status_code == 403
    # A token from another client's cookie does not pass either.
    other = form_token(client)
    client.cookies.delete(CSRF_COOKIE)
    client.get("/")
    assert client.post("/sign-out", data={"_csrf_token": other}).status_code == 403


def test_the_secure_setting_marks_both_cookies(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "var", master_key=MasterKey.generate_text())
    http = HttpSettings(key_cache_seconds=0, secure_cookies=True)
    with TestClient(create_app(settings, http), base_url="https://testserver") as client:
        issued = museum_of(client).keys.create("curator", "secure")
        page = client.get("/sign-in")
        assert "secure" in set_cookie(page.headers.get_list("set-cookie"), CSRF_COOKIE).lower()
        response = client.post(
            "/sign-in",
            data={"key": issued.secret, "_csrf_token": form_token(client)},
            follow_redirects=False,
        )
        assert response.status_code == 303
        assert "secure" in set_cookie(response.headers.get_list("set-cookie"), COOKIE).lower()


def test_errors_are_pages_outside_the_api(sqlite_client: Client, keys: Keys) -> None:
    missing = sqlite_client.get("/no/such/page")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html")
    assert "<h1>Not found</h1>" in missing.text
    work = sqlite_client.get(f"/works/{uuid.uuid4()}")
    assert work.status_code == 404
    assert "no generation" in work.text
    assert (
        sqlite_client.get("/api/v1/nowhere")
        .headers["content-type"]
        .startswith("application/problem+json")
    )
    client = signed_in(sqlite_client, keys, "integrator")
    refused = client.get("/donate")
    assert refused.status_code == 403
    assert "signed in as test integrator (integrator)" in refused.text
    other = signed_in(sqlite_client, keys, "member")
    hidden = keys.donation_ids["other_artist"]
    museum_of(sqlite_client).ledger.revoke_consent(uuid.UUID(hidden), "exhibit")
    assert other.get(f"/donations/{hidden}").status_code == 404
    assert other.get(f"/donations/{hidden}/receipt.json").status_code == 404
    assert other.get(f"/donations/{keys.donation_ids['member']}/receipt.json").status_code == 200


def test_every_page_loads_only_what_the_museum_serves(sqlite_client: Client, keys: Keys) -> None:
    client = signed_in(sqlite_client, keys, "member")
    pages = [
        "/",
        "/donate",
        "/sign-in",
        f"/donations/{keys.donation_ids['member']}",
        "/no/such/page",
    ]
    for path in pages:
        page = client.get(path)
        assert page.headers["content-security-policy"].startswith("default-src 'self'")
        found = links_of(page.text)
        assert any(link == "/static/museum.css" for link in found), path
        for link in found:
            local = link.startswith("#") or (link.startswith("/") and not link.startswith("//"))
            assert local, f"{path}: {link}"
        for link in found:
            if link.startswith(("/static/", "/donations/")):
                assert client.get(link).status_code == 200, f"{path}: {link}"
    js = client.get("/static/htmx.min.js")
    assert js.text.startswith("/*! htmx 2.")
    assert "Zero-Clause BSD" in js.text[:400]
