"""One compile target for the book's numba kernels, whatever the CPU they run on.

numba compiles for the host CPU by default: the CPU model tunes LLVM's vectoriser and
its features choose the instructions. The kernels sum over the batch with reassociation
allowed (:data:`analysis.fast_mlp.FASTMATH`), so two CPUs add the same numbers in another
order and the trained networks differ in the last bits — enough for a chaotic run
(full-batch training, chapter 9) to end at another accuracy. Compiled for one fixed model
(:data:`PORTABLE`, the x86-64-v3 level: AVX2, FMA, BMI2), the machine code is the same
on every x86-64 CPU that has those features (Intel since 2013, AMD since 2015), and so are
the numbers; it costs 10-15% of the training kernel's speed against the host's own
AVX-512 code (measured on an Emerald Rapids core pair). Where the pin cannot apply (another
architecture, a CPU without those features, ``NUMBA_CPU_NAME``, ``NUMBA_CPU_FEATURES`` or
``NUMBA_ENABLE_AVX=0`` set by the user, or numba already compiling for the host before this
module was imported), the kernels compile for that target and :func:`target` says so;
the cache keys include it (:func:`analysis.cache.result_key`), so results of two targets
are never mixed.
"""
from __future__ import annotations

import hashlib
import os
import platform
import warnings

import llvmlite.binding as ll
import numba
from numba.core import config, registry
from numba.core import codegen as numba_codegen

PORTABLE = "haswell"
"""LLVM CPU model the kernels are compiled for on x86-64 (its own features, no others)."""

REQUIRED = frozenset({"avx", "avx2", "bmi", "bmi2", "cx16", "f16c", "fma", "lzcnt", "movbe",
                      "popcnt", "sahf", "sse4.2", "ssse3"})
"""Host features :data:`PORTABLE` code may use; without all of them it is not pinned."""


def host_features() -> frozenset[str]:
    """The CPU features LLVM reports as present on this machine."""
    return frozenset(f[1:] for f in ll.get_host_cpu_features().flatten().split(",")
                     if f.startswith("+"))


def _codegen_started() -> bool:
    # numba creates its CPU code generator, and fixes its target, at the first @njit
    # decoration (or compile)
    return "_toplevel_target_context" in vars(registry.cpu_target)


def pin() -> str:
    """Make numba compile for :data:`PORTABLE` where it can; return :func:`target`.

    Called once when the package's numba modules are imported, before any kernel is
    compiled. Leaves numba alone where the user chose a target (``NUMBA_CPU_NAME``,
    ``NUMBA_CPU_FEATURES``, ``NUMBA_ENABLE_AVX=0``), on a non-x86-64 machine and on a CPU lacking
    :data:`REQUIRED`; warns where numba had already compiled for the host.
    """
    if (config.CPU_NAME is not None or config.CPU_FEATURES is not None
            or ("NUMBA_ENABLE_AVX" in os.environ and not config.ENABLE_AVX)):
        return target()
    if platform.machine().lower() not in ("x86_64", "amd64") or not REQUIRED <= host_features():
        return target()
    if _codegen_started():
        warnings.warn("numba compiled code before ib-book was imported, so its kernels "
                      "compile for this CPU, not for the portable target: trained networks "
                      "may differ from the published ones in the last bits", stacklevel=2)
        return target()
    config.CPU_NAME, config.CPU_FEATURES = PORTABLE, ""
    # numba re-reads every NUMBA_* variable whenever one changes; these keep the pin then
    # (and in child processes)
    os.environ["NUMBA_CPU_NAME"], os.environ["NUMBA_CPU_FEATURES"] = PORTABLE, ""
    return target()


def target() -> str:
    """What the numba kernels of this process are compiled for: ``"haswell"`` when pinned,
    else the CPU model and a digest of its features (e.g. ``"emeraldrapids 3f2a9c1e"``),
    with the numba and LLVM versions, whose code generation may differ too. The same
    string before and after the first compile."""
    if _codegen_started():
        _, name, features = registry.cpu_target.target_context.codegen().magic_tuple()
    else:
        name = config.CPU_NAME or ll.get_host_cpu_name()
        features = (config.CPU_FEATURES if config.CPU_FEATURES is not None
                    else numba_codegen.get_host_cpu_features())
    versions = f"numba {numba.__version__}, LLVM {'.'.join(map(str, ll.llvm_version_info))}"
    if (name, features) == (PORTABLE, ""):
        return f"{PORTABLE} ({versions})"
    return f"{name} {hashlib.sha256(features.encode()).hexdigest()[:8]} ({versions})"


pin()
