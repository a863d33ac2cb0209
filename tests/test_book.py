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
    assert 'class="verdict-table"' in chapter  # the verdict table is rendered as a table
    assert "Rerun this chapter" in chapter
    assert "injected-parameters" not in chapter and "# Parameters (papermill" not in chapter
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


PAGES = ["index.html", "book/ledger.html", "book/data.html",
         *(f"book/chapters/{n}.html" for n in cli.notebook_names())]
"""Every chapter, the ledger, the index (the landing page) and the data page."""

OVERFLOW = """() => {
  const main = document.querySelector('main') || document.body;
  const out = [];
  for (const el of [main, ...main.querySelectorAll('*')]) {
    if (el.clientWidth === 0 || getComputedStyle(el).display === 'none') continue;
    if (el.closest('mjx-assistive-mml')) continue;
    // a formula that scrolls in its own box is not cut; the column around it still counts
    if (el.matches('span.math, div.math, mjx-container') && ['auto', 'scroll'].includes(getComputedStyle(el).overflowX)) continue;
    if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== 'visible'
        || el === main && el.scrollWidth > el.clientWidth + 1) {
      out.push(`${el.tagName.toLowerCase()}.${el.className}: ${el.scrollWidth} > ${el.clientWidth}`);
    }
  }
  const page = document.documentElement;
  if (page.scrollWidth > page.clientWidth + 1) out.push(`page: ${page.scrollWidth} > ${page.clientWidth}`);
  return out;
}"""
"""Elements of the main column whose content is wider than they are (a scroll bar, or text
cut off), and the page itself wider than the window."""

SHRUNK = """() => Array.from(document.querySelectorAll('main img')).filter(i => i.offsetParent)
  .map(i => {
    const declared = i.getAttribute('width') || parseFloat(i.style.width);
    const natural = declared ? Number(declared) : i.naturalWidth;
    return [i.currentSrc.split('/').pop().slice(0, 40), i.getBoundingClientRect().width / natural];
  }).filter(([name, shown]) => shown < 0.6)"""
"""Figures shown at less than 60% of their natural width (a 2x image's natural width is the
width it declares, as an attribute or, as myst-nb writes it, in its style)."""


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run "
                                             "installs it)")
def test_pages_read_offline_at_desktop_and_phone_widths(site):
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    outside: list[str] = []
    problems: dict[str, list] = {}

    def only_local(route):
        if urlparse(route.request.url).hostname in ("127.0.0.1", None):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for width in (1400, 400):
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.route("**/*", only_local)
            for path in PAGES:
                page.goto(f"{site}/{path}", wait_until="networkidle")
                if path.startswith("book/chapters/"):
                    images = page.evaluate("Array.from(document.images).map(i => i.complete "
                                           "&& i.naturalWidth > 0)")
                    assert images and all(images), (path, images)   # every figure loaded
                    assert page.locator("table.verdict-table").count() == 1, path
                found = page.evaluate(OVERFLOW)
                if width == 1400:
                    found += [f"figure {n} shown at {w:.0%}" for n, w in page.evaluate(SHRUNK)]
                if found:
                    problems[f"{path} @ {width}px"] = found
            page.close()
        page = browser.new_page()
        page.route("**/*", only_local)
        page.goto(f"{site}/index.html", wait_until="networkidle")
        assert page.url.endswith("book/intro.html")          # the index redirects
        page.wait_for_selector("mjx-container", timeout=30_000)  # math is typeset
        chapters = page.locator("a[href*='chapters/']")
        assert chapters.count() >= len(cli.notebook_names())  # the landing page lists them
        page.goto(f"{site}/book/ledger.html", wait_until="networkidle")
        rows = page.locator("table.ledger-table tbody tr")
        assert rows.count() >= 50
        assert page.locator("table.ledger-table a[href*='chapters/']").count() == rows.count()
        assert page.locator(".verdict-not-supported, .verdict-inconclusive, "
                            ".verdict-not-testable, .verdict-supported").count() == rows.count()
        browser.close()
    assert problems == {}, problems
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
