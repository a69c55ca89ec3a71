"""The HEALTHCHECK's probe: where it looks, what it ignores, what it says, what it loads."""

import http.server
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from shortlink import healthcheck
from shortlink.settings import Settings

PREFIX = healthcheck.PREFIX
# A proxy that is nowhere: a probe that goes through it fails.
DEAD_PROXY = "http://127.0.0.1:9"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, ("127.0.0.1", 8000)),
        ({f"{PREFIX}HOST": "0.0.0.0"}, ("127.0.0.1", 8000)),  # noqa: S104
        ({f"{PREFIX}HOST": "::"}, ("127.0.0.1", 8000)),
        ({f"{PREFIX}HOST": "[::]"}, ("127.0.0.1", 8000)),
        # Empty or blank is unset, as for the service.
        ({f"{PREFIX}HOST": "", f"{PREFIX}PORT": ""}, ("127.0.0.1", 8000)),
        ({f"{PREFIX}HOST": "  ", f"{PREFIX}PORT": " "}, ("127.0.0.1", 8000)),
        ({f"{PREFIX}HOST": "10.1.2.3", f"{PREFIX}PORT": "8080"}, ("10.1.2.3", 8080)),
        ({f"{PREFIX}HOST": "[fd00::5]"}, ("fd00::5", 8000)),
        ({f"{PREFIX}HOST": "localhost", f"{PREFIX}PORT": " 9000 "}, ("localhost", 9000)),
        # Injected by Kubernetes for a Service named like the service: not ours.
        ({f"{PREFIX}PORT": "tcp://10.96.12.34:8000"}, ("127.0.0.1", 8000)),
        # PORT, which platforms set, where the service's own is unset; its own wins.
        ({"PORT": "9123"}, ("127.0.0.1", 9123)),
        ({f"{PREFIX}PORT": "", "PORT": "9123"}, ("127.0.0.1", 9123)),
        ({f"{PREFIX}PORT": "tcp://10.96.12.34:8000", "PORT": "9123"}, ("127.0.0.1", 9123)),
        ({f"{PREFIX}PORT": "9000", "PORT": "9123"}, ("127.0.0.1", 9000)),
        ({"PORT": " "}, ("127.0.0.1", 8000)),
    ],
)
def test_probes_where_the_settings_say_the_service_listens(
    env: dict[str, str], expected: tuple[str, int]
) -> None:
    assert healthcheck.target(env) == expected


@pytest.mark.parametrize("platform", [None, "", "9123", "eighty", "70000"])
@pytest.mark.parametrize(
    "value", [None, "", "  ", "9000", " 9000 ", "eighty", "0", "70000", "tcp://10.96.12.34:8000"]
)
def test_probes_the_port_the_service_serves_on_or_refuses_what_it_refuses(
    monkeypatch: pytest.MonkeyPatch, value: str | None, platform: str | None
) -> None:
    for name, set_to in ((f"{PREFIX}PORT", value), ("PORT", platform)):
        if set_to is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, set_to)
    try:
        served: int | str = Settings().port
    except ValidationError:
        served = "refused"
    try:
        probed: int | str = healthcheck.target(dict(os.environ))[1]
    except healthcheck.BadSetting:
        probed = "refused"
    assert probed == served


@pytest.mark.parametrize("port", ["eighty", "0", "65536", "1" * 5000, "\uff18\uff10\uff10\uff10"])
@pytest.mark.parametrize("variable", [f"{PREFIX}PORT", "PORT"])
def test_a_port_the_service_would_refuse_is_named(variable: str, port: str) -> None:
    with pytest.raises(healthcheck.BadSetting, match=f"^{variable}="):
        healthcheck.target({variable: port})


class Answer(http.server.BaseHTTPRequestHandler):
    code = 200

    def do_GET(self) -> None:
        self.send_response(self.code if self.path == healthcheck.PATH else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def serve(family: socket.AddressFamily, host: str, code: int) -> Iterator[int]:
    server_class = type("Server", (http.server.HTTPServer,), {"address_family": family})
    handler = type("Handler", (Answer,), {"code": code})
    server = server_class((host, 0), handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def healthy() -> Iterator[int]:
    yield from serve(socket.AF_INET, "127.0.0.1", 200)


@pytest.fixture
def failing() -> Iterator[int]:
    yield from serve(socket.AF_INET, "127.0.0.1", 503)


def probe(**env: str) -> subprocess.CompletedProcess[str]:
    """``python -m shortlink.healthcheck`` with ``env`` added to a clean environment."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(PREFIX) and k != "PORT"}
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "no_proxy", "NO_PROXY"):
        clean.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", f"{healthcheck.__package__}.healthcheck"],
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.parametrize(
    "proxies",
    [
        {"http_proxy": DEAD_PROXY, "HTTP_PROXY": DEAD_PROXY},
        {"http_proxy": DEAD_PROXY, "HTTP_PROXY": DEAD_PROXY, "no_proxy": "localhost"},
        {"ALL_PROXY": DEAD_PROXY, "all_proxy": DEAD_PROXY},
    ],
    ids=["proxy", "proxy-no_proxy-localhost", "all_proxy"],
)
def test_a_proxy_in_the_environment_does_not_matter(healthy: int, proxies: dict) -> None:
    done = probe(**{f"{PREFIX}PORT": str(healthy)}, **proxies)
    assert done.returncode == 0, done.stderr


def test_follows_the_host_and_port_to_an_ipv6_address() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 here")
    try:
        server = serve(socket.AF_INET6, "::1", 200)
        port = next(server)
    except OSError as error:
        pytest.skip(f"no IPv6 loopback here: {error}")
    try:
        done = probe(**{f"{PREFIX}HOST": "[::1]", f"{PREFIX}PORT": str(port)})
        assert done.returncode == 0, done.stderr
    finally:
        server.close()


@pytest.mark.parametrize(
    ("case", "words"),
    [("answers-503", "answered 503"), ("nothing-listens", "refused"), ("bad-port", "PORT=")],
)
def test_an_unhealthy_service_or_bad_setting_is_one_line_never_a_traceback(
    failing: int, case: str, words: str
) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = {"answers-503": str(failing), "nothing-listens": str(closed.getsockname()[1])}
    closed.close()
    done = probe(**{f"{PREFIX}PORT": port.get(case, "eighty")})
    assert done.returncode == 1
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert words in done.stderr
    assert "Traceback" not in done.stderr


def test_loads_no_settings_library_and_no_url_opener() -> None:
    """What costs CPU (pydantic: ~0.2 s) or honours proxies (urllib) is never imported."""
    code = f"import sys, {healthcheck.__package__}.healthcheck; print(*sys.modules)"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    heavy = [m for m in loaded if m.split(".")[0] in {"pydantic", "pydantic_settings", "urllib"}]
    assert not heavy
    assert not [m for m in loaded if m.startswith(f"{healthcheck.__package__}.settings")]
