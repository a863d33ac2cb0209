"""The book builds strictly, reads fully offline in a real browser, and can be published.

The book is built once per session from the executed chapters (``built_book``); a
headless Chromium, driven by Playwright, then opens it from a local HTTP server on
127.0.0.1 as a reader would.
"""
import functools
import shutil
import subprocess
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

from analysis import cli

JUPYTER_BOOK = shutil.which("jupyter-book", path=str(Path(sys.executable).parent))
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
WORKFLOW = cli.ROOT / ".github" / "workflows" / "book.yml"


@pytest.fixture(scope="session")
def built_book(tmp_path_factory) -> Path:
    if JUPYTER_BOOK is None:
        pytest.skip("jupyter-book is not installed (extra 'book')")
    out = tmp_path_factory.mktemp("book")
    run = subprocess.run([JUPYTER_BOOK, "build", str(cli.ROOT), "--path-output", str(out),
                          "--builder", "html", "-W", "-n", "--keep-going"],
                         capture_output=True, text=True, cwd=cli.ROOT)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return out / "_build" / "html"


def test_book_builds_strictly(built_book):
    chapter = (built_book / "book" / "chapters" / "01_information_plane.html").read_text()
    assert "_static/mathjax/tex-chtml.js" in chapter  # math without a CDN
    assert "supported" in chapter  # the verdict table is rendered
    assert (built_book / "book" / "intro.html").is_file()
    assert (built_book / "book" / "ledger.html").is_file()


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def site(built_book):
    handler = functools.partial(QuietHandler, directory=str(built_book))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run "
                                             "installs it)")
def test_pages_render_offline_in_a_browser(site):
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    outside: list[str] = []

    def only_local(route):
        if urlparse(route.request.url).hostname in ("127.0.0.1", None):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.route("**/*", only_local)
        page.goto(f"{site}/index.html", wait_until="networkidle")
        assert page.url.endswith("book/intro.html")          # the index redirects
        page.wait_for_selector("mjx-container", timeout=30_000)  # math is typeset
        page.goto(f"{site}/book/chapters/01_information_plane.html", wait_until="networkidle")
        page.wait_for_selector("mjx-container", timeout=30_000)
        images = page.evaluate("Array.from(document.images).map(i => i.complete && "
                               "i.naturalWidth > 0)")
        assert len(images) >= 3 and all(images), images   # every figure loaded
        assert "supported" in page.inner_text("body")
        page.goto(f"{site}/book/ledger.html", wait_until="networkidle")
        rows = page.locator("table tbody tr")
        assert rows.count() >= 50
        assert page.locator("table a[href*='chapters/']").count() == rows.count()
        browser.close()
    assert outside == [], f"requests left the machine: {outside}"


def test_pages_workflow_is_a_valid_github_workflow(tmp_path):
    checker = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent))
    if checker is None:
        pytest.skip("check-jsonschema is not installed (extra 'test')")

    def valid(path: Path) -> bool:
        run = subprocess.run([checker, "--builtin-schema", "vendor.github-workflows",
                              str(path)], capture_output=True, text=True)
        return run.returncode == 0

    assert valid(WORKFLOW)
    workflow = yaml.safe_load(WORKFLOW.read_text())
    steps = workflow["jobs"]["build"]["steps"]
    assert any("analysis book --no-execute" in s.get("run", "") for s in steps)
    upload = next(s for s in steps if "upload-pages-artifact" in s.get("uses", ""))
    assert upload["with"]["path"] == "_build/html"
    assert workflow["permissions"]["pages"] == "write"
    broken = WORKFLOW.read_text().replace("    runs-on: ubuntu-latest\n", "", 1)
    (tmp_path / "broken.yml").write_text(broken)      # a job without runs-on
    assert not valid(tmp_path / "broken.yml")
