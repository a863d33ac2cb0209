"""The book builds without warnings or broken links from the executed chapters."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from analysis import cli


@pytest.mark.skipif(shutil.which("jupyter-book", path=str(Path(sys.executable).parent)) is None,
                    reason="jupyter-book is not installed (extra 'book')")
def test_book_builds_strictly(tmp_path):
    exe = Path(sys.executable).with_name("jupyter-book")
    run = subprocess.run([str(exe), "build", str(cli.ROOT), "--path-output", str(tmp_path),
                          "--builder", "html", "-W", "-n", "--keep-going"],
                         capture_output=True, text=True, cwd=cli.ROOT)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    html = tmp_path / "_build" / "html"
    chapter = (html / "book" / "chapters" / "01_information_plane.html").read_text()
    assert "_static/mathjax/tex-chtml.js" in chapter  # math without a CDN
    assert "supported" in chapter  # the verdict table is rendered
    assert (html / "book" / "intro.html").is_file()
