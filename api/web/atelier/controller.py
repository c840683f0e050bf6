"""The AI Atelier (`/atelier`): the run training now, live; past runs, whole or replayed.

For founding artists and curators. The loss curve is inline SVG drawn on the server
(`api.web.atelier.chart`); live updates are server-sent events (`api.web.atelier.stream`) that
htmx's SSE extension swaps into the page (`/static/htmx-ext-sse.min.js`, vendored). A page
opened without script shows the run as recorded when it was opened.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import anyio.to_thread
from litestar import Controller, Request, Response, get
from litestar.params import FromPath, QueryParameter
from litestar.response import ServerSentEvent, Template

from api.http.auth.access import allow
from api.http.auth.principal import Role
from api.http.deps import Museum
from api.http.museum import MuseumServices
from api.http.pagination import Cursor
from api.web.atelier.chart import loss_curve_svg
from api.web.atelier.stream import Render, last_event_id, live, replay
from api.web.rendering import menu, page
from ledger.atelier import Atelier, AtelierRunRead

ATELIER = allow(Role.ARTIST, Role.CURATOR, founders_only=True)
RUNS_PER_PAGE = 20
PARTS = "_atelier.html.j2"
After = Annotated[int, QueryParameter(name="after", ge=0, le=2**63 - 1)]
Replay = Annotated[bool, QueryParameter(name="replay")]
# Server-sent events must reach the browser as they are made, never held by a proxy.
STREAM_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}


def atelier_of(museum: MuseumServices) -> Atelier:
    return Atelier(museum.ledger, museum.model_reads)


def renderer(request: Request[Any, Any, Any]) -> Render:
    """Draw a view's parts with the macros the pages use (`_atelier.html.j2`)."""
    engine = request.app.template_engine
    if engine is None:  # the app always configures its templates (`api.web.frame`)
        raise RuntimeError("the pages' templates are not configured")
    parts = engine.get_template(PARTS).module

    def render(view: AtelierRunRead) -> list[tuple[str, str]]:
        return [
            ("heading", str(parts.heading(view))),
            ("counter", str(parts.counter(view)).strip()),
            ("run", str(parts.panel(view, chart_of(view)))),
        ]

    return render


def chart_of(view: AtelierRunRead | None) -> str:
    return "" if view is None else loss_curve_svg(view.curves, view.run.steps or 0)


def _from(request: Request[Any, Any, Any], after: int) -> int:
    resumed = last_event_id(request.headers.get("last-event-id"))
    return max(after, resumed or 0)


async def _known(museum: MuseumServices, run_id: UUID) -> None:
    """An unknown run is a 404 before any stream starts."""
    await anyio.to_thread.run_sync(museum.model_reads.records.get_run, run_id)


class AtelierController(Controller):
    path = "/atelier"

    @get("/", opt=ATELIER | menu("Atelier", 40), sync_to_thread=True, name="atelier")
    def index(self, museum: Museum, cursor: Cursor = None) -> Template:
        """The run training now (else the deployed version's), updating live; the runs."""
        atelier = atelier_of(museum)
        position = atelier.position()
        shown = atelier.shown_run()
        view = None if shown is None else atelier.run(shown)
        runs, following = museum.model_reads.runs(cursor, RUNS_PER_PAGE)
        return page(
            "atelier",
            view=view,
            chart=chart_of(view),
            position=position,
            runs=runs,
            next_cursor=following,
        )

    @get("/live", opt=ATELIER)
    async def live_any(
        self, request: Request[Any, Any, Any], museum: Museum, after: After = 0
    ) -> ServerSentEvent:
        """Every run's changes after `after`, as the panel of the run that changed last."""
        stream = live(
            atelier_of(museum),
            _from(request, after),
            None,
            renderer(request),
            museum.http.stream_seconds,
        )
        return ServerSentEvent(stream, headers=STREAM_HEADERS)

    @get("/runs/{run_id:uuid}", opt=ATELIER, sync_to_thread=True, name="atelier-run")
    def run(self, museum: Museum, run_id: FromPath[UUID], replay: Replay = False) -> Template:
        """A run's whole curve and grids (live while it trains), or its replay."""
        atelier = atelier_of(museum)
        position = atelier.position()
        view = atelier.run(run_id, 0 if replay else None)
        return page(
            "atelier_run", view=view, chart=chart_of(view), position=position, replay=replay
        )

    @get("/runs/{run_id:uuid}/live", opt=ATELIER)
    async def live_run(
        self,
        request: Request[Any, Any, Any],
        museum: Museum,
        run_id: FromPath[UUID],
        after: After = 0,
    ) -> ServerSentEvent:
        """This run's changes after `after`; ends (`end`) once the run completes or fails."""
        atelier = atelier_of(museum)
        await _known(museum, run_id)
        stream = live(
            atelier, _from(request, after), run_id, renderer(request), museum.http.stream_seconds
        )
        return ServerSentEvent(stream, headers=STREAM_HEADERS)

    @get("/runs/{run_id:uuid}/replay", opt=ATELIER)
    async def replay_run(
        self, request: Request[Any, Any, Any], museum: Museum, run_id: FromPath[UUID]
    ) -> ServerSentEvent:
        """The run's recorded progress again, frame by frame (a few seconds in all)."""
        atelier = atelier_of(museum)
        await _known(museum, run_id)
        frame = last_event_id(request.headers.get("last-event-id")) or 0
        return ServerSentEvent(
            replay(atelier, run_id, frame, renderer(request)), headers=STREAM_HEADERS
        )

    @get(
        "/runs/{run_id:uuid}/samples/{number:int}",
        opt=ATELIER,
        sync_to_thread=True,
        media_type="image/png",
    )
    def sample_grid(
        self, museum: Museum, run_id: FromPath[UUID], number: FromPath[int]
    ) -> Response[bytes]:
        """A sample grid the model made while training (no donor's image)."""
        return Response(
            atelier_of(museum).sample_grid_png(run_id, number),
            media_type="image/png",
            headers={"Cache-Control": "private, max-age=86400, immutable"},
        )
