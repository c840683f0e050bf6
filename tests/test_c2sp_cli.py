"""The C2SP commands as a person runs them (in process): a witness directory made once, the
log's key and checkpoint, a proof bundle written whole and checked offline, refusals in one
line with the documented code."""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import factories
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from api.cli import main
from ledger.checkpoint import CheckpointSigner
from ledger.crypto import MasterKey
from ledger.signed_note import NoteVerifier


def run(*args: str) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    with redirect_stdout(stdout), redirect_stderr(stderr):
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return code, stdout.getvalue(), stderr.getvalue()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    key = MasterKey.generate_text()
    factories.seed_home(tmp_path / "var", key, artists=1)
    monkeypatch.setenv("MUSEUM_HOME", str(tmp_path / "var"))
    monkeypatch.setenv("MUSEUM_MASTER_KEY", key)
    monkeypatch.setenv("MUSEUM_LOG_ORIGIN", "museum.test/log")
    return tmp_path


def test_log_key_checkpoint_and_a_checked_proof(home: Path) -> None:
    code, log_key, _ = run("ledger", "log-key")
    assert code == 0
    verifier = NoteVerifier.from_key(log_key.strip())
    assert verifier.name == "museum.test/log"
    code, checkpoint, _ = run("ledger", "checkpoint")
    assert code == 0
    assert checkpoint.startswith("museum.test/log\n")

    proof = home / "event-1.tlog-proof"
    code, said, err = run("ledger", "proof-bundle", "1", "-o", str(proof))
    assert code == 0, err
    assert "index 0" in said
    assert proof.read_text().startswith("c2sp.org/tlog-proof@v1\n")
    code, said, err = run("ledger", "check-proof", str(proof), "--log-key", log_key.strip())
    assert code == 0, err
    assert "proof verified: entry 0 is in museum.test/log" in said

    # A quorum the proof lacks, a changed entry, another key: one line each, code 1.
    code, _, err = run(
        "ledger", "check-proof", str(proof), "--log-key", log_key.strip(), "--quorum", "1"
    )
    assert (code, err.count("\n")) == (1, 1)
    assert err.startswith("error: a quorum of 1 needs")
    tampered = home / "tampered.tlog-proof"
    lines = proof.read_text().split("\n")
    lines[1] = "extra " + "QUJD"  # another entry than the one the path proves
    tampered.write_text("\n".join(lines))
    code, _, err = run("ledger", "check-proof", str(tampered), "--log-key", log_key.strip())
    assert (code, err.count("\n")) == (1, 1)
    code, _, err = run("ledger", "proof-bundle", "999999")
    assert (code, err.count("\n")) == (3, 1)


def test_a_witness_is_made_once(tmp_path: Path) -> None:
    home = tmp_path  # a witness needs no museum: only the log's key
    log_key = CheckpointSigner("museum.test/log", Ed25519PrivateKey.generate()).verifier_key()
    directory = home / "witness"
    code, said, err = run(
        "witness", "init", str(directory), "--name", "witness.test/w1", "--log-key", log_key.strip()
    )
    assert code == 0, err
    vkey = said.strip().splitlines()[-1]
    assert vkey.startswith("witness.test/w1+")
    assert run("witness", "key", str(directory))[1].strip() == vkey
    code, _, err = run(
        "witness", "init", str(directory), "--name", "witness.test/w1", "--log-key", log_key.strip()
    )
    assert code == 2
    assert "already holds a witness key" in err
    code, _, err = run("witness", "init", str(home / "w2"), "--name", "w", "--log-key", "nonsense")
    assert (code, err.count("\n")) == (1, 1)
