"""``python -m analysis {list,params,run,refresh,book,ledger,regress}``: execute the notebooks, build the book.

The notebooks in ``notebooks/`` are sources without outputs; their parameters are
declared in :mod:`analysis.chapters` (the ``default`` profile) and overridden per profile
in ``profiles/<name>.yml``. ``run`` executes one notebook with papermill under a profile
plus ``-p key=value`` overrides, every value checked before the notebook starts;
``refresh`` re-executes all of them into the profile's reference folder (``default``:
``book/chapters``, the published book; ``smoke``: the tests' references); ``book``
executes all of them and builds the HTML book — the published one for ``default``, a
separate one under ``_build/<profile>/`` for any other profile, which never touches the
published chapters or the ledger; ``ledger`` regenerates ``book/ledger.md``; ``regress``
re-executes the references with nbval and fails on any changed text output. ``--jobs N``
executes N notebooks at once; ``--scheduler ADDRESS`` submits them to a Dask cluster.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml

from . import chapters
from .cache import PACKAGE_ROOT
from .config import ParameterError
from .execute import Run, execute, execute_runs, longest_first, threads_per_job
from .ledger import write_ledger
from .threads import ENV as THREADS_ENV

ROOT = PACKAGE_ROOT.parent
NOTEBOOKS = ROOT / "notebooks"
PROFILES = chapters.PROFILES
CHAPTERS = ROOT / "book" / "chapters"
REFERENCES = ROOT / "tests" / "notebooks" / "references"
SANITIZE = ROOT / "tests" / "notebooks" / "sanitize.cfg"
BUILD = ROOT / "_build"
BOOK_SOURCES = ("_config.yml", "_toc.yml", "book")
"""What jupyter-book reads: a staged copy of these builds a non-default profile's book."""


def notebook_names() -> list[str]:
    """Names (stems) of the source notebooks, in chapter order."""
    return sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb"))


def profile_names() -> list[str]:
    return chapters.profile_names()


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
    """``key=value`` pairs with YAML-read values (``seeds=5``, ``fractions=[0.1, 0.5]``).

    The declared type of each parameter decides the rest: ``lr=1e-3`` becomes a float,
    ``batch_size=None`` (or ``full``) full batch, ``epochs=abc`` an error naming ``epochs``.
    """
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise SystemExit(f"parameter {pair!r} is not of the form key=value")
        parsed = yaml.safe_load(value)
        out[key.strip()] = None if parsed in ("None", "none") else parsed
    return out


def parameters_for(notebook: Path, profile: str, overrides: dict[str, Any] | None = None
                   ) -> dict[str, Any]:
    """What papermill injects: the profile's name and the validated explicit overrides.

    Raises
    ------
    ParameterError
        For an unknown profile or parameter, a wrong type or a value out of bounds, naming
        the notebook and the parameter, before anything runs.
    """
    overrides = dict(overrides or {})
    chapter = chapters.resolve(notebook.stem, profile, overrides)
    values = {k: v for k, v in chapter.values().items() if k in overrides}
    return {"profile": profile, **chapters.injectable(notebook.stem, values)}


def reference_folder(profile: str) -> Path:
    """Where the executed notebooks of a profile are kept as references."""
    return {"default": CHAPTERS, "smoke": REFERENCES}[profile]


def profile_folder(profile: str) -> Path:
    """Where ``book --profile`` writes the executed notebooks of a non-default profile."""
    return BUILD / profile / "book" / "chapters"


def runs_for(profile: str, folder: Path, names: list[str] | None = None) -> list[Run]:
    """One run per source notebook (or per name in ``names``) into ``folder``."""
    runs = []
    for name in names or notebook_names():
        nb = resolve_notebook(name)
        runs.append(Run(nb, folder / nb.name, parameters_for(nb, profile)))
    return runs


