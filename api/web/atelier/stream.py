"""The Atelier's server-sent events: a run's panel drawn again whenever the ledger records more
of it, and a replay of what a run recorded.

A live stream polls the notification log after its position (`ledger.atelier.Atelier.
changed_after`) and holds nothing else: the position goes out as each message's SSE id, so a
browser that reconnects (`Last-Event-ID`) goes on where it was, on whichever server process
answers, whichever process or arq worker trains. A stream ends after the
`MUSEUM_HTTP_STREAM_SECONDS` setting (the browser then reconnects), and a run's own stream ends
with the run (the `end` event: the page closes its connection).

Each update is three events, each swapped into its own part of the page: `heading` (the run's
title and facts), `counter` (the step counter, a status line of its own so that a screen reader
hears only the count) and `run` (the loss curve, the shards, the sample grids).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from uuid import UUID

import anyio
import anyio.to_thread
from litestar.response.sse import ServerSentEventMessage

from ledger.atelier import Atelier, AtelierRunRead

POLL_SECONDS = 0.5
# Without news, a comment every so often keeps proxies from closing an idle stream.
QUIET_SECONDS = 15.0
RETRY_MS = 1000
# A replay lasts about this long, however many progress records the run has ...
REPLAY_SECONDS = 8.0
# ... and shows at most this many frames (evenly spread, the last always among them).
REPLAY_FRAMES = 120

# A view → its parts' markup, as (event name, markup) pairs in the order they are sent.
Render = Callable[[AtelierRunRead], list[tuple[str, str]]]


def last_event_id(header: str | None) -> int | None:
    """The position a reconnecting browser sends back; anything else is ignored."""
    if header and header.isascii() and header.isdigit() and len(header) <= 19:
        return int(header)
    return None


def _update(view: AtelierRunRead, render: Render, position: int) -> list[ServerSentEventMessage]:
    """The view's parts; the last carries the position, so a reconnect resends none of them."""
    parts = render(view)
    return [
        ServerSentEventMessage(event=event, data=data, id=position if i == len(parts) - 1 else None)
        for i, (event, data) in enumerate(parts)
    ]


async def live(
    atelier: Atelier, after: int, run_id: UUID | None, render: Render, seconds: float
) -> AsyncIterator[ServerSentEventMessage]:
    """The panel of the run that changed last (only `run_id`'s, if given) after `after`."""
    position = after
    start = anyio.current_time()
    quiet_since = start
    yield ServerSentEventMessage(
        data=None, comment="watching the ledger", id=position, retry=RETRY_MS
    )
    while True:
        changed = await anyio.to_thread.run_sync(atelier.changed_after, position, run_id)
        position = changed.position
        now = anyio.current_time()
        if changed.runs:
            view = await anyio.to_thread.run_sync(atelier.run, UUID(changed.runs[-1]))
            for message in _update(view, render, position):
                yield message
            quiet_since = now
            if run_id is not None and view.run.state != "running":
                yield ServerSentEventMessage(event="end", data=view.run.state, id=position)
                return
        elif now - quiet_since >= QUIET_SECONDS:
            yield ServerSentEventMessage(data=None, comment="no news", id=position)
            quiet_since = now
        if now - start >= seconds:
            yield ServerSentEventMessage(data=None, comment="reconnect to go on", id=position)
            return
        await anyio.sleep(POLL_SECONDS)


def replay_frames(frames: int, after: int = 0) -> list[int]:
    """The frames a replay shows after frame `after`: every one, or `REPLAY_FRAMES` of them
    spread evenly, ending with the last."""
    if frames <= REPLAY_FRAMES:
        chosen = list(range(1, frames + 1))
    else:
        chosen = sorted({round(frames * (i + 1) / REPLAY_FRAMES) for i in range(REPLAY_FRAMES)})
    return [frame for frame in chosen if frame > after]


async def replay(
    atelier: Atelier, run_id: UUID, after: int, render: Render
) -> AsyncIterator[ServerSentEventMessage]:
    """The run's recorded progress frame by frame (the SSE id is the frame), then `end`."""
    whole = await anyio.to_thread.run_sync(atelier.run, run_id)
    frames = replay_frames(whole.frames, after)
    pause = min(0.5, max(0.05, REPLAY_SECONDS / max(len(frames), 1)))
    yield ServerSentEventMessage(data=None, comment="replaying", retry=RETRY_MS)
    for frame in frames:
        view = await anyio.to_thread.run_sync(atelier.run, run_id, frame)
        for message in _update(view, render, frame):
            yield message
        await anyio.sleep(pause)
    for message in _update(whole, render, whole.frames):
        yield message
    yield ServerSentEventMessage(event="end", data="replayed", id=whole.frames)
