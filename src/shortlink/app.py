"""The HTTP API: create, follow, inspect and delete short links."""

import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, FastAPI, Header, HTTPException, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field, field_validator

from .middleware import BodySizeLimit, RequestLog
from .settings import Settings
from .store import Link, Store, StoreError

MAX_URL_LENGTH = 2048
MAX_BODY_BYTES = 16 * 1024

log = logging.getLogger(__package__)


class StartupError(Exception):
    """A setting or file makes it impossible to serve; the message says which and why."""


class NewLink(BaseModel):
    url: str = Field(max_length=MAX_URL_LENGTH, examples=["https://example.com/some/long/path"])

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise ValueError("the URL must start with http:// or https://")
        if not parts.hostname:
            raise ValueError("the URL must name a host")
        return url


class LinkOut(BaseModel):
    code: str
    url: str
    short_url: str
    hits: int
    created_at: str


def read_admin_token(path: Path | None) -> str | None:
    """The admin token, or None when deletion is disabled; never logs the token itself."""
    if path is None:
        log.warning("deletion disabled: no admin token file configured")
        return None
    try:
        token = path.read_text().strip()
    except FileNotFoundError:
        log.warning("deletion disabled: admin token file %s does not exist", path)
        return None
    except OSError as error:
        raise StartupError(f"cannot read the admin token file {path}: {error.strerror}") from error
    if not token:
        raise StartupError(f"the admin token file {path} is empty")
    return token


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

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        store.close()
        log.info("database closed")

    app = FastAPI(title=__package__, version=package_version(__package__), lifespan=lifespan)
    app.add_middleware(BodySizeLimit, max_bytes=MAX_BODY_BYTES)
    app.add_middleware(RequestLog)

    def link_out(link: Link, request: Request) -> LinkOut:
        base = str(settings.public_url or request.base_url).rstrip("/")
        return LinkOut(**vars(link), short_url=f"{base}/{link.code}")

    def require_admin(authorization: Annotated[str | None, Header()] = None) -> None:
        if admin_token is None:
            raise HTTPException(403, "deletion is disabled: no admin token file was configured")
        scheme, _, given = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not given:
            raise HTTPException(
                401, "an admin bearer token is required", {"WWW-Authenticate": "Bearer"}
            )
        if not secrets.compare_digest(given.encode(), admin_token.encode()):
            raise HTTPException(403, "wrong admin token")

    def not_found(code: str) -> HTTPException:
        return HTTPException(404, f"no link with code {code!r}")

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz(response: Response) -> dict[str, str]:
        try:
            store.check_writable()
        except StoreError as error:
            log.error("not ready: %s", error)
            response.status_code = 503
            return {"status": "unavailable", "detail": "the database is not writable"}
        return {"status": "ready"}

    @app.get("/version")
    def version() -> dict[str, str]:
        return {
            "version": settings.version or package_version(__package__),
            "revision": settings.revision,
            "build_date": settings.build_date,
        }

    @app.post("/links", status_code=201)
    def create_link(new: NewLink, request: Request, response: Response) -> LinkOut:
        link, created = store.add(new.url)
        if not created:
            response.status_code = 200
        response.headers["Location"] = f"/links/{link.code}"
        return link_out(link, request)

    @app.get("/links/{code}")
    def get_link(code: str, request: Request) -> LinkOut:
        link = store.get(code)
        if link is None:
            raise not_found(code)
        return link_out(link, request)

    @app.delete("/links/{code}", status_code=204, dependencies=[Depends(require_admin)])
    def delete_link(code: str) -> None:
        if not store.delete(code):
            raise not_found(code)

    @app.get("/{code}", status_code=307, response_class=RedirectResponse)
    def follow(code: str) -> RedirectResponse:
        url = store.hit(code)
        if url is None:
            raise not_found(code)
        return RedirectResponse(url, status_code=307)

    return app
