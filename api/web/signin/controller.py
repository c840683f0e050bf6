"""`/sign-in` with an API key, `/sign-in/link` with a one-time link, `/sign-out`.

Either way the page ends in a session holding the key id (`api.web.sessions`). A refused key
re-renders the form (422); a link that is used, expired, mistyped or whose key was revoked is
a 410 — the same for all four, so a page never tells which tokens exist.
"""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, QueryParameter
from litestar.response import Redirect, Template

from api.http.auth.access import EVERYONE, allow
from api.http.deps import Museum
from api.web.rendering import page
from api.web.sessions import sign_in, sign_out

PUBLIC = allow(*EVERYONE)
MAX_NEXT = 2000
KEY_REFUSED = "That key is not valid: it is unknown, revoked or mistyped."
LINK_REFUSED = (
    "This sign-in link signs nobody in: it has been used, has expired (links last 15 minutes) "
    "or is mistyped. Ask for a new one: museum keys link KEY_ID."
)


def local_path(target: str | None) -> str:
    """Where to go after signing in: a path on this site, or the exhibition."""
    if (
        not target
        or len(target) > MAX_NEXT
        or not target.startswith("/")
        or target.startswith(("//", "/\\"))
        or any(c in target for c in "\r\n\\")
    ):
        return "/"
    return target


class KeyForm(msgspec.Struct, kw_only=True):
    key: Annotated[str, msgspec.Meta(max_length=200)] = ""
    next: Annotated[str, msgspec.Meta(max_length=MAX_NEXT)] = "/"


class LinkForm(msgspec.Struct, kw_only=True):
    token: Annotated[str, msgspec.Meta(max_length=200)] = ""


Form = Body(media_type=RequestEncodingType.URL_ENCODED)
Next = Annotated[str | None, QueryParameter(name="next", max_length=MAX_NEXT)]
Token = Annotated[str, QueryParameter(name="token", max_length=200)]


class SignInController(Controller):
    path = "/sign-in"

    @get("/", opt=PUBLIC, sync_to_thread=False, name="sign-in")
    def form(self, next_path: Next = None) -> Template:
        """The sign-in form (and who is signed in now, if anyone)."""
        return page("sign_in", next=local_path(next_path), message=None)

    @post("/", opt=PUBLIC)
    async def with_key(
        self,
        request: Request[Any, Any, Any],
        museum: Museum,
        data: Annotated[KeyForm, Form],
    ) -> Response[Any]:
        secret = data.key.strip()
        principal = await museum.authenticate(secret) if secret else None
        if principal is None:
            return page("sign_in", 422, next=local_path(data.next), message=KEY_REFUSED)
        sign_in(request, principal)
        return Redirect(local_path(data.next), status_code=303)

    @get("/link", opt=PUBLIC, sync_to_thread=True)
    def link(self, museum: Museum, token: Token = "") -> Template:
        """What a link the CLI printed would sign in as; nothing is used up until the button."""
        principal = museum.links.peek(token) if token else None
        if principal is None:
            return page("sign_in", 410, next="/", message=LINK_REFUSED)
        return page("sign_in_link", token=token, who=principal)

    @post("/link", opt=PUBLIC)
    async def redeem(
        self,
        request: Request[Any, Any, Any],
        museum: Museum,
        data: Annotated[LinkForm, Form],
    ) -> Response[Any]:
        principal = (
            await anyio.to_thread.run_sync(museum.links.redeem, data.token) if data.token else None
        )
        if principal is None:
            return page("sign_in", 410, next="/", message=LINK_REFUSED)
        sign_in(request, principal)
        return Redirect("/", status_code=303)


class SignOutController(Controller):
    path = "/sign-out"

    @post("/", opt=PUBLIC)
    async def leave(self, request: Request[Any, Any, Any]) -> Redirect:
        sign_out(request)
        return Redirect("/", status_code=303)
