"""The built site (build/site, `nox -s docs`) in a real browser: headless Chromium, Debian's
`chromium` (`.ci/run` installs it), opens each Dockerfile's page from a server on 127.0.0.1.
Each page renders one code annotation per instruction of its file, writes nothing to the
browser's console, and asks the server for nothing it lacks; the journey's page shows its
chart; no page loads anything from another host (the site is read offline too). A screenshot
of each of these pages is kept in build/docs-screenshots/ (the workflow uploads it)."""

import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from docs.generate import DOCUMENTED, instructions
from tools.project import ROOT

SITE = ROOT / "build" / "site"
SCREENSHOTS = ROOT / "build" / "docs-screenshots"
# Each image's page, as mkdocs.yml's nav names it.
PAGES = {"Dockerfile": "dockerfile.html", "Dockerfile.minimal": "minimal.html",
         "Dockerfile.baseline": "baseline.html"}  # fmt: skip
# Debian's name first; GitHub's runners have Chromium or Chrome under another.
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
# A script, style sheet, image or font a page would fetch from another host.
REMOTE = re.compile(r'<(?:script|link|img|source)\b[^>]*\b(?:src|href)="(?:https?:)?//[^"]*"')
# The page's JavaScript (Material's annotations) runs before the DOM is dumped: virtual time.
HEADLESS = ("--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=10000")


class Site(ThreadingHTTPServer):
    """build/site on 127.0.0.1, remembering every request's path and status."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, int]] = []
        site = self

        class Handler(SimpleHTTPRequestHandler):
            def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
                site.requests.append((self.path, int(code)))

        super().__init__(("127.0.0.1", 0), partial(Handler, directory=str(SITE)))

    def url(self, page: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/{page}"


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    assert (SITE / "index.html").is_file(), "no site in build/site: run `nox -s docs`"
    server = Site()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser() -> str:
    found = next(filter(None, map(shutil.which, BROWSERS)), None)
    assert found, f"no headless browser ({', '.join(BROWSERS)}): apt-get install chromium"
    return found


def opened(browser: str, url: str, *args: str) -> subprocess.CompletedProcess:
    """Chromium run headless on ``url``; its stderr holds the page's console messages."""
    return subprocess.run(
        [browser, *HEADLESS, "--enable-logging=stderr", "--v=0", *args, url],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("dockerfile", DOCUMENTED)
def test_each_instruction_has_its_annotation_and_the_console_stays_empty(
    dockerfile: str, site: Site, browser: str
) -> None:
    url = site.url(PAGES[dockerfile])
    dom = opened(browser, url, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    # Material replaces each marker with an annotation element once its JavaScript ran.
    rendered = re.findall(r'class="md-annotation"', dom.stdout)
    expected = instructions((ROOT / dockerfile).read_text().splitlines())
    assert len(rendered) == len(expected), f"{len(rendered)} annotations, {len(expected)} lines"
    console = [line for line in dom.stderr.splitlines() if ":CONSOLE" in line]
    assert not console, console
    failed = [(path, code) for path, code in site.requests if code >= 400]
    assert not failed, failed
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / PAGES[dockerfile].replace(".html", ".png")
    taken = opened(browser, url, f"--screenshot={shot}", "--window-size=1280,2400")
    assert taken.returncode == 0, taken.stderr[-2000:]
    assert shot.stat().st_size > 0


def test_no_page_loads_anything_from_another_host() -> None:
    pages = sorted(SITE.glob("**/*.html"))
    assert pages, "no site in build/site: run `nox -s docs`"
    remote = {page.relative_to(SITE).as_posix(): REMOTE.findall(page.read_text()) for page in pages}
    assert not {page: found for page, found in remote.items() if found}


def test_the_journey_page_shows_its_measured_chart_or_says_there_is_no_lab(
    site: Site, browser: str
) -> None:
    url = site.url("journey.html")
    dom = opened(browser, url, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    console = [line for line in dom.stderr.splitlines() if ":CONSOLE" in line]
    assert not console, console
    if not (ROOT / "lab").is_dir():  # rm -r lab: nothing measured, and the page says so
        assert "which this copy does not have" in dom.stdout
        return
    assert re.search(r'<img [^>]*src="results/journey\.png"', dom.stdout), "no chart on the page"
    chart = [code for path, code in site.requests if path.endswith("/results/journey.png")]
    assert chart, "the browser never loaded the chart"
    assert set(chart) == {200}, chart
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / "journey.png"
    taken = opened(browser, url, f"--screenshot={shot}", "--window-size=1280,2400")
    assert taken.returncode == 0, taken.stderr[-2000:]
