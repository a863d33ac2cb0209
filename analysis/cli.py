"""``python -m analysis {list,run,refresh,book,ledger,regress}``: execute the notebooks, build the book.

The notebooks in ``notebooks/`` are sources without outputs. ``run`` executes one with
papermill under a profile (``profiles/<name>.yml``: parameters per notebook) plus any
``-p key=value`` overrides; ``refresh`` re-executes all of them into the profile's
reference folder; ``book`` executes all of them into ``book/chapters/`` (the published
reference), regenerates the verdict ledger and builds the HTML book with jupyter-book;
``ledger`` regenerates ``book/ledger.md`` from the executed chapters; ``regress`` re-executes the
references with nbval and fails on any changed text output (verdict tables included).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from .cache import PACKAGE_ROOT
from .ledger import write_ledger

ROOT = PACKAGE_ROOT.parent
NOTEBOOKS = ROOT / "notebooks"
PROFILES = ROOT / "profiles"
CHAPTERS = ROOT / "book" / "chapters"
REFERENCES = ROOT / "tests" / "notebooks" / "references"
SANITIZE = ROOT / "tests" / "notebooks" / "sanitize.cfg"


def notebook_names() -> list[str]:
    """Names (stems) of the source notebooks, in chapter order."""
    return sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb"))


def profile_names() -> list[str]:
    return sorted(p.stem for p in PROFILES.glob("*.yml"))


def load_profile(profile: str) -> dict[str, dict[str, Any]]:
    """Parameters per notebook of ``profiles/<profile>.yml``."""
    path = PROFILES / f"{profile}.yml"
    if not path.is_file():
        raise SystemExit(f"unknown profile {profile!r}; available: {', '.join(profile_names())}")
    return yaml.safe_load(path.read_text()) or {}


def resolve_notebook(name: str) -> Path:
    """The source notebook for a name, a stem prefix (``01``) or a path."""
    path = Path(name)
    if path.suffix == ".ipynb" and path.is_file():
        return path
    matches = [n for n in notebook_names() if n == name or n.startswith(name)]
    if len(matches) != 1:
        raise SystemExit(f"no single notebook matches {name!r}; available: "
                         f"{', '.join(notebook_names())}")
    return NOTEBOOKS / f"{matches[0]}.ipynb"


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """``key=value`` pairs with YAML-typed values (``seeds=5``, ``fractions=[0.1, 0.5]``)."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"parameter {pair!r} is not of the form key=value")
        out[key.strip()] = yaml.safe_load(value)
    return out


def parameters_for(notebook: Path, profile: str, overrides: dict[str, Any] | None = None
                   ) -> dict[str, Any]:
    """The parameters papermill injects: the profile's entry for the notebook, then overrides."""
    params = {"profile": profile, **load_profile(profile).get(notebook.stem, {})}
    params.update(overrides or {})
    return params


def execute(notebook: Path, output: Path, parameters: dict[str, Any],
            progress: bool = True) -> Path:
    """Execute ``notebook`` with papermill into ``output`` (kernel: this interpreter's python3)."""
    import papermill

    output.parent.mkdir(parents=True, exist_ok=True)
    papermill.execute_notebook(
        str(notebook), str(output), parameters=parameters, kernel_name="python3",
        progress_bar=progress, log_output=progress, cwd=str(ROOT),
    )
    return output


def reference_folder(profile: str) -> Path:
    """Where the executed notebooks of a profile are kept as references."""
    return {"default": CHAPTERS, "smoke": REFERENCES}[profile]


def execute_all(profile: str, folder: Path) -> list[Path]:
    """Execute every source notebook under ``profile`` into ``folder``."""
    done = []
    for name in notebook_names():
        nb = NOTEBOOKS / f"{name}.ipynb"
        print(f"== {name} ({profile}) -> {folder / nb.name}", flush=True)
        done.append(execute(nb, folder / nb.name, parameters_for(nb, profile)))
    return done


def build_book(strict: bool = True) -> Path:
    """Build the HTML book with jupyter-book into ``_build/html``."""
    cmd = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(ROOT),
           "--builder", "html"]
    if strict:
        cmd += ["-W", "-n", "--keep-going"]
    subprocess.run(cmd, check=True, cwd=ROOT)
    return ROOT / "_build" / "html"


def regress(paths: list[Path]) -> int:
    """Re-execute executed notebooks with nbval; returns pytest's exit code."""
    cmd = [sys.executable, "-m", "pytest", "--nbval", "--nbval-current-env",
           "--nbval-sanitize-with", str(SANITIZE), "-p", "no:cacheprovider", "-q",
           *map(str, paths)]
    return subprocess.run(cmd, cwd=ROOT).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list notebooks and profiles")
    p_run = sub.add_parser("run", help="execute one notebook with papermill")
    p_run.add_argument("notebook", help="name, number prefix (e.g. 01) or path")
    p_run.add_argument("--profile", default="default")
    p_run.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                       help="override a parameter (YAML value); repeatable")
    p_run.add_argument("-o", "--output", type=Path,
                       help="executed notebook (default: _build/executed/<profile>/<name>.ipynb)")
    p_ref = sub.add_parser("refresh", help="re-execute every notebook into its reference "
                           "folder (default: book/chapters; smoke: tests/notebooks/references)")
    p_ref.add_argument("--profile", default="default", choices=["default", "smoke"])
    p_book = sub.add_parser("book", help="execute every notebook and build the HTML book")
    p_book.add_argument("--profile", default="default")
    p_book.add_argument("--no-execute", action="store_true",
                        help="build from the executed notebooks already in book/chapters")
    sub.add_parser("ledger", help="regenerate book/ledger.md from the executed chapters")
    p_reg = sub.add_parser("regress", help="re-execute executed notebooks with nbval")
    p_reg.add_argument("--profile", default="default", choices=["default", "smoke"],
                       help="default: the published book/chapters; smoke: tests' references")
    args = parser.parse_args(argv)

    if args.command == "list":
        print("notebooks:", ", ".join(notebook_names()))
        print("profiles: ", ", ".join(profile_names()))
        return 0
    if args.command == "run":
        nb = resolve_notebook(args.notebook)
        out = args.output or ROOT / "_build" / "executed" / args.profile / nb.name
        execute(nb, out, parameters_for(nb, args.profile, parse_overrides(args.param)))
        print(f"executed {nb.name} ({args.profile}) -> {out}")
        return 0
    if args.command == "refresh":
        execute_all(args.profile, reference_folder(args.profile))
        if args.profile == "default":
            print(f"ledger: {write_ledger(ROOT)}")
        return 0
    if args.command == "ledger":
        print(f"ledger: {write_ledger(ROOT)}")
        return 0
    if args.command == "book":
        if not args.no_execute:
            execute_all(args.profile, CHAPTERS)
        write_ledger(ROOT)
        html = build_book()
        print(f"book built: {html / 'index.html'}")
        return 0
    if args.command == "regress":
        return regress(sorted(reference_folder(args.profile).glob("*.ipynb")))
    return 2


if __name__ == "__main__":
    sys.exit(main())