def execute_all(profile: str, folder: Path, jobs: int = 1, scheduler: str | None = None,
                names: list[str] | None = None) -> list[Path]:
    """Execute every source notebook (or ``names``) under ``profile`` into ``folder``."""
    runs = runs_for(profile, folder, names)
    if jobs > 1 or scheduler:
        runs = longest_first(runs, lambda r: r.output)
    return execute_runs(runs, jobs=jobs, scheduler=scheduler, cwd=ROOT)


LAUNCH = {"binderhub_url": "https://mybinder.org", "colab_url": "https://colab.research.google.com"}
"""Where the launch buttons open a chapter, once a repository is configured."""


def repository_url(source: Path = ROOT) -> str:
    """The repository URL of ``_config.yml`` (empty when none is configured)."""
    config = yaml.safe_load((source / "_config.yml").read_text()) or {}
    return str((config.get("repository") or {}).get("url") or "").strip()


def book_config(source: Path) -> Path | None:
    """With a repository configured, a copy of ``_config.yml`` whose repository, issues
    and launch (Binder, Colab) buttons are on; None without one (no buttons)."""
    url = repository_url(source)
    if not url:
        return None
    config = yaml.safe_load((source / "_config.yml").read_text())
    config.setdefault("html", {}).update(use_repository_button=True, use_issues_button=True)
    config.setdefault("launch_buttons", {}).update(LAUNCH)
    # this copy lives in _build/: paths that jupyter-book reads relative to the config file
    extensions = config.get("sphinx", {}).get("local_extensions") or {}
    for name, folder in extensions.items():
        extensions[name] = str((source / folder).resolve())
    config["bibtex_bibfiles"] = [str((source / f).resolve())
                                 for f in config.get("bibtex_bibfiles", [])]
    path = source / "_build" / "_config.buttons.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def fill_install_cells(folder: Path, url: str) -> None:
    """Write the repository URL into the install cell of every notebook in ``folder``."""
    import nbformat

    for path in sorted(folder.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        cell = next((c for c in nb.cells if c.cell_type == "code"
                     and c.source.startswith(chapters.INSTALL_MARK)), None)
        if cell is not None and cell.source != chapters.install_cell(url):
            cell.source = chapters.install_cell(url)
            nbformat.write(nb, path)


def build_book(source: Path = ROOT, strict: bool = True) -> Path:
    """Build the HTML book at ``source`` with jupyter-book into ``source/_build/html``."""
    cmd = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(source),
           "--builder", "html"]
    config = book_config(source)
    if config is not None:
        fill_install_cells(source / "book" / "chapters", repository_url(source))
        cmd += ["--config", str(config)]
    if strict:
        cmd += ["-W", "-n", "--keep-going"]
    subprocess.run(cmd, check=True, cwd=source)
    return source / "_build" / "html"


def stage_book(profile: str) -> Path:
    """A copy of the book's sources under ``_build/<profile>`` whose chapters are the
    profile's executed notebooks (already in place there) and whose ledger is theirs."""
    stage = BUILD / profile
    for name in BOOK_SOURCES:
        src, dst = ROOT / name, stage / name
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("chapters", "ledger.md"))
        else:
            shutil.copy2(src, dst)
    write_ledger(stage, profile)
    return stage


def regress(paths: list[Path], jobs: int = 1) -> int:
    """Re-execute executed notebooks with nbval, one line per notebook; 0 when all pass."""
    env = {**os.environ, THREADS_ENV: str(threads_per_job(jobs))}

    def one(path: Path) -> tuple[Path, subprocess.CompletedProcess, float]:
        start = time.perf_counter()
        cmd = [sys.executable, "-m", "pytest", "--nbval", "--nbval-current-env",
               "--nbval-sanitize-with", str(SANITIZE), "-p", "no:cacheprovider", "-q",
               "-o", "addopts=", str(path)]
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        return path, done, time.perf_counter() - start

    failed = 0
    print(f"re-executing {len(paths)} notebooks with nbval, {jobs} at a time", flush=True)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for i, (path, done, seconds) in enumerate(pool.map(one, paths), 1):
            status = "same outputs" if done.returncode == 0 else "CHANGED"
            print(f"[{i}/{len(paths)}] {path.stem}: {status} ({seconds:.0f} s)", flush=True)
            if done.returncode != 0:
                failed += 1
                print(done.stdout[-4000:], flush=True)
    print(f"{len(paths) - failed} of {len(paths)} notebooks reproduce their references")
    return 1 if failed else 0


