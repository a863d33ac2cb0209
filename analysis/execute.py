"""Executing notebooks: one with papermill, many at once, locally or on a Dask cluster.

A :class:`Run` is one notebook executed into one output with its parameters (papermill run
lists). :func:`execute_runs` executes a list of them, ``jobs`` at a time in separate
processes, longest first (by the duration papermill recorded in the last executed copy),
each process with ``cores // jobs`` threads for torch and numba
(:func:`analysis.threads.set_threads`, read from ``IB_BOOK_THREADS`` by every notebook),
and prints one line per notebook as it ends. With ``scheduler`` the runs are submitted to
an existing Dask distributed cluster instead; its workers must see this repository and
the result cache (``IB_BOOK_CACHE``) on a shared path, whose atomic, content-keyed writes
make concurrent writers of one key safe (:mod:`analysis.cache`).
"""
from __future__ import annotations

import json
import multiprocessing
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .threads import ENV as THREADS_ENV


@dataclass(frozen=True)
class Run:
    """One notebook to execute: its source, where the executed copy goes, its parameters."""

    notebook: Path
    output: Path
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.notebook.stem


def _ipc_kernel_manager() -> type:
    """A kernel manager that talks to the kernel over local sockets, not unencrypted TCP."""
    from jupyter_client.manager import AsyncKernelManager

    folder = tempfile.mkdtemp(prefix="ib-book-kernel-")

    class IPCKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(transport="ipc", ip=os.path.join(folder, "kernel"), **kwargs)

    return IPCKernelManager


def execute(run: Run, progress: bool = True, cwd: Path | None = None) -> Path:
    """Execute ``run`` with papermill (kernel: this interpreter's python3); the output path.

    ``progress`` shows papermill's progress bar and the cells' output in the terminal; the
    executed notebook itself never holds progress bars (the notebooks print their own
    summaries and keep tqdm on stderr, which the book hides).

    papermill saves the notebook after every cell, so it writes to
    ``<name>.partial.ipynb`` beside the output, which replaces the output only when every
    cell has run: an interrupted or failed execution leaves the previous output as it was
    and the partial notebook (up to the failing cell) to look at.
    """
    import papermill

    run.output.parent.mkdir(parents=True, exist_ok=True)
    partial = partial_path(run.output)
    try:
        papermill.execute_notebook(
            str(run.notebook), str(partial), parameters=run.parameters,
            kernel_name="python3", progress_bar=progress, log_output=progress,
            cwd=str(cwd or run.notebook.parent.parent),
            kernel_manager_class=_ipc_kernel_manager())
    finally:
        if partial.is_file():
            clean_executed(partial, run.output.name)
    os.replace(partial, run.output)
    return run.output


def partial_path(output: Path) -> Path:
    """Where :func:`execute` writes ``output`` while it runs."""
    return output.with_name(f"{output.stem}.partial{output.suffix}")


HIDDEN_CELLS = ("parameters", "injected-parameters")
"""Tags of the cells the book does not show (they stay in the notebook)."""


def clean_executed(path: Path, output_name: str | None = None) -> None:
    """Make an executed notebook fit to publish, in place.

    The parameters cell and papermill's injected-parameters cell are tagged
    ``remove-cell`` (the load cell after them shows the effective values); the stderr of
    cells tagged ``remove-stderr`` — progress bars — is dropped, so no progress output
    lands in the notebook a reader downloads; papermill's record of the input and output
    paths is made relative, so no path of the machine that ran it is published
    (``output_name``, if given, is recorded as the output's name).
    """
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if any(t in tags for t in HIDDEN_CELLS) and "remove-cell" not in tags:
            cell.metadata["tags"] = [*tags, "remove-cell"]
        if cell.cell_type == "code" and "remove-stderr" in tags:
            cell.outputs = [o for o in cell.outputs
                            if not (o.output_type == "stream" and o.get("name") == "stderr")]
    meta = nb.metadata.get("papermill", {})
    for key in ("input_path", "output_path"):
        if meta.get(key):
            meta[key] = Path(meta[key]).name
    if output_name and meta.get("output_path"):
        meta["output_path"] = output_name
    nbformat.write(nb, path)


