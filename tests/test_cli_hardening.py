"""The command line's one error boundary: malformed invocations, files, numbers and settings end as
one `error:` line and a documented exit code, never a traceback, and record nothing."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import factories
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.crypto import MasterKey
from ledger.errors import ProofError
from ledger.receipt import verify_receipt
from ledger.runtime import opened_ledger
from ledger.settings import Settings, get_settings
from royalties.settings import get_royalty_settings

DOCUMENTED = {0, 1, 2, 3, 4, 5, 6, 7, 130}
HUGE = str(2**70)


@dataclass(frozen=True)
class World:
    home: Path
    key: str
    artist: str
    receipt: dict[str, Any]
    public_key: str
    files: Path

    @property
    def env(self) -> dict[str, str]:
        return {"MUSEUM_MASTER_KEY": self.key}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """A seeded embedded ledger, one real receipt, and a folder of files that are not receipts."""
    root = tmp_path_factory.mktemp("hardening")
    key = MasterKey.generate_text()
    factories.seed_home(root / "var", key, artists=2)
    with opened_ledger(Settings(home=root / "var", master_key=key)) as ledger:
        receipt = ledger.integrity.receipt(3).as_builtins()  # the JSON handed out
        public_key = ledger.integrity.public_key_hex
        artist = str(ledger.artist_ids()[0])
    files = root / "files"
    files.mkdir()
    (files / "image.png").write_bytes(factories.png(7))
    (files / "truncated.json").write_text(json.dumps(receipt)[:100])
    (files / "latin1.json").write_bytes('{"topic": "caf\xe9"}'.encode("latin-1"))
    (files / "list.json").write_text("[1, 2]")
    (files / "deep.json").write_text("[" * 50_000 + "]" * 50_000)
    unsigned = json.loads(json.dumps(receipt))
    del unsigned["head"]["signature"]
    (files / "unsigned.json").write_text(json.dumps(unsigned))
    huge = json.loads(json.dumps(receipt))
    huge["event"]["notification_id"] = 2**64
    (files / "huge.json").write_text(json.dumps(huge))
    (files / "receipt.json").write_text(json.dumps(receipt))
    (files / "folder").mkdir()
    return World(root / "var", key, artist, receipt, public_key, files)


def events(home: Path) -> int:
    with sqlite3.connect(home / "ledger.sqlite3") as db:
        (count,) = db.execute("SELECT COUNT(*) FROM stored_events").fetchone()
    return int(count)


def fill(world: World, text: str) -> str:
    """`text` with the world's placeholders filled in ({files}, {pk}, {artist}, {G})."""
    for name, value in (
        ("files", str(world.files)),
        ("pk", world.public_key),
        ("artist", world.artist),
        ("G", G),
    ):
        text = text.replace("{" + name + "}", value)
    return text


def assert_one_line_refusal(code: int, stdout: str, stderr: str) -> None:
    assert code in DOCUMENTED - {0}, (code, stderr)
    assert "Traceback" not in stdout + stderr
    assert stderr.count("\n") == 1, stderr
    assert stderr.startswith("error: ")


# --- each class of issue 14 ---------------------------------------------------------------------

