"""The Litestar app: the JSON API under /api/v1, its OpenAPI document, keys and roles, and the
pages beside it (`api.web.frame`: templates, sessions, CSRF, error pages).

`create_app` builds the app without touching anything; the ledger and its services open in
`on_startup` (in a thread: opening may set the schema up) and close in `on_shutdown`.
"""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from litestar import Litestar, Request, Router
from litestar.config.app import AppConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore

from api.http.auth.access import enforce_access, principal_of
from api.http.auth.middleware import ApiKeyMiddleware
from api.http.auth.principal import Principal, Role
from api.http.docs import DOCS, openapi_config
from api.http.health.controller import ProbeController
from api.http.museum import MuseumServices
from api.http.observe import RequestContext, prometheus
from api.http.problems import problem_details_plugin
from api.http.refusals import document_refusals
from api.http.routes import ROUTE_HANDLERS
from api.http.settings import HttpSettings, get_http_settings
from api.web.frame import WebFrame
from ledger.settings import Settings, get_settings

API = "/api/v1"
# Requests are small JSON bodies; the limit guards the buffer of every body. A route that takes
# more sets its own (a donation upload: `api.http.donations.upload.MAX_UPLOAD`).
MAX_BODY = 1024 * 1024


def _museum(state: State) -> MuseumServices:
    museum: MuseumServices = state.museum
    return museum


def _principal(request: Request[Any, Any, Any]) -> Principal:
    return principal_of(request)


def _rate_limit(http: HttpSettings) -> RateLimitConfig:
    """Per key: integrators, and artists below founding tier. Staff and founders are free."""

    async def throttled(request: Request[Any, Any, Any]) -> bool:
        principal = principal_of(request)
        if principal.role is Role.INTEGRATOR:
            return True
        if principal.role is Role.ARTIST:
            museum = _museum(request.app.state)
            founding = await anyio.to_thread.run_sync(museum.membership.is_founding, principal)
            return not founding
        return False

    def identifier(request: Request[Any, Any, Any]) -> str:
        return f"key:{principal_of(request).key_id}"

    return RateLimitConfig(
        rate_limit=http.rate,
        check_throttle_handler=throttled,
        identifier_for_request=identifier,
        exclude=[DOCS],
        store="rate_limit",
    )


def _stores(settings: Settings) -> dict[str, Store]:
    """Rate-limit counts: in the process when embedded, shared in Redis when configured."""
    if settings.redis_url:
        return {
            "rate_limit": RedisStore.with_client(url=settings.redis_url, namespace="museum-rate")
        }
    return {"rate_limit": MemoryStore()}


def create_app(
    settings: Settings | None = None,
    http: HttpSettings | None = None,
    route_handlers: list[Any] | None = None,
) -> Litestar:
    """The museum's HTTP app over the ledger of `settings` (default: the environment's)."""
    settings = settings or get_settings()
    http = http or get_http_settings()

    async def open_services(app: Litestar) -> None:
        app.state.museum = await MuseumServices.started(settings, http)

    async def close_services(app: Litestar) -> None:
        museum = getattr(app.state, "museum", None)
        if museum is not None:
            await museum.shutdown()

    api = Router(path=API, route_handlers=route_handlers or ROUTE_HANDLERS)
    web = WebFrame(settings, http)
    config = AppConfig(
        route_handlers=[api, ProbeController, *web.route_handlers],
        on_startup=[open_services, web.on_startup],
        on_shutdown=[close_services],
        dependencies={
            "museum": Provide(_museum, sync_to_thread=False),
            "principal": Provide(_principal, sync_to_thread=False),
        },
        guards=[enforce_access],
        middleware=[
            RequestContext(),
            prometheus().middleware,
            DefineMiddleware(ApiKeyMiddleware),
            _rate_limit(http).middleware,
        ],
        plugins=[problem_details_plugin(), web.errors],
        openapi_config=openapi_config(),
        template_config=web.templates,
        csrf_config=web.csrf,
        request_max_body_size=MAX_BODY,
        stores=_stores(settings) | web.stores(),
        security=[{"apiKey": []}],
        debug=False,
    )
    app = Litestar.from_config(config)
    document_refusals(app)
    return app
