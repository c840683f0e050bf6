"""`museum retrain` and `museum erasures` as a person runs them: real subprocesses on an
embedded ledger with a deployed version over two shards and one erasure waiting for its batch."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest
from factories import museum_in_process
from retraining_world import deploy_recorded_version, donor_in_shard

from ledger.crypto import MasterKey
from ledger.erasures import Erasures
from ledger.model_records import ModelRecords
from ledger.runtime import opened_ledger
from ledger.settings import Settings

MASTER_KEY = MasterKey.generate_text()


def museum(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """In-process (`test_the_new_commands_have_help` runs the console script itself)."""
    return museum_in_process(home, *args, env={"MUSEUM_MASTER_KEY": MASTER_KEY} | env)


def _settings(home: Path, **changes: object) -> Settings:
    return Settings(home=home, master_key=MASTER_KEY, **changes)  # type: ignore[arg-type]


def _events(home: Path) -> int:
    with opened_ledger(_settings(home)) as ledger:
        return ledger.recorder.max_notification_id() or 0


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, UUID]]:
    """Shard 0 holds `leaving` and `staying`, shard 1 `other`; `leaving` asked for erasure
    (the default 24 h window: not due yet). Each test works on a copy."""
    home = tmp_path_factory.mktemp("museum") / "var"
    with opened_ledger(_settings(home)) as ledger:
        donors = {
            "leaving": donor_in_shard(ledger, 0, 2, shade=10),
            "staying": donor_in_shard(ledger, 0, 2, shade=20),
            "other": donor_in_shard(ledger, 1, 2, shade=30),
        }
        deploy_recorded_version(ledger, shards=2)
        ModelRecords(ledger).erase_artist(donors["leaving"], "leaving")
    return home, donors


@pytest.fixture
def home(template: tuple[Path, dict[str, UUID]], tmp_path: Path) -> Path:
    copy = tmp_path / "var"
    shutil.copytree(template[0], copy)
    return copy


def test_erasures_show_time_left_and_flag_the_overdue(
    home: Path, template: tuple[Path, dict[str, UUID]]
) -> None:
    leaving = str(template[1]["leaving"])
    shown = museum(home, "erasures")
    assert shown.returncode == 0, shown.stderr
    line, summary = shown.stdout.splitlines()
    assert line.startswith(leaving)
    assert "29 d 23 h left" in line
    assert "waiting for the retraining batch due at " in line
    assert summary.endswith(": 0 complete, 1 open, none overdue")

    # Overdue for real, at the service: status read two days after the deadline.
    with opened_ledger(_settings(home)) as ledger:
        deadline = datetime.fromisoformat(str(ledger.erasure_status(UUID(leaving)).deadline))
        late = Erasures(ledger).status(UUID(leaving), now=deadline + timedelta(days=2, hours=3))
    assert late.overdue
    assert late.time_left_seconds == -(2 * 86400 + 3 * 3600)

    # The same moment on the command line (--at): flagged, counted, and still exit 0.
    at = (deadline + timedelta(days=2, hours=3)).isoformat()
    flagged = museum(home, "erasures", "--at", at)
    assert flagged.returncode == 0, flagged.stderr
    assert "OVERDUE by 2 d 3 h" in flagged.stdout
    assert flagged.stdout.splitlines()[-1].endswith(", 1 OVERDUE")
    report = json.loads(museum(home, "erasures", "--overdue", "--json", "--at", at).stdout)
    assert (report["total"], report["open"], report["overdue"]) == (1, 1, 1)
    (entry,) = report["erasures"]
    assert (entry["artist_id"], entry["state"], entry["overdue"]) == (leaving, "waiting", True)
    assert entry["time_left_seconds"] == -(2 * 86400 + 3 * 3600)
    on_time = json.loads(museum(home, "erasures", "--overdue", "--json").stdout)
    assert (on_time["total"], on_time["overdue"], on_time["erasures"]) == (1, 0, [])
    bad = museum(home, "erasures", "--at", "next tuesday")
    assert bad.returncode == 2
    assert bad.stderr.startswith("error:")
    assert "--at" in bad.stderr


def test_retrain_waits_for_the_batch_and_now_serves_it(
    home: Path, template: tuple[Path, dict[str, UUID]]
) -> None:
    leaving = str(template[1]["leaving"])
    waiting = museum(home, "retrain")
    assert waiting.returncode == 0, waiting.stderr
    assert waiting.stdout.startswith("nothing is due (next batch due at ")

    served = museum(home, "retrain", "--now", "--json", "--job-id", "deadline-1")
    assert served.returncode == 0, served.stderr
    result = json.loads(served.stdout)
    assert (result["job"], result["state"], result["deployed"]) == ("retrain", "completed", True)
    assert result["causes"] == {"erasure": 1}
    assert len(result["requests"]) == 1
    assert (result["shards"], result["shards_retrained"]) == (2, [0])  # trained again, 10 steps
    assert (result["shards_reused"], result["shards_dropped"]) == ([1], [])
    assert result["erasures_certified"] == [leaving]
    assert result["next_due_at"] is None

    # The same job id again reports the same run and records nothing.
    before = _events(home)
    again = museum(home, "retrain", "--job-id", "deadline-1")
    assert again.returncode == 0, again.stderr
    assert f"with run {result['run_id']} (completed, job deadline-1)" in again.stdout
    assert "retrained 0 · reused 1 · dropped none" in again.stdout
    assert f"model version: {result['run_id']} (deployed)" in again.stdout
    assert f"erasures certified: {leaving}" in again.stdout
    assert _events(home) == before
    closed = museum(home, "erasures")
    assert " complete at " in closed.stdout
    assert closed.stdout.splitlines()[-1].endswith(": 1 complete, 0 open, none overdue")
    idle = museum(home, "retrain", "--now")
    assert idle.stdout.strip() == "nothing is due: no retraining is scheduled"


def test_the_window_is_configurable_and_a_due_batch_takes_every_request(
    home: Path, template: tuple[Path, dict[str, UUID]]
) -> None:
    refused = museum(home, "retrain", MUSEUM_RETRAIN_WINDOW="P16D")
    assert refused.returncode == 6
    assert "MUSEUM_RETRAIN_WINDOW: must lie between 0 and 15 days" in refused.stderr
    assert _settings(home, retrain_window="PT0S").retrain_window == timedelta(0)
    # With no window the second erasure of shard 0 is due at once, and the batch takes both.
    with opened_ledger(_settings(home, retrain_window="0")) as ledger:
        assert ledger.retrain_window == timedelta(0)
        ModelRecords(ledger).erase_artist(template[1]["staying"], "leaving as well")
    served = museum(home, "retrain", "--json")  # no --now
    assert served.returncode == 0, served.stderr
    result = json.loads(served.stdout)
    assert result["causes"] == {"erasure": 2}
    assert (result["shards_retrained"], result["shards_reused"]) == ([], [1])
    assert result["shards_dropped"] == [0]  # nobody is left in shard 0: nothing is trained
    assert sorted(result["erasures_certified"]) == sorted(
        str(template[1][name]) for name in ("leaving", "staying")
    )


def test_the_new_commands_have_help(tmp_path: Path) -> None:
    refused = museum_in_process(tmp_path, "erasures", "--at", "yesterday")
    assert refused.returncode != 0
    assert refused.stderr.startswith("error: ")
    assert refused.stderr.count("\n") == 1
    for command in ("retrain", "erasures"):
        result = museum_in_process(tmp_path, command, "--help")
        assert result.returncode == 0, result.stderr
        assert "Usage:" in result.stdout