def show_parameters(name: str, profile: str) -> None:
    """Print a notebook's parameters: type and bounds, default and the profile's value."""
    nb = resolve_notebook(name).stem
    chosen = chapters.injectable(nb, chapters.resolve(nb, profile).values())
    defaults = chapters.injectable(nb, chapters.chapter_class(nb)().values())
    print(f"{nb} (profile {profile})")
    for key in chapters.parameter_names(nb):
        mark = "" if chosen[key] == defaults[key] else f"   [{profile}: {chosen[key]!r}]"
        print(f"  {key} = {defaults[key]!r}{mark}\n      {chapters.describe_type(nb, key)}")


def sync_parameters(write: bool) -> list[str]:
    """Notebooks whose generated cells differ from :mod:`analysis.chapters`.

    The generated cells open every notebook's code: the install cell (hidden in the book),
    the parameters cell (tagged ``parameters``) and the load cell. With ``write`` they
    are rewritten in place (and inserted where missing).
    """
    import nbformat

    stale = []
    url = repository_url()
    for name in notebook_names():
        path = NOTEBOOKS / f"{name}.ipynb"
        nb = nbformat.read(path, as_version=4)
        cells = nb.cells
        index = next(i for i, c in enumerate(cells) if "parameters" in c.metadata.get("tags", []))
        wanted = [(chapters.install_cell(url), ["remove-cell"]),
                  (chapters.parameters_cell(name), ["parameters"]),
                  (chapters.load_cell(name), ["hide-input"])]
        marks = (chapters.INSTALL_MARK, None, "from analysis.chapters import load")
        current = [cells[index - 1] if index > 0 else None, cells[index],
                   cells[index + 1] if index + 1 < len(cells) else None]
        ok = [cell is not None and cell.cell_type == "code" and cell.source == src
              and cell.metadata.get("tags", []) == tags
              for cell, (src, tags) in zip(current, wanted)]
        if all(ok):
            continue
        stale.append(name)
        if not write:
            continue
        for slot, (cell, (src, tags), mark) in enumerate(zip(current, wanted, marks)):
            ours = cell is not None and cell.cell_type == "code" and (
                mark is None or cell.source.startswith(mark))
            if not ours:
                cell = nbformat.v4.new_code_cell(src)
                at = index + (slot - 1 if slot else 0)
                cells.insert(max(at, 0), cell)
                index += slot == 0
            cell.source = src
            cell.metadata["tags"] = tags
        nbformat.write(nb, path)
    return stale


