"""The pull runner of every read model: catch a projection up with the ledger, a page at a time.

The library's `ProjectionRunner` does not run a projection in a command: it builds the
application itself as `application_class(env)` (the ledger needs its master key, engine and
blob store too) and follows it through `ApplicationSubscription`, that is
`recorder.subscribe()`, which the SQLite recorder does not implement. So `catch_up` is a small
synchronous runner that works on both backends: it reads the notifications after the view's
tracking record, by the projection's topics, a page at a time, and calls the projection's
`process_event` for each, inside one view transaction per page (`TrackedView.page`). Commands
call it for read-your-writes; every read does one. A crash between an event's save and its
projection loses nothing: the next catch-up picks it up. Two processes catching up at once
cannot both write an event: the loser's tracking insert (or row insert, or locked position)
fails, its page rolls back, and it carries on from the position the winner left.

A live feed would, on PostgreSQL only, iterate `ApplicationSubscription(app,
gt=view.max_tracking_id(app.name), topics=projection.topics)` and call `process_event` for
each pair, on the same projection and view classes; the library's `ProjectionRunner` runs them
unchanged there, sharing the tracking record with the commands.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from typing import Any, TypeVar
from uuid import UUID

import sqlalchemy as sa
from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError, OperationalError, Tracking
from eventsourcing.projection import Projection

from ledger.errors import Conflict
from ledger.tracked_view import Raced, TrackedView

PAGE = 1000
ATTEMPTS = 20  # tries lost in a row, while the position stands still, before "busy"
PAUSE_MAX = 0.25  # seconds: the cap of the jittered, doubling pause after a lost try

ViewT = TypeVar("ViewT", bound=TrackedView)


def position(app: Application[UUID], view: TrackedView) -> int:
    """The greatest notification id projected: the view's tracking record (0 for none)."""
    return view.max_tracking_id(app.name) or 0


def _skip_to(start: int, page: Sequence[Any], page_size: int, head: int) -> int | None:
    """Where the position may move past events of other topics: to the log's head, when the
    page holds every event of the projection's up to it and more than a page of others lie
    between the last of them and the head.

    Without it, a projection whose events are rare (credits) behind a busy log (consent
    changes) would have every read scan all the others since its last event. The head is read
    before the page: the ledger's recorders commit notification ids in order (PostgreSQL's
    insert lock, SQLite's one writer), so no event up to it can still appear.
    """
    last = page[-1].id if page else start
    if len(page) < page_size and head - last > page_size:
        return head
    return None


def catch_up(
    app: Application[UUID],
    projection: Projection[ViewT],
    *,
    page_size: int = PAGE,
    attempts: int = ATTEMPTS,
    what: str | None = None,
) -> int:
    """Project every event of the projection's topics recorded since the position; returns the
    rows written. A page another process wrote first fails (tracking or row key, or a moved
    position) and is read again from there; `what` names the model in the busy refusal."""
    view = projection.view
    topics: Sequence[str] = projection.topics
    name = app.name
    written = 0
    lost = 0  # tries lost in a row while the position stood still
    lost_at: int | None = None
    while True:
        start = position(app, view)
        head = app.recorder.max_notification_id() or 0  # read first: see `_skip_to`
        page = app.recorder.select_notifications(
            start, page_size, stop=head, topics=topics, inclusive_of_start=False
        )
        skip = _skip_to(start, page, page_size, head)
        if not page and skip is None:
            return written
        pairs = [(app.mapper.to_domain_event(n), Tracking(name, n.id)) for n in page]
        try:
            with view.page(name, start) as open_page:
                for domain_event, tracking in pairs:
                    projection.process_event(domain_event, tracking)
                if skip is not None:
                    view.write([], Tracking(name, skip))
        except (Raced, IntegrityError, OperationalError):
            # Lost to another writer. While it moves the position there is progress;
            # only a position that stands still through every try is "busy".
            lost = lost + 1 if lost_at == start else 1
            lost_at = start
            if lost >= attempts:
                label = what or f"the {projection.name} projection"
                raise Conflict(f"{label} is busy; try again") from None
            # A loaded machine can keep the winner's transaction open longer than a tight
            # loop of retries lasts: back off (jittered, so two losers do not collide again).
            time.sleep(random.uniform(0, min(PAUSE_MAX, 0.002 * 2**lost)))  # noqa: S311
            continue
        written += open_page.rows


def rebuild(
    app: Application[UUID],
    projection: Projection[ViewT],
    tables: Sequence[sa.Table],
    *,
    page_size: int = PAGE,
    what: str | None = None,
) -> int:
    """Drop the read model's rows and position, and project every event again from the start."""
    projection.view.clear(app.name, tables)
    return catch_up(app, projection, page_size=page_size, what=what)