G = "00000000-0000-4000-8000-000000000000"
REPORT = ("royalties", "report", G, "--currency", "EUR", "--reference", "r", "--key", "k")
CASES: list[tuple[tuple[str, ...], dict[str, str], int, str]] = [
    ((*REPORT, "--amount", "1e999999"), {}, 2, "exceeds"),
    ((*REPORT, "--amount", "nan"), {}, 2, "not a finite number"),
    ((*REPORT, "--amount-minor", HUGE), {}, 2, "exceeds"),
    (("ledger", "proof", f"{G}:{HUGE}"), {}, 3, "no event"),
    (("ledger", "consistency", HUGE), {}, 2, "less than or equal to"),
    (("ledger", "proof", "caf\udce9"), {}, 2, "argument 3 is not valid UTF-8"),
    (("ledger", "check-receipt", "{files}/image.png", "--public-key", "{pk}"), {}, 7, "UTF-8"),
    (("ledger", "check-receipt", "{files}/latin1.json", "--public-key", "{pk}"), {}, 7, "UTF-8"),
    (("ledger", "check-receipt", "{files}/truncated.json", "--public-key", "{pk}"), {}, 7, "JSON"),
    (("ledger", "check-receipt", "{files}/deep.json", "--public-key", "{pk}"), {}, 7, "deeply"),
    (("ledger", "check-receipt", "{files}/missing.json", "--public-key", "{pk}"), {}, 7, "no such"),
    (("ledger", "check-receipt", "{files}/folder", "--public-key", "{pk}"), {}, 7, "directory"),
    (("ledger", "check-receipt", "{files}/list.json", "--public-key", "{pk}"), {}, 1, "object"),
    (
        ("ledger", "check-receipt", "{files}/unsigned.json", "--public-key", "{pk}"),
        {},
        1,
        "head.signature: field required",
    ),
    (
        ("ledger", "check-receipt", "{files}/huge.json", "--public-key", "{pk}"),
        {},
        1,
        "event.notification_id",
    ),
    (
        (
            "royalties",
            "statement",
            "{artist}",
            "--from",
            "2020-01-01",
            "--to",
            "2030-01-01",
            "--html",
            "{files}/no-such-folder/s.html",
        ),
        {},
        7,
        "does not exist",
    ),
    (
        (
            "royalties",
            "statement",
            "{artist}",
            "--from",
            "2020-01-01",
            "--to",
            "2030-01-01",
            "--html",
            "{files}/folder",
        ),
        {},
        7,
        "is a directory",
    ),
    (
        ("generate", "--role", "failure", "--emotion", "doubt", "--out", "{files}/nope/x.png"),
        {},
        7,
        "does not exist",
    ),
    (
        ("ledger", "verify"),
        {"MUSEUM_HEAD_EVERY_EVENTS": "ten"},
        6,
        "MUSEUM_HEAD_EVERY_EVENTS: input should be a valid integer",
    ),
    (
        ("ledger", "new-master-key"),  # never reads the thresholds, still refused up front
        {"MUSEUM_ROYALTY_PAYOUT_THRESHOLDS": '{"EUR": 20'},
        6,
        "MUSEUM_ROYALTY_PAYOUT_THRESHOLDS: expected a JSON object",
    ),
    (
        ("ledger", "verify"),
        {"MUSEUM_HOME": "{files}/image.png/var"},
        6,
        "MUSEUM_HOME ({files}/image.png/var) cannot hold the museum's data: not a directory",
    ),
    (("ledger", "head"), {"MUSEUM_MASTER_KEY": "hunter2"}, 6, "the master key must be 32 bytes"),
    (
        ("royalties", "payout", "--run-key", "r"),
        {"MUSEUM_DATABASE_URL": "mysql://root:hunter2@127.0.0.1/museum"},
        6,
        "MUSEUM_DATABASE_URL: must be a postgresql:// URL",
    ),
    (
        ("royalties", "balances"),
        {"MUSEUM_DATABASE_URL": "postgresql://postgres:hunter2@127.0.0.1:1/museum"},
        6,
        "cannot reach the database of MUSEUM_DATABASE_URL (postgresql://postgres:***@127.0.0.1:1"
        "/museum): connection refused",
    ),
]


# One case of each class runs the real command in a subprocess (its real stderr, its real exit);
# the others go through the same `main` in this process, which is faster.
IN_A_SUBPROCESS = {0, 5, 6, 13, 15, 18, 23}


