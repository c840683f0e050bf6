"""`museum keys rotate-master`: one transaction moves the museum to a new master key.

On both backends: what was sealed before opens after, nothing is re-encrypted, the log verifies
across the change (old heads under the retired key, new heads under the new one, the rotation
statement signed by both), the old key opens nothing and writes nothing, and a rotation that
fails half-way leaves the museum on its old keys.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sqlite3
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest
from factories import artist, donation
from pydantic import SecretStr

from api.cli import main
from ledger.audit import check_against, full_audit
from ledger.crypto import MasterKey, SealBroken
from ledger.erasures import Erasures
from ledger.errors import ConfigurationError, Conflict, IntegrityViolation
from ledger.rotation import RotationWrite, rotate_configured, rotate_master
from ledger.runtime import opened_ledger, pending_key_file
from ledger.sealing import RetiredKey
from ledger.settings import Settings, get_settings


def with_key(settings: Settings, key: MasterKey | str) -> Settings:
    text = key if isinstance(key, str) else _text(key)
    return settings.model_copy(update={"master_key": SecretStr(text), "master_key_file": None})


_TEXTS: dict[str, str] = {}


def new_key() -> MasterKey:
    text = MasterKey.generate_text()
    key = MasterKey.from_text(text)
    _TEXTS[key.key_id] = text
    return key


def _text(key: MasterKey) -> str:
    return _TEXTS[key.key_id]


def sql(settings: Settings, statement: str, *params: Any) -> list[tuple[Any, ...]]:
    """Straight at the database, around the ledger (what an intruder or a backup sees)."""
    if settings.embedded:
        with sqlite3.connect(settings.sqlite_path) as c:
            return list(c.execute(statement, params).fetchall())
    with psycopg.connect(str(settings.database_url), autocommit=True) as c:
        cursor = c.execute(statement.replace("?", "%s"), params)
        return list(cursor.fetchall()) if cursor.description else []


@pytest.fixture
def museum(backend: Settings) -> tuple[Settings, dict[str, Any]]:
    """Two artists (one donation) and a receipt handed out, all under the first key."""
    with opened_ledger(backend) as ledger:
        first = ledger.register_artist(artist("Ink Moth"))
        second = ledger.register_artist(
            artist("Glass Heron", legal_name="Tomasz Wren", contact="tw@example.org")
        )
        given = ledger.donate(donation(first))
        vault = dict(sql(backend, "SELECT artist_id, wrapped_key FROM artist_keys"))
        state: dict[str, Any] = {
            "artists": (first, second),
            "donation": given.donation_id,
            "receipt": given.receipt,
            "vault": vault,
        }
        state["events"] = sql(backend, "SELECT topic, state FROM " + ledger.events_table)
    return backend, state


def test_rotation_keeps_every_artist_readable_and_the_log_verifiable(
    museum: tuple[Settings, dict[str, Any]],
) -> None:
    settings, before = museum
    new = new_key()
    with opened_ledger(settings) as ledger:
        old_key_id = ledger.master.key_id
        # An erasure certified under the old key (no model learned from them: done at once).
        leaving = ledger.register_artist(artist("Leaving Lark"))
        assert Erasures(ledger).request(leaving, reason="").certificate is not None
        done = rotate_master(ledger, new)
    assert (done.generation, done.old_key_id, done.new_key_id) == (1, old_key_id, new.key_id)
    assert done.artists_rewrapped == 2
    with opened_ledger(with_key(settings, new)) as ledger:
        first, second = before["artists"]
        assert ledger.artist_view(first).pseudonym == "Ink Moth"
        assert ledger.identity(second).legal_name == "Tomasz Wren"
        assert ledger.stage_image(before["donation"], 0).startswith(b"\x89PNG")
        # The same data keys, wrapped anew: every stored event is byte for byte as it was.
        vault = dict(sql(settings, "SELECT artist_id, wrapped_key FROM artist_keys"))
        assert vault.keys() == before["vault"].keys()
        assert all(vault[a] != before["vault"][a] for a in vault)
        events = sql(settings, "SELECT topic, state FROM " + ledger.events_table)
        assert events[: len(before["events"])] == before["events"]
        new_head = ledger.integrity.sign_head()
        assert new_head.key_id == new.key_id
        audit = full_audit(ledger)
        assert audit.keys_present == 2
        assert audit.certificates_verified == 1  # signed by the retired key, checked by its id
        # A receipt handed out under the retired key still proves its event today.
        assert check_against(ledger, before["receipt"])["kind"] == "receipt"
        keys = ledger.integrity.signing_keys()
        assert [(k.key_id, k.current) for k in keys] == [(old_key_id, False), (new.key_id, True)]
        assert ledger.integrity.public_key_for(before["receipt"].head.key_id)
        # Pseudonyms claimed under the old index key stay taken; new ones are unique too.
        with pytest.raises(Conflict):
            ledger.register_artist(artist("ink  moth"))
        ledger.register_artist(artist("Salt Finch"))
        with pytest.raises(Conflict):
            ledger.register_artist(artist("Salt Finch"))


def test_the_old_key_opens_nothing_written_after(museum: tuple[Settings, dict[str, Any]]) -> None:
    settings, _before = museum
    old = MasterKey.from_text(settings.master_key.get_secret_value())  # type: ignore[union-attr]
    new = new_key()
    with opened_ledger(settings) as ledger:
        rotate_master(ledger, new)
    with (
        pytest.raises(ConfigurationError, match="retired by a rotation to generation 1"),
        opened_ledger(settings),
    ):
        pass
    with opened_ledger(with_key(settings, new)) as ledger:
        ledger.register_artist(artist("Salt Finch"))
    vault = sql(settings, "SELECT artist_id, wrapped_key FROM artist_keys")
    assert len(vault) == 3
    for artist_id, wrapped in vault:
        with pytest.raises(SealBroken):
            old.unwrap(UUID(hex=artist_id), bytes(wrapped))
    with (
        pytest.raises(ConfigurationError, match="does not open this museum"),
        opened_ledger(with_key(settings, new_key())),
    ):
        pass


def test_a_process_still_holding_the_old_key_is_refused(
    museum: tuple[Settings, dict[str, Any]],
) -> None:
    settings, before = museum
    rotated = new_key()
    with opened_ledger(settings) as stale, opened_ledger(settings) as rotating:
        rotate_master(rotating, rotated)
        with pytest.raises(RetiredKey, match="rotated to generation 1"):
            stale.grant_consent(before["donation"], "research")
        with pytest.raises(ConfigurationError):
            stale.register_artist(artist("Late Comer"))
    # Refused whole: no event without its leaf, no wrapped key left behind by the registration.
    assert len(sql(settings, "SELECT artist_id FROM artist_keys")) == 2
    with opened_ledger(with_key(settings, rotated)) as ledger:
        full_audit(ledger)


def test_two_rotations_chain_and_a_forged_statement_is_named(
    museum: tuple[Settings, dict[str, Any]],
) -> None:
    settings, _ = museum
    second, third = new_key(), new_key()
    with opened_ledger(settings) as ledger:
        rotate_master(ledger, second)
    with opened_ledger(with_key(settings, second)) as ledger:
        ledger.register_artist(artist("Salt Finch"))
        ledger.integrity.sign_head()
        rotate_master(ledger, third)
    with opened_ledger(with_key(settings, third)) as ledger:
        ledger.integrity.sign_head()
        report = ledger.integrity.verify()
        assert {h["key_id"] for h in ledger.integrity.heads.all()} == {
            k.key_id for k in ledger.integrity.signing_keys()
        }
        assert report.events == ledger.integrity.size()
    (signature,) = sql(settings, "SELECT new_signature FROM key_ring WHERE generation = 2")[0]
    forged = bytes([signature[0] ^ 1]) + bytes(signature[1:])
    sql(settings, "UPDATE key_ring SET new_signature = ? WHERE generation = 2", forged)
    with (
        opened_ledger(with_key(settings, third)) as ledger,
        pytest.raises(IntegrityViolation, match="generation 2: the incoming key's signature"),
    ):
        ledger.integrity.verify()


class FailingWrite(RotationWrite):
    """A rotation that dies after re-wrapping the vault, inside its transaction."""

    def write(self, cursor: Any, placeholder: str, first_notification_id: int) -> None:
        super().write(cursor, placeholder, first_notification_id)
        raise RuntimeError("power cut")


def test_an_interrupted_rotation_leaves_the_old_key_set(
    museum: tuple[Settings, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, before = museum
    monkeypatch.setattr("ledger.rotation.RotationWrite", FailingWrite)
    with opened_ledger(settings) as ledger, pytest.raises(RuntimeError, match="power cut"):
        rotate_master(ledger, new_key())
    assert sql(settings, "SELECT generation FROM key_ring") == []
    assert dict(sql(settings, "SELECT artist_id, wrapped_key FROM artist_keys")) == before["vault"]
    with opened_ledger(settings) as ledger:
        assert ledger.artist_view(before["artists"][0]).pseudonym == "Ink Moth"
        ledger.integrity.verify()


def test_a_key_file_is_rotated_in_place_and_an_interruption_is_finished(
    tmp_path: Path,
) -> None:
    home = tmp_path / "var"
    settings = Settings(home=home)  # the embedded store's development key file
    with opened_ledger(settings) as ledger:
        ledger.register_artist(artist("Ink Moth"))
    key_file = home / "master.key"
    old_text = key_file.read_text()
    done = rotate_configured(settings)
    assert done.key_file == str(key_file)
    assert done.first_new_head_id is not None
    assert key_file.read_text() != old_text
    assert not pending_key_file(key_file).exists()
    assert key_file.stat().st_mode & 0o077 == 0
    # Committed, then stopped before the new key replaced the file: the next open finishes.
    pending = pending_key_file(key_file)
    pending.write_text(MasterKey.generate_text())
    with opened_ledger(settings) as ledger:
        rotate_master(ledger, MasterKey.from_text(pending.read_text()))
    with opened_ledger(settings) as ledger:
        assert ledger.ring.generation == 2
    assert not pending.exists()
    with opened_ledger(settings) as ledger:
        ledger.integrity.verify()


def museum_command(home: Path, env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """The `museum` command in-process, with exactly these MUSEUM_* variables."""
    with pytest.MonkeyPatch.context() as patch:
        for name in [k for k in os.environ if k.startswith("MUSEUM_")]:
            patch.delenv(name)
        for name, value in ({"MUSEUM_HOME": str(home)} | env).items():
            patch.setenv(name, value)
        get_settings.cache_clear()
        out, err = io.StringIO(), io.StringIO()
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        finally:
            get_settings.cache_clear()
    return code, out.getvalue(), err.getvalue()


def test_the_command_rotates_and_never_prints_the_key(tmp_path: Path) -> None:
    home = tmp_path / "var"
    old = {"MUSEUM_MASTER_KEY_FILE": str(home / "master.key")}
    home.mkdir()
    (home / "master.key").write_text(MasterKey.generate_text())
    code, _, err = museum_command(home, old, "keys", "create", "--role", "curator", "--name", "D")
    assert code == 0, err
    target = tmp_path / "next.key"
    code, out, err = museum_command(
        home, old, "keys", "rotate-master", "--new-key-file", str(target)
    )
    assert code == 0, err
    assert "rotated to generation 1" in out
    assert target.read_text().strip() not in out + err
    code, _, err = museum_command(home, old, "ledger", "verify")
    assert code == 6
    assert "retired" in err
    assert len(err.strip().splitlines()) == 1
    new = {"MUSEUM_MASTER_KEY_FILE": str(target)}
    code, _, err = museum_command(home, new, "ledger", "verify")
    assert code == 0, err
    code, out, _ = museum_command(home, new, "keys", "list", "--json")
    (desk,) = json.loads(out)["keys"]
    code, out, err = museum_command(home, new, "keys", "rotate", desk["key_id"], "--json")
    assert code == 0, err
    rotated = json.loads(out)
    assert rotated["old"]["replaced_by"] == rotated["issued"]["key"]["key_id"]
    assert rotated["issued"]["key"]["role"] == "curator"
    code, _, err = museum_command(home, new, "keys", "rotate", desk["key_id"])
    assert code == 4
    assert "already rotated" in err
    code, out, _ = museum_command(home, new, "keys", "ring")
    assert "retired" in out
    assert "current" in out
    code, _, err = museum_command(
        home, {"MUSEUM_MASTER_KEY": target.read_text()}, "keys", "rotate-master"
    )
    assert code == 2
    assert "--new-key-file" in err
    assert len(err.strip().splitlines()) == 1
