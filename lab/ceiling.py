"""The stack's ceiling: the service's routes on FastAPI and uvicorn, answering constants.

The same stack as the service, started the same way (uvicorn with the service's HTTP protocol
and keep-alive, no access log, one process), but no I/O and no logic of the service: a body is
parsed into a model and a constant answered. What the service reaches of it is what its own
work costs. ``python ceiling.py --host HOST --port PORT``: lab/bench.py mounts this file into a
container of the optimized image and runs it with the image's Python and venv, so it imports
only what the image holds (the service's package and its dependencies), never tools/ or lab/.
"""

import argparse
import sys

import uvicorn
from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from pydantic import BaseModel

from shortlink.healthcheck import PATH as HEALTH_PATH
from shortlink.server import uvicorn_options
from shortlink.settings import Settings

CODE = "ceiling"
URL = "https://bench.example/ceiling"


class NewLink(BaseModel):
    url: str


def create_app() -> FastAPI:
    """GET HEALTH_PATH, POST /links (201), GET /{code} (307), each answering a constant."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.get(HEALTH_PATH)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/links", status_code=201)
    async def create_link(new: NewLink) -> dict[str, str]:
        return {"code": CODE, "url": new.url}

    @app.get("/{code}", status_code=307, response_class=RedirectResponse)
    async def follow(code: str) -> RedirectResponse:
        return RedirectResponse(URL, status_code=307)

    return app


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python ceiling.py", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="the address to listen on")
    parser.add_argument("--port", type=int, required=True)
    options = parser.parse_args(argv)
    uvicorn.run(
        create_app(),
        host=options.host,
        port=options.port,
        log_config=None,
        access_log=False,
        **uvicorn_options(Settings()),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