@pytest.mark.parametrize(
    ("args", "env", "code", "needle", "subprocess"),
    [(*case, index in IN_A_SUBPROCESS) for index, case in enumerate(CASES)],
)
def test_each_class_is_one_line_and_its_code(
    world: World,
    args: tuple[str, ...],
    env: dict[str, str],
    code: int,
    needle: str,
    subprocess: bool,
) -> None:
    before = events(world.home)
    filled = [fill(world, arg) for arg in args]
    env = {name: fill(world, value) for name, value in env.items()}
    needle = fill(world, needle)
    if subprocess:
        result = factories.run_museum(world.home, *filled, env=world.env | env)
        got, stdout, stderr = result.returncode, result.stdout, result.stderr
    else:
        with environment({"MUSEUM_HOME": str(world.home)} | world.env | env):
            got, stdout, stderr = run_main(filled)
    assert_one_line_refusal(got, stdout, stderr)
    assert got == code, stderr
    assert needle.lower() in stderr.lower()
    assert "hunter2" not in stderr
    assert events(world.home) == before
    assert not list(world.files.rglob("*.part"))


def test_a_damaged_ledger_file_is_one_line(world: World, tmp_path: Path) -> None:
    home = tmp_path / "var"
    shutil.copytree(world.home, home)
    for leftover in home.glob("ledger.sqlite3-*"):
        leftover.unlink()
    (home / "ledger.sqlite3").write_bytes(os.urandom(4096))  # what a bad disk copy leaves
    result = factories.run_museum(home, "ledger", "verify", env=world.env)
    assert_one_line_refusal(result.returncode, result.stdout, result.stderr)
    assert result.returncode == 6
    assert f"the ledger database {home / 'ledger.sqlite3'} is unreadable" in result.stderr
    assert "file is not a database" in result.stderr


def _tampered_home(world: World, tmp_path: Path) -> Path:
    """A copy whose first ArtistRegistered event still parses but lacks a field: a bug's view."""
    home = tmp_path / "var"
    shutil.copytree(world.home, home)
    with sqlite3.connect(home / "ledger.sqlite3") as db:
        rowid, state = db.execute(
            "SELECT rowid, state FROM stored_events WHERE topic LIKE '%ArtistRegistered' "
            "ORDER BY rowid LIMIT 1"
        ).fetchone()
        payload = json.loads(bytes(state))
        del payload["founding_number"]
        db.execute(
            "UPDATE stored_events SET state = ? WHERE rowid = ?",
            (json.dumps(payload).encode(), rowid),
        )
    return home


def test_an_unexpected_error_names_itself_and_its_report(world: World, tmp_path: Path) -> None:
    home = _tampered_home(world, tmp_path)
    statement = (
        "royalties",
        "statement",
        world.artist,
        "--from",
        "2020-01-01",
        "--to",
        "2030-01-01",
    )
    result = factories.run_museum(home, *statement, env=world.env)
    assert result.returncode == 70
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: unexpected TypeError: ")
    report = Path(result.stderr.rsplit("full report: ", 1)[1].rstrip(")\n"))
    assert report.parent == home / "crash-reports"
    text = report.read_text()
    assert "Traceback (most recent call last)" in text
    assert world.artist in text  # the arguments, kept
    assert world.key not in text  # nothing from the environment
    assert os.stat(report).st_mode & 0o077 == 0

    debug = factories.run_museum(home, "--debug", *statement, env=world.env)
    assert debug.returncode == 70
    assert "Traceback (most recent call last)" in debug.stderr
    assert debug.stderr.splitlines()[-1].startswith("error: unexpected TypeError")
    assert len(list((home / "crash-reports").iterdir())) == 1  # --debug writes none