def _jobs(value: str) -> int:
    jobs = int(value)
    if jobs < 1:
        raise argparse.ArgumentTypeError("--jobs must be >= 1")
    return jobs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list notebooks and profiles")
    p_par = sub.add_parser("params", help="show a notebook's parameters, or sync the "
                           "notebooks' parameters cells with analysis/chapters.py")
    p_par.add_argument("notebook", nargs="?", help="name or number prefix (e.g. 01)")
    p_par.add_argument("--profile", default="default")
    p_par.add_argument("--write", action="store_true", help="rewrite stale parameters cells")
    p_par.add_argument("--check", action="store_true", help="fail if a cell is stale")
    p_run = sub.add_parser("run", help="execute one notebook with papermill")
    p_run.add_argument("notebook", help="name, number prefix (e.g. 01) or path")
    p_run.add_argument("--profile", default="default")
    p_run.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                       help="override a parameter (YAML value); repeatable")
    p_run.add_argument("-o", "--output", type=Path,
                       help="executed notebook (default: _build/executed/<profile>/<name>.ipynb)")
    parallel = argparse.ArgumentParser(add_help=False)
    parallel.add_argument("--jobs", type=_jobs, default=1,
                          help="notebooks executed at once (threads per process: cores/jobs)")
    parallel.add_argument("--scheduler", metavar="ADDRESS",
                          help="submit the notebooks to this Dask distributed scheduler")
    p_ref = sub.add_parser("refresh", parents=[parallel],
                           help="re-execute every notebook into its reference folder "
                           "(default: book/chapters; smoke: tests/notebooks/references)")
    p_ref.add_argument("--profile", default="default", choices=["default", "smoke"])
    p_ref.add_argument("--only", nargs="+", metavar="NOTEBOOK", help="only these notebooks")
    p_book = sub.add_parser("book", parents=[parallel],
                            help="execute every notebook and build the HTML book")
    p_book.add_argument("--profile", default="default")
    p_book.add_argument("--no-execute", action="store_true",
                        help="build from the executed notebooks already there")
    sub.add_parser("ledger", help="regenerate book/ledger.md from the executed chapters")
    p_reg = sub.add_parser("regress", help="re-execute executed notebooks with nbval")
    p_reg.add_argument("--profile", default="default", choices=["default", "smoke"],
                       help="default: the published book/chapters; smoke: tests' references")
    p_reg.add_argument("--jobs", type=_jobs, default=1)
    p_reg.add_argument("--only", nargs="+", metavar="NOTEBOOK", help="only these notebooks")
    args = parser.parse_args(argv)
    try:
        return _command(args)
    except ParameterError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


def _command(args: argparse.Namespace) -> int:
    if args.command == "list":
        print("notebooks:", ", ".join(notebook_names()))
        print("profiles: ", ", ".join(profile_names()))
        return 0
    if args.command == "params":
        if args.write or args.check:
            stale = sync_parameters(write=args.write)
            verb = "rewrote" if args.write else "stale"
            print(f"{verb}: {', '.join(stale)}" if stale else "parameters cells are current")
            return 1 if stale and args.check else 0
        for name in [args.notebook] if args.notebook else notebook_names():
            show_parameters(name, args.profile)
        return 0
    if args.command == "run":
        nb = resolve_notebook(args.notebook)
        params = parameters_for(nb, args.profile, parse_overrides(args.param))
        out = args.output or BUILD / "executed" / args.profile / nb.name
        if out.resolve().parent == NOTEBOOKS.resolve():
            raise SystemExit(f"refusing to write {out}: notebooks/ holds the source notebooks; "
                             "choose another -o")
        execute(Run(nb, out, params), cwd=ROOT)
        print(f"executed {nb.name} ({args.profile}) -> {out}")
        return 0
    if args.command == "refresh":
        execute_all(args.profile, reference_folder(args.profile), args.jobs, args.scheduler,
                    args.only)
        if args.profile == "default":
            print(f"ledger: {write_ledger(ROOT)}")
        return 0
    if args.command == "ledger":
        print(f"ledger: {write_ledger(ROOT)}")
        return 0
    if args.command == "book":
        if args.profile == "default":
            if not args.no_execute:
                execute_all("default", CHAPTERS, args.jobs, args.scheduler)
            write_ledger(ROOT)
            html = build_book(ROOT)
        else:
            chapters.profile_values(args.profile, notebook_names()[0])  # known profile?
            if not args.no_execute:
                execute_all(args.profile, profile_folder(args.profile), args.jobs,
                            args.scheduler)
            html = build_book(stage_book(args.profile))
        print(f"book built ({args.profile}): {html / 'index.html'}")
        return 0
    if args.command == "regress":
        folder = reference_folder(args.profile)
        names = [resolve_notebook(n).stem for n in args.only] if args.only else notebook_names()
        return regress([folder / f"{n}.ipynb" for n in names], args.jobs)
    return 2


if __name__ == "__main__":
    sys.exit(main())
