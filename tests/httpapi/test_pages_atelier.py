"""The AI Atelier: a run's loss curve (inline SVG drawn on the server) and sample grids, live
over server-sent events from the ledger's progress events, past runs whole and replayed; for
founding artists and curators only.

Runs here are recorded directly (`ModelRecords`), as a training job records them, so no model
trains; `tests/browser/` watches a real tiny training run through a real browser."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from uuid import UUID

import factories
from litestar import Litestar
from litestar.testing import TestClient

from api.web.atelier.chart import loss_curve_svg
from api.web.atelier.stream import REPLAY_FRAMES, replay_frames
from api.web.rendering import STATIC
from httpapi.accessibility import colours, contrast, problems
from httpapi.conftest import Keys, museum_of
from httpapi.pages import links_of, signed_in
from ledger.atelier import Atelier, LossPointRead, ShardCurveRead
from ledger.model_records import ModelRecords
from ledger.retraining_records import RetrainingRecords

Client = TestClient[Litestar]
STEPS = 40


@dataclass
class Message:
    event: str
    data: str
    id: str | None


def messages(stream: str) -> list[Message]:
    """The dispatched messages of an SSE body (comments and id-only records set ids only)."""
    found = []
    for block in re.split(r"\r\n\r\n|\n\n", stream):
        fields: dict[str, list[str]] = {}
        for line in re.split(r"\r\n|\n", block):
            if line and not line.startswith(":"):
                name, _, value = line.partition(": ")
                fields.setdefault(name, []).append(value)
        if "data" in fields:
            event = fields.get("event", ["message"])[0]
            found.append(Message(event, "\n".join(fields["data"]), (fields.get("id") or [None])[0]))
    return found


def last_id(stream: str) -> int:
    return int(re.findall(r"^id: (\d+)", stream, re.MULTILINE)[-1])


def start(client: Client, job: str = "atelier", shards: int = 1) -> UUID:
    records = ModelRecords(museum_of(client).ledger)
    config = {"preset": "tiny", "train": {"steps": STEPS}}
    return records.start_run(job_id=job, config=config, seed=0, shards=shards).id


def progress(client: Client, run_id: UUID, *points: tuple[int, int, float]) -> None:
    records = ModelRecords(museum_of(client).ledger)
    for shard, step, loss in points:
        records.record_progress(run_id, shard, step, loss)


def grid(client: Client, run_id: UUID, shard: int, step: int) -> None:
    ModelRecords(museum_of(client).ledger).record_sample_grid(
        run_id, shard, step, factories.png(step)
    )


def finish(client: Client, run_id: UUID, shards: int = 1, loss: float = 0.25) -> None:
    records = ModelRecords(museum_of(client).ledger)
    for shard in range(shards):
        records.record_checkpoint(run_id, shard, STEPS, f"{shard:064x}", b"weights")
    records.complete_run(run_id, loss)


def counter_of(page: str) -> str:
    found = re.search(r'<p class="counter" id="atelier-counter"[^>]*>(.*?)</p>', page, re.S)
    assert found is not None
    return found.group(1).strip()


# --- the chart ----------------------------------------------------------------------------


def curve(shard: int, *points: tuple[int, float]) -> ShardCurveRead:
    return ShardCurveRead(shard=shard, points=[LossPointRead(step=s, loss=v) for s, v in points])


def test_the_loss_curve_is_drawn_to_scale() -> None:
    svg = loss_curve_svg([curve(0, (10, 0.8), (20, 0.4), (40, 0.2))], 40)
    assert svg.startswith('<svg class="loss-curve" viewBox="0 0 640 240"')
    assert 'role="img"' in svg
    assert (
        'aria-label="Training loss by step: loss from 0.800 at step 10 to 0.200 at step 40"' in svg
    )
    [line] = re.findall(r'<polyline class="curve shard-0" fill="none" points="([^"]+)"', svg)
    xs, ys = zip(
        *((float(a), float(b)) for a, b in (p.split(",") for p in line.split())), strict=True
    )
    # steps 10, 20, 40 of 40 across the 574 px between the margins (52 … 626)
    assert xs == (52 + 574 * 0.25, 52 + 574 * 0.5, 626.0)
    # loss 0 … 1 (the round number above 0.8) down the 198 px between 12 and 210
    assert ys == (51.6, 130.8, 170.4)  # 12 + 198 × (1 − loss)
    assert ">1</text>" in svg
    assert ">0.5</text>" in svg
    assert ">40</text>" in svg
    assert '<circle class="end shard-0" cx="626" cy="170.4"' in svg


def test_the_chart_draws_a_line_per_shard_and_says_when_there_is_none() -> None:
    two = loss_curve_svg([curve(0, (5, 2.2)), curve(1, (5, 1.1), (10, 0.9))], 10)
    assert 'class="curve shard-0"' in two
    assert 'class="curve shard-1"' in two
    assert "shard 1 from 2.200 at step 5 to 2.200 at step 5; shard 2 from 1.100" in two
    assert ">2.5</text>" in two  # the top of the axis: a round number above 2.2
    empty = loss_curve_svg([], 200)
    assert "no loss recorded yet" in empty
    assert "<polyline" not in empty
    assert 'aria-label="Training loss by step: no loss recorded yet"' in empty
    assert problems(f'<html lang="en"><h1>x</h1>{two}{empty}</html>') == []
    # a point beyond the planned steps widens the axis instead of leaving the picture
    assert ">80</text>" in loss_curve_svg([curve(0, (80, 0.1))], 40)


def test_the_shard_colours_have_enough_contrast() -> None:
    paper = colours((STATIC / "museum.css").read_text())["paper"]
    css = (STATIC / "atelier.css").read_text()
    shards = dict(re.findall(r"--(shard-\d):\s*(#[0-9a-fA-F]{6})", css))
    assert len(shards) == 4
    assert {
        n: round(contrast(v, paper), 2) for n, v in shards.items() if contrast(v, paper) < 3
    } == {}


# --- the ledger's view --------------------------------------------------------------------


def test_a_run_as_the_atelier_sees_it_and_cut_at_a_frame(sqlite_client: Client, keys: Keys) -> None:
    run_id = start(sqlite_client, shards=2)
    progress(sqlite_client, run_id, (0, 20, 0.9), (0, 40, float("nan")), (1, 20, 0.7))
    grid(sqlite_client, run_id, 0, 40)
    grid(sqlite_client, run_id, 1, 20)
    atelier = Atelier(museum_of(sqlite_client).ledger, museum_of(sqlite_client).model_reads)
    view = atelier.run(run_id)
    assert (view.step, view.total, view.frames, view.frame) == (60, 80, 3, None)
    assert [[(p.step, p.loss) for p in c.points] for c in view.curves] == [[(20, 0.9)], [(20, 0.7)]]
    assert [(s.shard, s.state) for s in view.shards] == [(0, "trained"), (1, "training")]
    assert [(g.number, g.shard, g.step) for g in view.samples] == [(0, 0, 40), (1, 1, 20)]
    first = atelier.run(run_id, frame=1)
    assert (first.step, first.loss, first.frame) == (20, 0.9, 1)
    assert first.samples == []  # the grid of step 40 comes after the first record
    assert [(s.shard, s.state) for s in first.shards] == [(0, "training"), (1, "waiting")]
    assert atelier.run(run_id, frame=99).frame == 3
    finish(sqlite_client, run_id, shards=2)
    done = atelier.run(run_id)
    assert (done.step, done.total, done.run.state) == (80, 80, "completed")
    assert {s.state for s in done.shards} == {"trained"}


def test_changes_after_a_position_name_the_runs_in_the_order_they_changed(
    sqlite_client: Client, keys: Keys
) -> None:
    museum = museum_of(sqlite_client)
    atelier = Atelier(museum.ledger, museum.model_reads)
    before = atelier.position()
    first = start(sqlite_client, "first")
    assert atelier.changed_after(before).runs == [str(first)]
    finish(sqlite_client, first)
    middle = atelier.position()
    second = start(sqlite_client, "second")
    progress(sqlite_client, second, (0, 10, 0.5))
    museum.ledger.revoke_consent(UUID(keys.donation_ids["member"]), "exhibit")  # not a run's
    changed = atelier.changed_after(middle)
    assert changed.runs == [str(second)]
    assert changed.position < atelier.position()  # the consent change is after the last run event
    assert atelier.changed_after(before, first).runs == [str(first)]
    assert atelier.changed_after(changed.position).runs == []
    assert atelier.changed_after(changed.position).position == changed.position


# --- the pages ----------------------------------------------------------------------------


def test_founders_and_curators_see_the_atelier_and_nobody_else(
    sqlite_client: Client, keys: Keys
) -> None:
    run_id = start(sqlite_client)
    progress(sqlite_client, run_id, (0, 20, 0.6))
    for name in ("founder", "curator"):
        client = signed_in(sqlite_client, keys, name)
        page = client.get("/atelier")
        assert page.status_code == 200, name
        assert '<a href="/atelier" aria-current="page">Atelier</a>' in page.text
        assert counter_of(page.text) == "Training: step 20 of 40, loss 0.6000"
        assert client.get(f"/atelier/runs/{run_id}").status_code == 200
    for name in ("member", "artist", "integrator", "compliance"):
        client = signed_in(sqlite_client, keys, name)
        assert client.get("/atelier").status_code == 403, name
        assert 'href="/atelier"' not in client.get("/").text, name  # and not in the menu
    visitor = signed_in(sqlite_client, keys, "visitor")
    refused = visitor.get(f"/atelier/runs/{run_id}", follow_redirects=False)
    assert refused.status_code == 303
    assert refused.headers["location"].startswith("/sign-in?next=/atelier/runs/")


def test_the_index_follows_the_next_run_and_a_run_page_shows_it_whole(
    sqlite_client: Client, keys: Keys
) -> None:
    client = signed_in(sqlite_client, keys, "founder")
    empty = client.get("/atelier")
    assert counter_of(empty.text) == "Waiting for a run to start."
    [connect] = re.findall(r'sse-connect="/atelier/live\?after=(\d+)"', empty.text)
    run_id = start(client)
    progress(client, run_id, (0, 20, 0.6))
    grid(client, run_id, 0, 20)
    stream = client.get(f"/atelier/live?after={connect}")
    assert stream.headers["content-type"].startswith("text/event-stream")
    sent = messages(stream.text)
    assert [m.event for m in sent] == ["heading", "counter", "run"]
    assert f"Training now: run {str(run_id)[:12]}" in sent[0].data
    assert sent[1].data == "Training: step 20 of 40, loss 0.6000"
    assert f'<img src="/atelier/runs/{run_id}/samples/0"' in sent[2].data
    assert "<svg" in sent[2].data
    assert sent[2].id is not None
    image = client.get(f"/atelier/runs/{run_id}/samples/0")
    assert image.headers["content-type"] == "image/png"
    assert image.content == factories.png(20)
    assert client.get(f"/atelier/runs/{run_id}/samples/1").status_code == 404
    finish(client, run_id)
    whole = client.get(f"/atelier/runs/{run_id}")
    assert counter_of(whole.text) == "Completed: 40 steps, final loss 0.2500"
    assert "sse-connect" not in whole.text  # nothing more will come: no stream
    assert f'href="/atelier/runs/{run_id}?replay=1"' in whole.text
    for link in links_of(whole.text):
        assert link.startswith(("/", "#")), link
    assert client.get("/static/htmx-ext-sse.min.js").text.startswith("/*! htmx-ext-sse 2.")


def test_a_run_streams_its_progress_live_and_ends_with_the_run(
    sqlite_client: Client, keys: Keys
) -> None:
    client = signed_in(sqlite_client, keys, "curator")
    run_id = start(client)
    page = client.get(f"/atelier/runs/{run_id}")
    [after] = re.findall(rf'sse-connect="/atelier/runs/{run_id}/live\?after=(\d+)"', page.text)
    assert counter_of(page.text) == "Training: step 0 of 40"
    # Progress recorded while the stream is open reaches it (another thread stands in for the
    # training worker: the stream polls the ledger, nothing tells it).
    writer = threading.Timer(0.05, progress, (client, run_id, (0, 10, 0.8), (0, 20, 0.5)))
    writer.start()
    slow = client.app.state.museum.http
    client.app.state.museum.http = slow.model_copy(update={"stream_seconds": 1.5})
    try:
        started = time.monotonic()
        live = client.get(f"/atelier/runs/{run_id}/live?after={after}")
    finally:
        client.app.state.museum.http = slow
        writer.join()
    assert time.monotonic() - started < 5
    counters = [m.data for m in messages(live.text) if m.event == "counter"]
    assert counters[-1] == "Training: step 20 of 40, loss 0.5000"
    assert "end" not in [m.event for m in messages(live.text)]
    # A reconnecting browser sends the last id it had: nothing is sent twice.
    again = client.get(
        f"/atelier/runs/{run_id}/live", headers={"Last-Event-ID": str(last_id(live.text))}
    )
    assert messages(again.text) == []
    finish(client, run_id)
    done = client.get(f"/atelier/runs/{run_id}/live?after={last_id(live.text)}")
    sent = messages(done.text)
    assert [m.event for m in sent][-1] == "end"
    assert "Completed: 40 steps, final loss 0.2500" in [m.data for m in sent]
    assert client.get(f"/atelier/runs/{UUID(int=7)}/live").status_code == 404


def test_a_past_run_replays_from_the_start(sqlite_client: Client, keys: Keys) -> None:
    client = signed_in(sqlite_client, keys, "founder")
    run_id = start(client)
    progress(client, run_id, (0, 10, 0.9), (0, 20, 0.6), (0, 40, 0.3))
    finish(client, run_id)
    page = client.get(f"/atelier/runs/{run_id}?replay=1")
    assert f'sse-connect="/atelier/runs/{run_id}/replay"' in page.text
    assert counter_of(page.text) == "Replay: step 0 of 40"
    assert "no loss recorded yet" in page.text
    sent = messages(client.get(f"/atelier/runs/{run_id}/replay").text)
    counters = [m.data for m in sent if m.event == "counter"]
    assert counters == [
        "Replay: step 10 of 40, loss 0.9000",
        "Replay: step 20 of 40, loss 0.6000",
        "Completed: 40 steps, final loss 0.2500",  # the last frame is the whole run
        "Completed: 40 steps, final loss 0.2500",
    ]
    assert [m.id for m in sent if m.event == "run"] == ["1", "2", "3", "3"]
    assert sent[-1].event == "end"
    resumed = client.get(f"/atelier/runs/{run_id}/replay", headers={"Last-Event-ID": "2"})
    assert [m.id for m in messages(resumed.text) if m.event == "run"] == ["3", "3"]


def test_a_long_run_replays_in_a_bounded_number_of_frames() -> None:
    assert replay_frames(3) == [1, 2, 3]
    assert replay_frames(3, after=2) == [3]
    long = replay_frames(1000)
    assert len(long) == REPLAY_FRAMES
    assert long[-1] == 1000
    assert long == sorted(set(long))


def test_a_retraining_run_shows_the_shards_it_trained_again_and_reused(
    sqlite_client: Client, keys: Keys
) -> None:
    base_id = start(sqlite_client, "base", shards=2)
    progress(sqlite_client, base_id, (0, STEPS, 0.4), (1, STEPS, 0.5))
    finish(sqlite_client, base_id, shards=2)
    records = ModelRecords(museum_of(sqlite_client).ledger)
    base = records.get_run(base_id)
    kept = [c for c in base.checkpoints if c["shard"] == 1]
    snapshot = records.consent_snapshot()
    retraining = RetrainingRecords(records.ledger).start_retraining(
        job_id="retrain",
        base=base,
        items=snapshot.items,
        consents_relied_on=snapshot.consents_relied_on,
        feedback_used=[],
        requests=[],
        retrained=[0],
        reused=kept,
        emptied=[],
    )
    progress(sqlite_client, retraining.id, (0, 20, 0.45))
    client = signed_in(sqlite_client, keys, "curator")
    page = client.get(f"/atelier/runs/{retraining.id}").text
    assert "A retraining run for 0 erasure requests" in page
    assert f'href="/atelier/runs/{base_id}"' in page
    assert "Shard 1: retraining" in page
    assert f"Shard 2: reused unchanged (from model version {base_id})" in page


def test_the_atelier_pages_are_labelled_and_in_order(sqlite_client: Client, keys: Keys) -> None:
    client = signed_in(sqlite_client, keys, "founder")
    pages = {"empty": client.get("/atelier").text}
    run_id = start(client, shards=2)
    progress(client, run_id, (0, 20, 0.6), (1, 20, 0.5))
    grid(client, run_id, 1, 20)
    pages["training"] = client.get("/atelier").text
    pages["run"] = client.get(f"/atelier/runs/{run_id}").text
    finish(client, run_id, shards=2)
    pages["replay"] = client.get(f"/atelier/runs/{run_id}?replay=1").text
    pages["done"] = client.get(f"/atelier/runs/{run_id}").text
    assert {name: problems(html) for name, html in pages.items()} == {n: [] for n in pages}
