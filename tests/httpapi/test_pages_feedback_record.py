"""The run's feedback record where people read it: the Atelier (founders and curators), the
compliance desk's run page and the compliance API. A run is started through the ledger with
feedback on one of the two donations (3 stages each): weight 1.5, 60 % of the draws, not 50 %."""

from __future__ import annotations

from uuid import UUID

from litestar import Litestar
from litestar.testing import TestClient

from httpapi.accessibility import problems
from httpapi.conftest import Keys, museum_of
from httpapi.pages import signed_in
from ledger.model_records import ModelRecords

Client = TestClient[Litestar]


def _run(client: Client, keys: Keys, *, feedback: bool) -> tuple[UUID, UUID | None]:
    ledger = museum_of(client).ledger
    noted = UUID(keys.donation_ids["member"])
    given = (
        ledger.give_feedback("donation", noted, 1, "tried a wash", "crop it", "Visitor A")
        if feedback
        else None
    )
    config = {"preset": "tiny", "train": {"steps": 40}}
    run = ModelRecords(ledger).start_run(job_id="fed", config=config, seed=0, shards=1)
    return run.id, given


def test_the_atelier_and_the_desk_show_what_feedback_changed(
    sqlite_client: Client, keys: Keys
) -> None:
    run_id, given = _run(sqlite_client, keys, feedback=True)
    assert given is not None
    atelier = signed_in(sqlite_client, keys, "founder").get(f"/atelier/runs/{run_id}")
    assert atelier.status_code == 200
    assert problems(atelier.text) == []
    assert "What visitors' feedback changed" in atelier.text
    assert (
        "A donation of 3 stages with 1 note: weight 1.5× instead of 1×, so 60.0 % of the "
        "training draws instead of 50.0 %." in atelier.text
    )
    assert keys.donation_ids["member"] not in atelier.text  # ids are compliance's

    desk = signed_in(sqlite_client, keys, "compliance").get(f"/compliance/runs/{run_id}")
    assert desk.status_code == 200
    assert problems(desk.text) == []
    assert f'<code title="{given}">' in desk.text
    assert "60.0 % (3/5)" in desk.text
    assert "50.0 % (1/2)" in desk.text

    api = sqlite_client.get(f"/api/v1/compliance/runs/{run_id}", headers=keys["compliance"])
    (effect,) = api.json()["feedback_effects"]
    assert effect["donation_id"] == keys.donation_ids["member"]
    assert [f["feedback_id"] for f in effect["feedback"]] == [str(given)]
    assert (effect["weight"], effect["share_ppm"], effect["baseline_share_ppm"]) == (
        1.5,
        600_000,
        500_000,
    )


def test_a_run_without_feedback_says_so(sqlite_client: Client, keys: Keys) -> None:
    run_id, _ = _run(sqlite_client, keys, feedback=False)
    atelier = signed_in(sqlite_client, keys, "curator").get(f"/atelier/runs/{run_id}")
    assert "No feedback changed what this run saw" in atelier.text
    desk = signed_in(sqlite_client, keys, "compliance").get(f"/compliance/runs/{run_id}")
    assert "No feedback changed this run's weights" in desk.text
    api = sqlite_client.get(f"/api/v1/compliance/runs/{run_id}", headers=keys["compliance"])
    assert api.json()["feedback_effects"] == []
