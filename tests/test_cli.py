"""The `museum` command as a person runs it: a real subprocess, real files, real exit codes."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from factories import museum_in_process
from factories import run_museum as museum


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("museum") / "var"
    result = museum(
        home, "demo", "--no-serve", "--artists", "6", "--preset", "tiny", "--steps", "20"
    )
    assert result.returncode == 0, result.stderr
    assert "ledger verified" in result.stdout
    assert "verified offline" in result.stdout
    # Every exhibit is credited to donors, from one index of the run on disk.
    assert "credited to" in result.stdout
    assert result.stdout.count(" %") >= 6
    assert len(list((home / "attribution-indexes").glob("*/*/manifest.json"))) == 1
    # A licence per exhibit is booked and split; a rerun books nothing twice (keys).
    assert "print licences" in result.stdout
    # The sample statement (a pseudonym in plaintext) is written next to the data, not in it.
    assert not (home / "statements").exists()
    assert len(list((home.parent / "demo-output").glob("statement-*.html"))) == 1
    assert "not part of the museum" in result.stdout
    images = sorted((home / "exhibition").glob("*.png"))
    assert len(images) == 6
    # The demo's visitors' keys are made once; their secrets are shown when they are made.
    assert result.stdout.count("API key of the demo") == 5
    assert all(image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for image in images)
    return home


def test_demo_is_repeatable_and_reuses_the_collection(seeded: Path) -> None:
    again = museum(seeded, "demo", "--no-serve", "--preset", "tiny", "--steps", "20")
    assert again.returncode == 0, again.stderr
    assert "already seeded (6 artists)" in again.stdout
    assert "print licences" in again.stdout
    with sqlite3.connect(seeded / "ledger.sqlite3") as db:
        (reports,) = db.execute(
            "SELECT COUNT(*) FROM stored_events WHERE topic LIKE '%RevenueReported'"
        ).fetchone()
    assert reports == 6


def test_verify_head_proof_and_offline_receipt(seeded: Path, tmp_path: Path) -> None:
    verify = museum(seeded, "ledger", "verify", "--json")
    assert verify.returncode == 0, verify.stderr
    figures = json.loads(verify.stdout)
    assert figures["ok"]
    assert figures["events"] > 20

    head = json.loads(museum_in_process(seeded, "ledger", "head", "--json").stdout)
    assert head["tree_size"] == figures["events"]

    proof = museum_in_process(seeded, "ledger", "proof", "3")
    assert proof.returncode == 0, proof.stderr
    receipt_file = tmp_path / "receipt.json"
    receipt_file.write_text(proof.stdout)
    checked = museum_in_process(
        seeded, "ledger", "check-receipt", str(receipt_file), "--public-key", head["public_key"]
    )
    assert checked.returncode == 0, checked.stderr

    receipt = json.loads(proof.stdout)
    receipt["event"]["originator_version"] += 1
    receipt_file.write_text(json.dumps(receipt))
    forged = museum_in_process(
        seeded, "ledger", "check-receipt", str(receipt_file), "--public-key", head["public_key"]
    )
    assert forged.returncode != 0
    assert forged.stderr.count("\n") == 1
    assert forged.stderr.startswith("error:")


def test_verify_fails_and_names_the_position_after_tampering(seeded: Path, tmp_path: Path) -> None:
    copy = tmp_path / "var"
    subprocess.run(["cp", "-r", str(seeded), str(copy)], check=True)
    with sqlite3.connect(copy / "ledger.sqlite3") as db:
        db.execute("UPDATE stored_events SET state = state || x'20' WHERE rowid = 7")
    result = museum(copy, "ledger", "verify")
    assert result.returncode == 1
    assert result.stderr.startswith("error: ledger verification failed: position 6:")
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("ledger", "proof", "999999"), "no event with notification id 999999"),
        (("ledger", "proof", "seven"), "expected a notification id"),
        (("ledger", "consistency", "999999"), "must lie between"),
        (("ledger", "nonsense"), "No such command"),
        (("demo", "--artists", "0"), "--artists"),
        (("demo", "--preset", "huge"), "unknown preset 'huge'"),
    ],
)
def test_bad_input_is_one_line_on_stderr(seeded: Path, args: tuple[str, ...], needle: str) -> None:
    result = museum_in_process(seeded, *args)  # the console script's refusals: below
    assert result.returncode != 0
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("error:")
    assert needle in result.stderr


def test_postgres_without_master_key_is_refused(tmp_path: Path) -> None:
    result = museum(
        tmp_path,
        "ledger",
        "verify",
        env={"MUSEUM_DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/postgres"},
    )
    assert result.returncode == 6  # ConfigurationError
    assert "no development key is made for it" in result.stderr
    assert not (tmp_path / "master.key").exists()


def test_every_subcommand_has_help(seeded: Path) -> None:
    for args in (
        ("--help",),
        ("demo", "--help"),
        ("ledger", "--help"),
        ("ledger", "verify", "--help"),
        ("ledger", "head", "--help"),
        ("ledger", "proof", "--help"),
        ("ledger", "consistency", "--help"),
        ("ledger", "check-receipt", "--help"),
        ("ledger", "new-master-key", "--help"),
        ("bench", "--help"),
        ("bench", "ledger", "--help"),
        ("bench", "generation", "--help"),
        ("bench", "attribution", "--help"),
        ("bench", "royalties", "--help"),
        ("bench", "erasure", "--help"),
        ("bench", "diversity", "--help"),
        ("attribute", "--help"),
        ("similar-failures", "--help"),
        ("retrain", "--help"),
        ("erasures", "--help"),
        ("royalties", "--help"),
        ("royalties", "report", "--help"),
        ("royalties", "statement", "--help"),
    ):
        # In-process but the first: the console script's own help, then every page of it.
        run = museum if args == ("--help",) else museum_in_process
        result = run(seeded, *args)
        assert result.returncode == 0, (args, result.stderr)
        assert "Usage:" in result.stdout


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _lines_until(process: subprocess.Popen[str], needle: str, seconds: float) -> str:
    """What the process printed up to the line holding `needle` (or up to its end)."""
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for printed in process.stdout:
            lines.put(printed)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    seen: list[str] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            printed = lines.get(timeout=deadline - time.monotonic())
        except queue.Empty:
            break
        if printed is None:
            break
        seen.append(printed)
        if needle in printed:
            break
    return "".join(seen)


def _sign_in(client: httpx.Client, link: str) -> None:
    shown = client.get(link)
    assert shown.status_code == 200, shown.text
    token = link.split("token=", 1)[1]
    used = client.post(
        "/sign-in/link", data={"token": token, "_csrf_token": client.cookies["museum_csrf"]}
    )
    assert used.status_code == 303, used.text


def test_demo_again_serves_the_site_at_once_with_sign_in_links(seeded: Path) -> None:
    port = _free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MUSEUM_")}
    demo = ("demo", "--preset", "tiny", "--steps", "20", "--artists", "6", "--port", str(port))
    process = subprocess.Popen(
        [sys.executable, "-c", "from api.cli import main; main()", *demo],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=environment | {"MUSEUM_HOME": str(seeded)},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        printed = _lines_until(process, "serving the museum on", 180)
        assert f"serving the museum on {base}/" in printed, printed
        assert "already seeded (6 artists)" in printed
        assert "is trained; reusing it" in printed
        assert "training the museum's model" not in printed
        assert "API key of the demo" not in printed  # the keys of the first run, found again
        links = re.findall(rf"{base}/sign-in/link\?token=\S+", printed)
        assert len(links) == 5  # artist, founding artist, curator, compliance, integrator
        with httpx.Client(base_url=base, timeout=10) as client:
            for _ in range(100):
                try:
                    if client.get("/api/v1/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.2)
            assert "Donors credited" in client.get("/").text
        with httpx.Client(base_url=base, timeout=10) as founder:
            _sign_in(founder, links[1])
            assert founder.get("/atelier").status_code == 200
        with httpx.Client(base_url=base, timeout=10) as artist:
            _sign_in(artist, links[0])
            assert artist.get("/atelier").status_code == 403  # a later donor, not a founder
            assert artist.get("/donate").status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(30)
    assert code == 0
    listed = json.loads(museum(seeded, "keys", "list", "--json").stdout)["keys"]
    demo_keys = sorted(k["name"] for k in listed if k["name"].startswith("demo "))
    assert demo_keys == sorted(
        f"demo {p}" for p in ("artist", "founding artist", "curator", "compliance", "integrator")
    )


def test_demo_refuses_a_port_in_use_before_preparing_anything(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = museum(tmp_path / "var", "demo", "--port", str(port))
    assert result.returncode == 4
    assert result.stderr.startswith(f"error: 127.0.0.1:{port} is in use")
    assert not (tmp_path / "var" / "ledger.sqlite3").exists()


def _without_manifest(png: bytes) -> bytes:
    """The PNG with its C2PA chunk (caBX) cut out, every other chunk as it was."""
    kept, position = [png[:8]], 8
    while position < len(png):
        length = int.from_bytes(png[position : position + 4], "big")
        chunk = png[position : position + 12 + length]
        if chunk[4:8] != b"caBX":
            kept.append(chunk)
        position += 12 + length
    return b"".join(kept)


def test_credentials_show_reads_an_exhibit_and_refuses_what_is_not_the_museums(
    seeded: Path, tmp_path: Path
) -> None:
    image = sorted((seeded / "exhibition").glob("*.png"))[0]
    shown = museum_in_process(seeded, "credentials", "show", str(image))
    assert shown.returncode == 0, shown.stderr
    assert f"{image}: trusted" in shown.stdout
    assert "trained algorithmic media (AI-generated); 2 manifest version(s)" in shown.stdout
    assert re.search(r"^  .+: \d+\.\d\d %$", shown.stdout, re.MULTILINE)  # the credit lines
    assert "ai_generative_training notAllowed" in shown.stdout
    checked = json.loads(
        museum_in_process(seeded, "credentials", "show", str(image), "--json").stdout
    )
    assert checked["verdict"] == "trusted"
    assert sum(line["ppm"] for line in checked["credits"]) == 1_000_000
    # Without its manifest the file is reported as such: one line on stderr, exit 1.
    stripped = tmp_path / "stripped.png"
    stripped.write_bytes(_without_manifest(image.read_bytes()))
    refused = museum_in_process(seeded, "credentials", "show", str(stripped))
    assert refused.returncode == 1
    assert refused.stderr.count("\n") == 1
    assert "content credentials missing" in refused.stderr
    # Elsewhere, without the museum's root, the file is intact but untrusted until given it.
    elsewhere = tmp_path / "elsewhere"
    untrusted = museum_in_process(elsewhere, "credentials", "show", str(image))
    assert untrusted.returncode == 1
    assert "untrusted" in untrusted.stderr
    root = seeded / "content-credentials" / "root.pem"
    trusted = museum_in_process(
        elsewhere, "credentials", "show", str(image), "--trust-anchor", str(root)
    )
    assert trusted.returncode == 0, trusted.stderr
    # Export writes the newest version of a generation.
    generation = checked["generation_id"]
    out = tmp_path / "export.png"
    exported = museum_in_process(seeded, "credentials", "export", generation, "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    assert out.read_bytes() == image.read_bytes()
