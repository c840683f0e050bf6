"""`museum train --variant continuation` and `museum continue` on an embedded ledger, in
process (the same entry point as the console script): real files, exit codes, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import factories
import pytest
from factories import museum_in_process, seed_home

from ledger.crypto import MasterKey
from ledger.model_records import ModelRecords
from ledger.runtime import opened_ledger
from ledger.settings import Settings

MASTER_KEY = MasterKey.generate_text()
ENV = {"MUSEUM_MASTER_KEY": MASTER_KEY}


def museum(home: Path, *args: str):  # type: ignore[no-untyped-def]
    return museum_in_process(home, *args, env=ENV)


def _counts(home: Path) -> tuple[int, int]:
    with opened_ledger(Settings(home=home, master_key=MASTER_KEY)) as ledger:
        blobs = sum(1 for p in ledger.settings.home.rglob("*") if p.is_file())
        return ledger.recorder.max_notification_id() or 0, blobs


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("museum") / "var"
    seed_home(home, MASTER_KEY, artists=2)
    trained = museum(
        home, "train", "--variant", "continuation", "--preset", "tiny", "--steps", "8", "--json"
    )
    assert trained.returncode == 0, trained.stderr
    run = json.loads(trained.stdout)
    assert (run["variant"], run["state"], run["deployed"]) == ("continuation", "completed", True)
    return home


def test_continue_a_donated_stage_and_an_upload(home: Path, tmp_path: Path) -> None:
    with opened_ledger(Settings(home=home, master_key=MASTER_KEY)) as ledger:
        donation = str(ModelRecords(ledger).donation_ids()[0])
    shown = museum(home, "continue", donation, "--stage", "0", "--count", "2", "--steps", "3")
    assert shown.returncode == 0, shown.stderr
    assert f"2 proposal(s) for stage 0 of donation {donation}" in shown.stdout
    made = museum(home, "continue", donation, "--stage", "0", "--count", "2", "--steps", "3",
                  "--json", "--job-id", "c1")  # fmt: skip
    result = json.loads(made.stdout)
    assert result["job"] == "continue"
    assert len(result["series"]) == 2
    assert result["parent"]["donation_id"] == donation
    upload = tmp_path / "mine.png"
    upload.write_bytes(factories.png(77))
    rolled = museum(home, "continue", "--image", str(upload), "--role", "attempt",
                    "--failure-type", "colour", "--emotion", "joy", "--count", "1",
                    "--to-final", "--steps", "2", "--json")  # fmt: skip
    assert rolled.returncode == 0, rolled.stderr
    series = json.loads(rolled.stdout)["series"][0]
    assert [g["role"] for g in series] == ["failure", "revision", "final"]
    assert series[0]["parent"]["kind"] == "upload"


def test_bad_input_is_one_line_and_records_nothing(home: Path, tmp_path: Path) -> None:
    with opened_ledger(Settings(home=home, master_key=MASTER_KEY)) as ledger:
        donation = ModelRecords(ledger).donation_ids()[0]
        last = len(ledger.get_donation(donation).stages) - 1
    text = tmp_path / "notes.png"
    text.write_text("not an image at all")
    huge = tmp_path / "huge.png"
    huge.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * (10 * 1024 * 1024))
    before = _counts(home)
    upload = ("--role", "failure", "--failure-type", "colour", "--emotion", "joy")
    cases = [
        (("continue", "3f0c0000-0000-4000-8000-000000000000", "--stage", "0"), "no donation"),
        (("continue", str(donation), "--stage", "40"), "has no stage 40"),
        (("continue", str(donation), "--stage", "0", "--count", "0"), "count must be"),
        (("continue", str(donation), "--stage", "0", "--count", "17"), "count must be"),
        (("continue", str(donation), "--stage", str(last), "--to-final"), "already a final"),
        (("continue", "--image", str(text), *upload), "does not decode"),
        (("continue", "--image", str(huge), *upload), "the limit is"),
        (("continue", str(donation)), "--stage"),
        (("train", "--variant", "sideways", "--preset", "tiny"), "unknown model variant"),
    ]
    for args, message in cases:
        refused = museum(home, *args)
        assert refused.returncode != 0, args
        assert message in refused.stderr, (args, refused.stderr)
        assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert _counts(home) == before
