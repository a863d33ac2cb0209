"""numba's kernels are compiled for one fixed CPU model, not the host's (analysis.codegen).

The pin acts when the package is imported, so each case runs in a fresh interpreter that
first fakes what LLVM reports of the host.
"""
import os
import platform
import subprocess
import sys

import pytest

from analysis import cache, codegen

X86 = platform.machine().lower() in ("x86_64", "amd64")
# the pin itself sets NUMBA_CPU_NAME/FEATURES (to keep numba's config reloads pinned), so a
# user's choice shows as any other value
PINNABLE = (X86 and codegen.REQUIRED <= codegen.host_features()
            and os.environ.get("NUMBA_CPU_NAME", codegen.PORTABLE) == codegen.PORTABLE
            and os.environ.get("NUMBA_CPU_FEATURES", "") == ""
            and os.environ.get("NUMBA_ENABLE_AVX", "1") != "0")

FAKE_HOST = """
import llvmlite.binding as ll
from numba.core import codegen as nc
name, drop = {name!r}, {drop!r}
real = ll.get_host_cpu_features()
class Features(dict):
    def flatten(self):
        return ",".join(("+" if on else "-") + f for f, on in self.items())
fake = Features((f, on and f not in drop) for f, on in real.items())
ll.get_host_cpu_name = lambda: name
ll.get_host_cpu_features = lambda: fake
nc.get_host_cpu_features = lambda: fake.flatten()
{before}
import warnings
warnings.simplefilter("error")
from analysis import codegen, fast_mlp
import numba
numba.njit(lambda x: x + 1)(1)
from numba.core import registry
print(codegen.target(), registry.cpu_target.target_context.codegen().magic_tuple()[1:])
"""


def _run(name: str = "znver4", drop: tuple[str, ...] = (), before: str = "",
         env: dict | None = None) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_CPU")}
    return subprocess.run([sys.executable, "-c",
                           FAKE_HOST.format(name=name, drop=drop, before=before)],
                          capture_output=True, text=True, env={**clean, **(env or {})})


@pytest.mark.skipif(not PINNABLE, reason="needs an x86-64 CPU with AVX2 and FMA, no "
                                         "NUMBA_CPU_* set")
def test_this_process_compiles_for_the_portable_model():
    from analysis import fast_mlp  # noqa: F401
    assert codegen.target().startswith(f"{codegen.PORTABLE} (numba ")


@pytest.mark.skipif(not PINNABLE, reason="needs an x86-64 CPU with AVX2 and FMA")
def test_the_pin_survives_numba_rereading_its_environment(monkeypatch):
    import numba
    before = codegen.target()
    monkeypatch.setenv("NUMBA_DEBUG_CACHE", "0")      # numba reloads its config at a compile
    numba.njit(lambda x: x + 3)(1)
    assert codegen.target() == before
    assert numba.core.config.CPU_NAME == codegen.PORTABLE


@pytest.mark.skipif(not PINNABLE, reason="needs an x86-64 CPU with AVX2 and FMA")
@pytest.mark.parametrize("host", ["znver4", "emeraldrapids", "skylake"])
def test_the_host_model_does_not_reach_the_code_generator(host):
    out = _run(name=host)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"{codegen.PORTABLE} (numba ")
    assert out.stdout.rstrip().endswith("('haswell', '')")


@pytest.mark.skipif(not X86, reason="x86-64 only")
def test_a_cpu_without_avx2_compiles_for_itself():
    out = _run(name="nehalem", drop=("avx2", "fma"))
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("nehalem ") and "('nehalem', '+" in out.stdout


def test_a_target_chosen_by_the_user_is_kept():
    out = _run(env={"NUMBA_CPU_NAME": "generic"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("generic ") and out.stdout.rstrip().endswith("('generic', '')")


@pytest.mark.skipif(not X86, reason="x86-64 only")
def test_the_portable_name_with_the_hosts_features_is_not_the_portable_target():
    # NUMBA_CPU_NAME alone keeps the host's features (AVX-512 where present): another key
    out = _run(env={"NUMBA_CPU_NAME": codegen.PORTABLE})
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"{codegen.PORTABLE} ") and not out.stdout.startswith(
        f"{codegen.PORTABLE} (")
    assert "('haswell', '+" in out.stdout


@pytest.mark.skipif(not PINNABLE, reason="needs an x86-64 CPU with AVX2 and FMA")
def test_numba_compiling_first_is_reported_not_silently_mixed():
    out = _run(before="import numba; numba.njit(lambda x: x)(1)")
    assert out.returncode != 0
    assert "compile for this CPU, not for the portable target" in out.stderr


def test_results_of_another_target_have_another_key(monkeypatch):
    key = cache.result_key("run", {"seeds": 3})
    assert cache.result_key("run", {"seeds": 3}) == key
    monkeypatch.setattr(codegen, "target", lambda: "host znver4")
    assert cache.result_key("run", {"seeds": 3}) != key
