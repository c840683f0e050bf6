"""What `museum backup`, `museum restore` and `museum doctor` hand back: frozen views the
command line prints and `--json` serialises."""

from __future__ import annotations

from typing import Any

from ledger.views import AuditRead, View


class BackupRead(View, frozen=True, kw_only=True):
    """A backup written: where, of what, and how big."""

    dest: str
    mode: str  # "sqlite" (the embedded mode) or "postgresql"
    events: int  # events in the backed-up snapshot
    last_notification_id: int
    keys: int  # wrapped artist keys in the backed-up key vault
    blobs: int
    bytes: int  # every file of the backup, the manifest excepted
    schema_revision: str | None
    head: dict[str, Any]  # the head signed as the backup began (the snapshot extends it)
    master_key_included: bool
    shred_list: str  # where shreddings after this backup are noted, for its restore
    seconds: float


class RestoreRead(View, frozen=True, kw_only=True):
    """A restore done: what came back, what was checked, what was erased again.

    `lost_events` is how many events the operator's head proves beyond the restored log (None:
    no head was given, so it is not known). `erased_again` are artists the shred lists name
    whose keys the backup brought back, erased again now; `erasures_resumed` were asked for in
    the restored log itself but cut short before their key went; `not_in_backup` counts
    listed artists the backup does not know (registered after it: no key came back)."""

    source: str
    mode: str
    events_restored: int
    blobs_restored: int
    keys_restored: int
    schema_revision: str | None
    head_checked: dict[str, Any] | None
    lost_events: int | None
    shred_lists: list[str]
    erased_again: list[str]
    erasures_resumed: list[str]
    not_in_backup: int
    verify: AuditRead
    warnings: list[str]
    seconds: float


class CheckRead(View, frozen=True, kw_only=True):
    """One line of `museum doctor`: what was looked at, whether it needs action, and why."""

    name: str
    ok: bool
    detail: str


class DoctorRead(View, frozen=True, kw_only=True):
    checks: list[CheckRead]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)
