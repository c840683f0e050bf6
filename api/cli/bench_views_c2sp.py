"""The C2SP rows of `museum bench ledger`: each rate beside the baseline timed in the same run,
Tessera's published figures beside them as the anchor (quoted, not measured here)."""

from __future__ import annotations

from typing import Any

from rich.table import Table


def render_c2sp_bench(figures: dict[str, Any]) -> Table:
    signing, witness = figures["signing"], figures["witness"]
    serving, proof, tessera = figures["serving"], figures["proof_at_1e6"], figures["tessera"]
    table = Table(
        title="C2SP formats (in process, SQLite ledger, no HTTP)",
        caption=(
            f"anchor: Tessera {tessera['posix_12_core_vm_writes_per_s']:,} writes/s on a 12-core "
            f"VM, > {tessera['posix_e2_micro_writes_per_s']:,}/s on an e2-micro "
            f"({tessera['source']}) · {figures['seconds']:.1f} s"
        ),
    )
    table.add_column("figure")
    table.add_column("measured", justify="right")
    table.add_column("baseline, same run", justify="right")
    rows = [
        (
            "checkpoint signing, checkpoints/s",
            f"{signing['checkpoint_signs_per_s']:,.0f}",
            f"bare Ed25519 {signing['ed25519_signs_per_s']:,.0f}/s "
            f"(×{signing['checkpoint_to_bare_ratio']:.2f})",
        ),
        ("witness cosignature alone, /s", f"{signing['cosignatures_per_s']:,.0f}", ""),
        (
            "witness add-checkpoint (proof, state, cosign), /s",
            f"{witness['witness_cosigns_per_s']:,.0f}",
            "",
        ),
        (
            "served checkpoints (head + cosignatures), /s",
            f"{serving['served_checkpoints_per_s']:,.0f}",
            "",
        ),
        (
            "level-0 tiles, /s (cached · cold)",
            f"{serving['tiles_per_s_cached']:,.0f} · {serving['tiles_per_s_cold']:,.0f}",
            f"{serving['tile_mib_per_s_cached']:,.1f} MiB/s cached",
        ),
        (
            "entry bundles (256 entries), /s",
            f"{serving['entry_bundles_per_s']:,.0f}",
            f"raw read of the rows {serving['raw_page_reads_per_s']:,.0f}/s "
            f"(×{serving['entry_bundle_to_raw_read_ratio']:.2f})",
        ),
        (
            f"proof bundle at {proof['tree_size']:,} entries, bytes",
            f"{proof['bundle_bytes']:,} ({proof['path_hashes']} hashes, {proof['witnesses']} cosignatures)",
            f"{proof['bundle_bytes_without_entry']:,} without the entry",
        ),
    ]
    for row in rows:
        table.add_row(*row)
    return table