def recorded_seconds(path: Path) -> float:
    """The duration papermill recorded in an executed notebook (0 when there is none)."""
    try:
        return float(json.loads(path.read_text())["metadata"]["papermill"]["duration"] or 0)
    except (OSError, ValueError, KeyError, TypeError):
        return 0.0


def longest_first(runs: Sequence[Run], previous: Callable[[Run], Path]) -> list[Run]:
    """``runs`` ordered by the duration of their previous execution, longest first."""
    return sorted(runs, key=lambda r: -recorded_seconds(previous(r)))


def threads_per_job(jobs: int, cores: int | None = None) -> int:
    """Threads for each of ``jobs`` concurrent processes on ``cores`` cores (at least 1)."""
    return max(1, (cores or os.cpu_count() or 1) // max(1, jobs))


def _execute_in_worker(run: Run, threads: int, cwd: str) -> tuple[str, float]:
    os.environ[THREADS_ENV] = str(threads)
    start = time.perf_counter()
    execute(run, progress=False, cwd=Path(cwd))
    return str(run.output), time.perf_counter() - start


def execute_runs(runs: Sequence[Run], jobs: int = 1, scheduler: str | None = None,
                 cwd: Path | None = None, log: Callable[[str], None] = print) -> list[Path]:
    """Execute every run, ``jobs`` at a time (or on the Dask cluster at ``scheduler``).

    Returns the outputs in the order of ``runs``. A failing notebook stops the others
    from being started and raises once the running ones have ended.
    """
    cwd = cwd or Path.cwd()
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    total = len(runs)
    if scheduler:
        return _execute_on_cluster(runs, scheduler, cwd, log)
    if jobs == 1:
        os.environ.setdefault(THREADS_ENV, str(threads_per_job(1)))
        for i, run in enumerate(runs, 1):
            log(f"[{i}/{total}] {run.name} -> {run.output}")
            start = time.perf_counter()
            execute(run, progress=True, cwd=cwd)
            log(f"[{i}/{total}] {run.name} done in {time.perf_counter() - start:.0f} s")
        return [r.output for r in runs]
    threads = threads_per_job(jobs)
    log(f"executing {total} notebooks, {jobs} at a time, {threads} thread(s) each")
    done = 0
    spawn = multiprocessing.get_context("spawn")  # no fork of a process holding threads
    with ProcessPoolExecutor(max_workers=jobs, mp_context=spawn) as pool:
        pending = {pool.submit(_execute_in_worker, r, threads, str(cwd)): r for r in runs}
        error: BaseException | None = None
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                run = pending.pop(future)
                done += 1
                try:
                    _, seconds = future.result()
                    log(f"[{done}/{total}] {run.name} done in {seconds:.0f} s")
                except BaseException as err:  # noqa: BLE001 - reported, then raised
                    log(f"[{done}/{total}] {run.name} FAILED: {err}")
                    error = error or err
                    for other in pending:
                        other.cancel()
        if error is not None:
            raise error
    return [r.output for r in runs]


def _execute_on_cluster(runs: Sequence[Run], scheduler: str, cwd: Path,
                        log: Callable[[str], None]) -> list[Path]:
    """Submit every run to the Dask cluster at ``scheduler``, one thread per task."""
    try:
        from distributed import Client, as_completed
    except ImportError as err:
        raise RuntimeError("--scheduler needs dask.distributed: pip install -e '.[cluster]'"
                           ) from err
    with Client(scheduler) as client:
        log(f"submitting {len(runs)} notebooks to {scheduler}")
        futures = {client.submit(_execute_in_worker, r, 1, str(cwd), pure=False,
                                 key=f"notebook-{r.name}-{time.time_ns()}"): r for r in runs}
        for i, future in enumerate(as_completed(futures), 1):
            run = futures[future]
            _, seconds = future.result()
            log(f"[{i}/{len(runs)}] {run.name} done in {seconds:.0f} s")
    return [r.output for r in runs]
