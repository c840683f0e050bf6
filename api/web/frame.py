"""The pages' frame, mounted by `api.http.app.create_app` beside the JSON API.

What it adds to the app:
- the pages' router at `/` (`api.web.routes.PAGE_HANDLERS`), out of the OpenAPI document and
  out of the API-key middleware, with the session middleware and `PagePrincipal` of its own;
- `/static/…`: the CSS, htmx and the icon, served from `api/web/static` (nothing from elsewhere);
- Jinja templates from `api/web/templates` (`api.web.rendering`);
- CSRF protection on every form of every page (Litestar's `CSRFConfig`; /api/ is left out: it
  takes no cookies). Its secret is derived from the master key once the ledger is open, so every
  server process accepts the others' tokens;
- the `sessions` store: files under MUSEUM_HOME/web-sessions when embedded, Redis when
  `MUSEUM_REDIS_URL` is set;
- error pages for every path outside /api/ (`api.web.errors.PageErrors`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from typing import Any

from litestar import Litestar, Router
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import CacheControlHeader, ResponseHeader
from litestar.static_files import create_static_files_router
from litestar.stores.base import Store
from litestar.stores.file import FileStore
from litestar.stores.redis import RedisStore
from litestar.template.config import TemplateConfig

from api.http.auth.access import EVERYONE, allow
from api.http.museum import MuseumServices
from api.http.settings import HttpSettings
from api.web.errors import API_PREFIX, PageErrors
from api.web.rendering import SECURITY_HEADERS, STATIC, menu_of, template_config
from api.web.routes import PAGE_HANDLERS
from api.web.sessions import STORE, PagePrincipal, session_config
from ledger.settings import Settings

SESSION_DIR = "web-sessions"
CSRF_COOKIE = "museum_csrf"
CSRF_HEADER = "x-csrftoken"
# The API-key middleware leaves routes with this opt alone: pages sign in by session.
NO_API_KEY = {"exclude_from_auth": True}


def csrf_secret(museum: MuseumServices) -> str:
    return hmac.new(museum.ledger.master.web_forms_key, b"csrf", hashlib.sha256).hexdigest()


@dataclass
class WebFrame:
    settings: Settings
    http: HttpSettings
    csrf: CSRFConfig = field(init=False)

    def __post_init__(self) -> None:
        # A random secret until `on_startup` sets the derived one: never a known constant.
        self.csrf = CSRFConfig(
            secret=secrets.token_hex(32),
            cookie_name=CSRF_COOKIE,
            header_name=CSRF_HEADER,
            cookie_httponly=True,
            cookie_secure=self.http.secure_cookies,
            cookie_samesite="lax",
            exclude=[f"^{API_PREFIX}"],
        )

    @property
    def route_handlers(self) -> list[Any]:
        headers = [ResponseHeader(name=k, value=v) for k, v in SECURITY_HEADERS.items()]
        sessions = session_config(self.http.session_hours, self.http.secure_cookies)
        pages = Router(
            path="/",
            route_handlers=PAGE_HANDLERS,
            middleware=[sessions.middleware, PagePrincipal()],
            opt=NO_API_KEY,
            include_in_schema=False,
            response_headers=headers,
        )
        static = create_static_files_router(
            path="/static",
            directories=[STATIC],
            name="static",
            opt=allow(*EVERYONE) | NO_API_KEY,
            include_in_schema=False,
            cache_control=CacheControlHeader(max_age=3600, public=True),
        )
        return [pages, static]

    @property
    def templates(self) -> TemplateConfig[Any]:
        return template_config()

    @property
    def errors(self) -> PageErrors:
        return PageErrors()

    def stores(self) -> dict[str, Store]:
        if self.settings.redis_url:
            return {
                STORE: RedisStore.with_client(
                    url=self.settings.redis_url, namespace="museum-sessions"
                )
            }
        return {STORE: FileStore(self.settings.home / SESSION_DIR, create_directories=True)}

    async def on_startup(self, app: Litestar) -> None:
        """After the services open: the CSRF secret from the master key, the menu, and no
        session files left from sessions long expired."""
        self.csrf.secret = csrf_secret(app.state.museum)
        app.state.menu = menu_of(app)
        store = app.stores.get(STORE)
        if isinstance(store, FileStore):
            (self.settings.home / SESSION_DIR).mkdir(parents=True, exist_ok=True)
            await store.delete_expired()
