"""The whole API fuzzed from its own OpenAPI document, with every schemathesis check."""

import atexit
import shutil
import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, assume, settings

from shortlink.app import NOT_CODES, create_app
from shortlink.settings import Settings

from .helpers import ADMIN_TOKEN

# Built at import, as schemathesis collects one test per operation from it. Schemathesis runs
# the app's lifespan until the process ends, and then (exit handlers run last-registered first)
# the folder goes.
FOLDER = Path(tempfile.mkdtemp(prefix="fuzz-"))
atexit.register(shutil.rmtree, FOLDER, ignore_errors=True)
(FOLDER / "admin_token").write_text(ADMIN_TOKEN)
app = create_app(
    Settings(data_dir=FOLDER / "data", admin_token_file=FOLDER / "admin_token", allowed_hosts="*")
)
# Not from_asgi: fetching the document that way runs the app's lifespan to its end (closing
# the database) before any test; schemathesis starts the lifespan once, at the first call.
schema = schemathesis.openapi.from_dict(app.openapi())
schema.app = app


# Derandomized: the same examples on every run, so CI cannot flake on a lucky draw.
@schema.parametrize()
@settings(
    max_examples=30,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_holds_every_check(case: schemathesis.Case) -> None:
    # GET /version is its own operation, not a code /{code} fails to find: the document says
    # codes are "not" these names, and a draw of one would test another operation.
    assume((case.path_parameters or {}).get("code") not in NOT_CODES)
    case.call_and_validate(headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
