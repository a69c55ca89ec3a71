"""The HTTP API: create, follow, inspect and delete short links."""

import logging
import pathlib
import re
import secrets
import unicodedata
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from importlib.metadata import version as package_version
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Path, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field, field_validator
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.routing import Match

from . import urls
from .middleware import (
    RefuseDeclaredOversize,
    RequestLog,
    SafeJSONResponse,
    TrustedProxies,
    body_too_large,
)
from .server import ResourceErrors
from .settings import Settings, trusted_proxies
from .store import Link, Store, StoreError, StoreFull, StoreUnusable

MAX_URL_LENGTH = urls.MAX_URL_LENGTH
MAX_BODY_BYTES = 16 * 1024
# How long a client waits before retrying a write the database could not take.
RETRY_AFTER_SECONDS = 30
# Host[:port] as a client may send it: a name or IPv4 address, or an IPv6 one in brackets.
HOST_HEADER = re.compile(r"(?P<host>[A-Za-z0-9_.-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?")

log = logging.getLogger(__package__)

type Endpoint = Callable[..., Any]

# The top-level paths that are not codes; the document says so, so that no client or fuzzer
# expects GET /version to be a redirect.
NOT_CODES = ["healthz", "readyz", "version", "links", "docs", "redoc", "openapi.json"]
Code = Annotated[
    str,
    Path(description="A link's code.", json_schema_extra={"not": {"enum": NOT_CODES}}),
]


class StartupError(Exception):
    """A setting or file makes it impossible to serve; the message says which and why."""


class NewLink(BaseModel):
    url: str = Field(
        max_length=MAX_URL_LENGTH,
        description=(
            "An http or https URL naming a host, without spaces, control characters or a user "
            "name; stored normalized: scheme and host lower-case, an international host name "
            "as punycode, mapped as browsers map it (UTS #46), other characters outside the "
            "pattern percent-encoded. At most "
            f"{MAX_URL_LENGTH} characters, also once normalized."
        ),
        json_schema_extra={"pattern": urls.URL_PATTERN},
        examples=["https://example.com/some/long/path"],
    )

    @field_validator("url")
    @classmethod
    def _normalized(cls, url: str) -> str:
        return urls.normalize(url)


class LinkOut(BaseModel):
    code: str
    url: str
    short_url: str = Field(
        description="The link to share; relative when no public URL or allowed host is known."
    )
    hits: int
    created_at: str


class Problem(BaseModel):
    detail: str


class InputProblem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class InputProblems(BaseModel):
    detail: list[InputProblem]


def problem(description: str) -> dict[str, Any]:
    return {"model": Problem, "description": description}


STORE_PROBLEMS = {
    500: problem("The database cannot be written until an operator fixes it (read-only file)."),
    503: problem("The database cannot be written now; retry after Retry-After seconds."),
    507: problem("The disk is full: the link cannot be stored now; retry after Retry-After."),
}
INPUT_PROBLEMS = {
    400: problem("The body is not JSON that can be parsed (encoding, nesting)."),
    413: problem(f"The body is larger than {MAX_BODY_BYTES} bytes."),
    422: {"model": InputProblems, "description": "The body or URL breaks a rule named in msg."},
}
NOT_FOUND = {404: problem("No link has this code.")}