# --- the boundary in-process: fuzzed arguments and settings -----------------------------------


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """MUSEUM_* exactly as given for the duration; the caller's restored afterwards."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("MUSEUM_")}
    for name in saved:
        del os.environ[name]
    try:
        os.environ.update(values)
        yield
    finally:
        for name in [k for k in os.environ if k.startswith("MUSEUM_")]:
            del os.environ[name]
        os.environ.update(saved)
        get_settings.cache_clear()
        get_royalty_settings.cache_clear()


run_main = factories.main_in_process


def check(world: World, args: list[str], env: dict[str, str]) -> None:
    """One invocation: a documented code; a refusal is one line and records nothing."""
    before = events(world.home)
    with environment({"MUSEUM_HOME": str(world.home), "MUSEUM_MASTER_KEY": world.key} | env):
        code, stdout, stderr = run_main(args)
    assert "Traceback" not in stdout + stderr
    assert code in DOCUMENTED, (args, env, code, stderr)
    if code:
        assert_one_line_refusal(code, stdout, stderr)
        assert events(world.home) == before, (args, stderr)


COMMANDS = [
    [],
    ["ledger"],
    ["nonsense"],
    ["ledger", "verify"],
    ["ledger", "head"],
    ["ledger", "proof"],
    ["ledger", "consistency"],
    ["ledger", "check-receipt"],
    ["ledger", "new-master-key"],
    ["ledger", "proof-bundle"],
    ["ledger", "check-proof"],
    ["witness", "key"],
    ["royalties", "report", G],
    ["royalties", "refund"],
    ["royalties", "balances"],
    ["royalties", "statement"],
    ["royalties", "payout-failed"],
    ["royalties", "release-held"],
    ["erasures"],
    # Commands that train, generate or benchmark: only arguments that fail in parsing.
    ["demo", "--artists", "0"],
    ["demo", "--seed", HUGE],
    ["train", "--seed", "-1"],
    ["retrain", "--no-such-option"],
    ["generate", "--role", "x", "--emotion", "y", "--seed", HUGE],
    ["attribute"],
    ["similar-failures"],
    ["worker", "--no-such-option"],
    ["bench", "ledger", "--events", "1"],
    ["bench", "royalties", "--reports", "0"],
    ["bench", "erasure", "--steps", "0"],
]
OPTIONS = [
    "--json", "--amount", "--amount-minor", "--currency", "--reference", "--key", "--refund-key",
    "--from", "--to", "--html", "--public-key", "--reason", "--run-key", "--attribution",
    "--chargeback", "--debug", "--at", "--overdue", "--log-key", "--witness-key", "--quorum",
    "--output",
]  # fmt: skip
VALUES = [
    "0", "-0", "-1", "1", "3", "19.99", "1e999999", "-1e999999", "1e-999999", "nan", "inf",
    HUGE, str(2**63), str(2**63 - 1), "EUR", "XYZ", "jpy", "2020-01-01", "2030-13-45", G,
    "\udcff", "a\ud800b", "", " ", "%s", "../../etc/passwd", "{files}/image.png",
    "{files}/truncated.json", "{files}/unsigned.json", "{files}/receipt.json", "{files}/folder",
    "{files}/no-such-folder/x.html", "{artist}", "{pk}", "{G}:1", "{G}:" + HUGE,
]  # fmt: skip
tokens = st.one_of(
    st.sampled_from(OPTIONS),
    st.sampled_from(VALUES),
    st.text(max_size=12),
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(command=st.sampled_from(COMMANDS), rest=st.lists(tokens, max_size=8))
def test_fuzzed_arguments_end_in_a_documented_code(
    world: World, command: list[str], rest: list[str]
) -> None:
    check(world, [*command, *(fill(world, token) for token in rest)], {})


env_values = st.one_of(
    st.sampled_from(["", "ten", "-1", "0", "1", "1e3", HUGE, "\udcff", "null", "[]", "{", "{}"]),
    st.sampled_from(
        ['{"EUR": 2000}', '{"EUR": -5}', '{"XYZ": 5}', '{"EUR": "x"}', '{"EUR": 1e99}']
    ),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    # An environment variable cannot hold NUL (the OS refuses it before the museum sees it).
    st.text(st.characters(exclude_characters="\x00"), max_size=10),
)
env_names = st.sampled_from(
    [
        "MUSEUM_HEAD_EVERY_EVENTS",
        "MUSEUM_RETRAIN_WINDOW",
        "MUSEUM_ROYALTY_PLATFORM_BPS",
        "MUSEUM_ROYALTY_FOUNDING_BONUS_BPS",
        "MUSEUM_ROYALTY_PAYOUT_THRESHOLDS",
        "MUSEUM_ROYALTY_DEFAULT_THRESHOLD_MAJOR",
        "MUSEUM_MASTER_KEY",
        "MUSEUM_MASTER_KEY_FILE",
        "MUSEUM_DATABASE_URL",
        "MUSEUM_REDIS_URL",
        "MUSEUM_LOG_ORIGIN",
    ]
)
unreachable = st.sampled_from(
    ["postgresql://postgres@127.0.0.1:1/x", "mysql://a@b/c", "postgresql://", "not a url"]
)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    env=st.dictionaries(env_names, env_values, max_size=3),
    url=st.none() | unreachable,
    command=st.sampled_from([["ledger", "verify"], ["royalties", "balances"]]),
)
def test_fuzzed_settings_end_in_a_documented_code(
    world: World, env: dict[str, str], url: str | None, command: list[str]
) -> None:
    if url is not None:
        env = env | {"MUSEUM_DATABASE_URL": url}
    elif env.get("MUSEUM_DATABASE_URL", "").strip():
        env = env | {
            "MUSEUM_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/x"
        }  # never a live one
    check(world, command, env)


def test_the_ledger_verifies_after_the_fuzzing(world: World) -> None:
    with environment({"MUSEUM_HOME": str(world.home), "MUSEUM_MASTER_KEY": world.key}):
        code, stdout, stderr = run_main(["ledger", "verify", "--json"])
    assert code == 0, stderr
    assert json.loads(stdout)["ok"]


# --- the offline verifier and the amounts, at their own depth --------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.text(max_size=8)
    | st.floats(allow_nan=True, allow_infinity=True),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(
    section=st.sampled_from(["event", "inclusion", "head"]),
    field=st.sampled_from(
        [
            "notification_id",
            "originator_id",
            "originator_version",
            "topic",
            "state",
            "leaf_index",
            "tree_size",
            "path",
            "root_hash",
            "timestamp_ms",
            "signature",
            "absent",
        ]
    ),
    value=json_values,
    drop=st.booleans(),
)
def test_a_mangled_receipt_is_a_proof_error(
    world: World, section: str, field: str, value: Any, drop: bool
) -> None:
    receipt = json.loads(json.dumps(world.receipt))
    part = receipt[section]
    if field not in part:
        part[field] = value  # an unknown extra field changes nothing
        verify_receipt(receipt, world.public_key)
        return
    if drop:
        del part[field]
    elif value == part[field] and type(value) is type(part[field]):
        return
    else:
        part[field] = value
    with pytest.raises(ProofError):
        verify_receipt(receipt, world.public_key)


@pytest.mark.parametrize("value", [None, [], "x", 3, [1, 2], {"event": 1}])
def test_verify_receipt_refuses_what_is_not_a_receipt(world: World, value: Any) -> None:
    with pytest.raises(ProofError, match="malformed receipt"):
        verify_receipt(value, world.public_key)


def test_museum_debug_prints_the_traceback_of_a_bug(world: World, tmp_path: Path) -> None:
    home = _tampered_home(world, tmp_path)
    statement = [
        "royalties",
        "statement",
        world.artist,
        "--from",
        "2020-01-01",
        "--to",
        "2030-01-01",
    ]
    with environment({"MUSEUM_HOME": str(home), "MUSEUM_DEBUG": "1"} | world.env):
        code, _, stderr = run_main(statement)
    assert code == 70
    assert "Traceback (most recent call last)" in stderr
    assert not (home / "crash-reports").exists()


def test_a_statement_is_written_whole_where_asked(world: World, tmp_path: Path) -> None:
    page = tmp_path / "out" / "statement.html"
    page.parent.mkdir()
    page.write_text("an older statement")
    args = ["royalties", "statement", world.artist, "--from", "2020-01-01", "--to", "2030-01-01"]
    with environment({"MUSEUM_HOME": str(world.home)} | world.env):
        code, _, stderr = run_main([*args, "--html", str(page)])
    assert code == 0, stderr
    assert "Royalty statement" in page.read_text()
    assert [p.name for p in page.parent.iterdir()] == ["statement.html"]  # no temporary left
