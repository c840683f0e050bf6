"""`museum backup`, `museum restore` and `museum doctor` as an operator runs them (in-process,
real files): one line per check, a non-zero exit when something needs action, one-line
refusals with their documented codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from factories import main_in_process, recorded_version, seed_collection

from ledger.crypto import MasterKey
from ledger.runtime import opened_ledger
from ledger.settings import Settings

run = main_in_process


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    key = MasterKey.generate_text()
    for name in ("MUSEUM_DATABASE_URL", "MUSEUM_REDIS_URL", "MUSEUM_MASTER_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MUSEUM_HOME", str(tmp_path / "var"))
    monkeypatch.setenv("MUSEUM_MASTER_KEY", key)
    monkeypatch.setenv("MUSEUM_SHRED_LIST", str(tmp_path / "elsewhere" / "shred-list.jsonl"))
    with opened_ledger(Settings(home=tmp_path / "var", master_key=key)) as ledger:
        artists = seed_collection(ledger, 2)
        recorded_version(ledger, "a")  # a deployed model learned from both donors
        ledger.erase_artist(artists[0], "")  # open: it waits for its retraining
    return tmp_path / "var"


def lines_of(stdout: str) -> dict[str, str]:
    found = {}
    for line in stdout.splitlines():
        verdict, _, rest = line.partition("  ")
        name, _, detail = rest.strip().partition(": ")
        found[name] = f"{verdict.strip()} {detail}"
    return found


def test_doctor_says_what_needs_action_one_line_each(home: Path) -> None:
    code, out, _ = run(["doctor"])
    checks = lines_of(out)
    assert code == 1
    assert list(checks) == [
        "configuration",
        "connectivity",
        "schema version",
        "disk space",
        "last verify",
        "last backup",
        "erasures",
    ]
    assert checks["last verify"].startswith("FAIL none recorded")
    assert checks["last backup"].startswith("FAIL none recorded")
    assert checks["erasures"].startswith("ok 1 open")
    assert checks["configuration"].startswith("ok embedded")
    assert "inside MUSEUM_HOME" not in checks["configuration"]  # the list is kept elsewhere

    assert run(["ledger", "verify"])[0] == 0
    code, out, _ = run(["backup", str(home.parent / "backup-1"), "--json"])
    assert code == 0
    assert json.loads(out)["events"] > 0
    code, out, _ = run(["doctor"])
    assert code == 0, out
    assert all(line.startswith("ok") for line in out.splitlines())

    code, out, _ = run(["doctor", "--min-free-mib", str(1 << 40), "--erasure-warning-days", "31"])
    checks = lines_of(out)
    assert code == 1
    assert checks["disk space"].startswith("FAIL")
    assert checks["erasures"].startswith("FAIL 1 of 1 open erasures within 31.0 d")
    code, out, _ = run(["doctor", "--backup-max-age-hours", "0", "--json"])
    verdicts = {c["name"]: c["ok"] for c in json.loads(out)["checks"]}
    assert code == 1
    assert verdicts["last backup"] is False
    assert verdicts["last verify"] is True


def test_restore_from_the_command_line(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    backup = home.parent / "backup"
    assert run(["backup", str(backup)])[0] == 0
    held = home.parent / "head.json"
    held.write_text(run(["ledger", "head", "--json"])[1])

    code, _, err = run(["restore", str(backup)])  # into the live museum
    assert code == 4
    assert err.count("\n") == 1
    assert "not empty" in err

    monkeypatch.setenv("MUSEUM_HOME", str(home.parent / "restored"))
    code, out, err = run(["restore", str(backup), "--head", str(held)])
    assert code == 0, err
    assert err == ""  # a head to hold it against and the shred list: nothing left unknown
    assert out.startswith("restored ")
    assert "against your head: extends the head of size" in out
    assert "1 artist keys" in out  # the erased donor's key stayed gone
    checks = lines_of(run(["doctor"])[1])
    assert checks["last verify"].startswith("ok")  # the restore verified it
    assert checks["last backup"].startswith("FAIL none recorded")


def test_restore_refusals_are_one_line(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    backup = home.parent / "backup"
    assert run(["backup", str(backup)])[0] == 0
    held = home.parent / "head.json"
    held.write_text(run(["ledger", "head", "--json"])[1])
    monkeypatch.setenv("MUSEUM_HOME", str(home.parent / "restored"))

    blob = next((backup / "blobs").glob("??/*"))
    blob.write_bytes(blob.read_bytes() + b"!")
    code, _, err = run(["restore", str(backup)])
    assert code == 1
    assert err.count("\n") == 1
    assert "does not match its manifest" in err
    assert not (home.parent / "restored" / "ledger.sqlite3").exists()


@pytest.mark.parametrize("command", ["backup", "restore", "doctor"])
def test_each_has_help(command: str) -> None:
    code, out, _ = run([command, "--help"])
    assert code == 0
    assert "Usage:" in out