def read_admin_token(path: pathlib.Path | None) -> bytes | None:
    """The admin token's UTF-8 bytes, or None when deletion is disabled; never logs the token."""
    if path is None:
        log.warning("deletion disabled: no admin token file configured")
        return None
    try:
        # As editors save it: a byte-order mark (Windows' Notepad) and a final newline dropped.
        token = path.read_bytes().decode("utf-8-sig").strip()
    except FileNotFoundError:
        log.warning("deletion disabled: admin token file %s does not exist", path)
        return None
    except OSError as error:
        raise StartupError(f"cannot read the admin token file {path}: {error.strerror}") from error
    except UnicodeDecodeError:
        raise StartupError(f"cannot read the admin token file {path}: not UTF-8 text") from None
    if not token:
        raise StartupError(f"the admin token file {path} is empty")
    if any(unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp") for char in token):
        # No header can carry these: every DELETE would be refused with no word why.
        raise StartupError(
            f"the admin token file {path} holds more than one line, or control or invisible "
            "characters: write the token alone, on one line"
        )
    return token.encode()


def allowed_hosts(setting: str) -> frozenset[str] | None:
    """The host names a Host header may carry; None: any well-formed one ("*")."""
    names = {name.strip().lower() for name in setting.split(",") if name.strip()}
    return None if "*" in names else frozenset(names)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Open the database and read the admin token now, so bad settings fail at start-up.

    Without ``settings``, they are read from the environment: uvicorn's ``--factory --reload``
    (the dev image) can only call a factory without arguments.
    """
    settings = settings or Settings()
    admin_token = read_admin_token(settings.admin_token_file)
    try:
        store = Store(settings.data_dir)
    except StoreError as error:
        raise StartupError(str(error)) from error
    log.info("database %s opened with %d links", store.path, store.count())
    trusted_hosts = allowed_hosts(settings.allowed_hosts)
    public_url = str(settings.public_url).rstrip("/") if settings.public_url else None

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        ResourceErrors().install()
        store.start()
        yield
        await store.close()
        log.info("database closed")

    app = FastAPI(
        title=__package__,
        version=package_version(__package__),
        lifespan=lifespan,
        responses={405: problem("The method is not one of those the Allow header names.")},
    )
    app.state.store = store
    # Starlette counts the body as it arrives (a chunked one declares no length); its 413 reaches
    # the handler below. Added after it, so outside it: a declared oversize never reaches a route.
    app.add_middleware(RequestBodyLimitMiddleware, max_body_size=MAX_BODY_BYTES)
    app.add_middleware(RefuseDeclaredOversize, max_bytes=MAX_BODY_BYTES)
    app.add_middleware(RequestLog)
    app.add_middleware(TrustedProxies, trusted=trusted_proxies(settings.forwarded_allow_ips))

    @app.exception_handler(RequestValidationError)
    async def invalid_input(_: Request, error: RequestValidationError) -> SafeJSONResponse:
        # Never the offending input itself: it may be huge, nested or not even valid Unicode.
        problems = [
            {
                "loc": [part if isinstance(part, int) else str(part) for part in e["loc"]],
                "msg": e["msg"],
                "type": e["type"],
            }
            for e in error.errors()
        ]
        return SafeJSONResponse({"detail": problems}, status_code=422)

    @app.exception_handler(413)
    async def too_large(_: Request, __: Exception) -> SafeJSONResponse:
        # Starlette's body limit says "Content Too Large": the API's answer names the limit.
        return body_too_large(MAX_BODY_BYTES)

    @app.exception_handler(StarletteHTTPException)
    async def http_problem(request: Request, error: StarletteHTTPException) -> SafeJSONResponse:
        headers = dict(error.headers or {})
        if error.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request))
        return SafeJSONResponse({"detail": error.detail}, error.status_code, headers)

    @app.exception_handler(StoreError)
    async def store_problem(request: Request, error: StoreError) -> SafeJSONResponse:
        log.error("%s %s not stored: %s", request.method, request.url.path, error)
        if isinstance(error, StoreUnusable):
            # No Retry-After: retrying cannot help until an operator acts (the log says why).
            return SafeJSONResponse({"detail": "the database cannot be written"}, 500)
        full = isinstance(error, StoreFull)
        return SafeJSONResponse(
            {"detail": "the disk is full" if full else "the database cannot be written now"},
            507 if full else 503,
            {"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    def allowed_methods(request: Request) -> list[str]:
        # Every route of the path the request names, not only the first: GET and DELETE
        # /links/{code} are two routes. Not /{code}'s methods for /links: a code is never that.
        matching = [r for r in app.router.routes if r.matches(request.scope)[0] != Match.NONE]
        path = getattr(matching[0], "path", None) if matching else None
        return sorted(
            method
            for route in matching
            if getattr(route, "path", None) == path
            for method in getattr(route, "methods", ())
        )

    def base_url(request: Request) -> str:
        if public_url:
            return public_url
        match = HOST_HEADER.fullmatch(request.headers.get("host", ""))
        if match and (trusted_hosts is None or match["host"].lower() in trusted_hosts):
            return f"{request.url.scheme}://{match[0].lower()}"
        return ""

    def link_out(link: Link, request: Request) -> LinkOut:
        return LinkOut(**vars(link), short_url=f"{base_url(request)}/{link.code}")

    bearer = HTTPBearer(auto_error=False, description="The admin token from the token file.")

    # Async, as every dependency and route here: FastAPI runs a plain def in AnyIO's thread
    # pool, one thread per concurrent request (a burst of DELETEs took 40 of them).
    async def require_admin(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> None:
        if admin_token is None:
            raise HTTPException(403, "deletion is disabled: no admin token file was configured")
        if credentials is None:
            raise HTTPException(
                401, "an admin bearer token is required", {"WWW-Authenticate": "Bearer"}
            )
        # Header values arrive as latin-1 text: back to the bytes sent, compared with UTF-8.
        if not secrets.compare_digest(credentials.credentials.encode("latin-1"), admin_token):
            raise HTTPException(403, "wrong admin token")

    def not_found() -> HTTPException:
        # Never the code itself: errors do not echo the input (a 20 KB path, a 20 KB answer).
        return HTTPException(404, "no link with this code")

    def get(path: str, **options: Any) -> Callable[[Endpoint], Endpoint]:
        """GET and HEAD: two routes, so each method has its own operation in the document."""

        def register(endpoint: Endpoint) -> Endpoint:
            app.get(path, **options)(endpoint)
            app.head(path, **options)(endpoint)
            return endpoint

        return register

    @get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @get("/readyz", responses={503: problem("Not ready: see detail.")})
    async def readyz(response: Response) -> dict[str, str]:
        try:
            await store.check_writable()
        except StoreError as error:
            log.error("not ready: %s", error)
            response.status_code = 503
            return {"status": "unavailable", "detail": "the database cannot store a new link"}
        return {"status": "ready"}

    @get("/version")
    async def version() -> dict[str, str]:
        return {
            "version": settings.version or package_version(__package__),
            "revision": settings.revision,
            "build_date": settings.build_date,
        }

    @app.post(
        "/links",
        status_code=201,
        responses={
            200: {"model": LinkOut, "description": "The URL was already stored: its link."},
            **INPUT_PROBLEMS,
            **STORE_PROBLEMS,
        },
    )
    async def create_link(new: NewLink, request: Request, response: Response) -> LinkOut:
        link, created = await store.add(new.url)
        if not created:
            response.status_code = 200
        response.headers["Location"] = f"/links/{link.code}"
        return link_out(link, request)

    @get("/links/{code}", responses=NOT_FOUND)
    async def get_link(code: Code, request: Request) -> LinkOut:
        link = await store.get(code)
        if link is None:
            raise not_found()
        return link_out(link, request)

    @app.delete(
        "/links/{code}",
        status_code=204,
        dependencies=[Depends(require_admin)],
        responses={
            401: problem("No bearer token was sent."),
            403: problem("Wrong token, or deletion is disabled (no token file)."),
            **NOT_FOUND,
            **STORE_PROBLEMS,
        },
    )
    async def delete_link(code: Code) -> None:
        if not await store.delete(code):
            raise not_found()

    @get(
        "/{code}",
        status_code=307,
        response_class=RedirectResponse,
        responses={307: {"description": "Redirect to the link's URL (Location)."}, **NOT_FOUND},
    )
    async def follow(code: Code, request: Request) -> RedirectResponse:
        """Redirect to the link's URL. A GET counts a hit; a HEAD, as link previewers and
        scanners send, is answered the same and not counted."""
        if code in NOT_CODES:
            # GET /links reaches this route; it names the links collection, which only POSTs.
            raise HTTPException(405)
        # A HEAD is a link previewer or scanner looking, not someone following the link.
        url = store.target(code, count=request.method == "GET")
        if url is None:
            raise not_found()
        return RedirectResponse(url, status_code=307)

    return app
