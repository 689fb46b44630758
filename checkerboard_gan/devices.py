"""Which device a run uses, how many CPU threads it takes, and the options whose null means
"on for CUDA"."""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

import torch

from checkerboard_gan.config import ConfigError


def resolve_device(name: str) -> torch.device:
    """`auto` picks cuda, then mps, then cpu; a device this machine lacks is a ConfigError."""
    if name != "auto":
        device = torch.device(name)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ConfigError(
                f"device={name}: this machine has no CUDA GPU; use device=cpu or auto"
            )
        if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
            count = torch.cuda.device_count()
            raise ConfigError(
                f"device={name}: this machine has {count} GPU(s), cuda:0..{count - 1}"
            )
        mps = getattr(torch.backends, "mps", None)
        if device.type == "mps" and not (mps and mps.is_available()):
            raise ConfigError(f"device={name}: MPS is not available here; use device=cpu or auto")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def cuda_default(option: bool | None, device: torch.device) -> bool:
    """An option whose null means: on for CUDA, off elsewhere (`log.background`)."""
    return device.type == "cuda" if option is None else option


def granted_cpus(
    cgroup: Path = Path("/sys/fs/cgroup"), own: Path = Path("/proc/self/cgroup")
) -> int:
    """CPUs this process may use: its affinity mask (taskset, cpusets), capped by a CPU quota
    (containers, cluster jobs): cgroup v2 `cpu.max` ("QUOTA PERIOD", or "max" for none) in the
    process's own cgroup, else v1 `cpu/cpu.cfs_quota_us` over `cpu.cfs_period_us` (-1: none);
    a fractional quota rounds up. At least 1. A momentary load never changes it (results are
    bit-identical for one thread count only)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    quota = _cpu_quota(cgroup, own)
    return max(1, min(cpus, math.ceil(quota)) if quota else cpus)


def run_threads(threads: int | None, environ: dict[str, str] | None = None) -> int:
    """A run's CPU threads: `threads` (the config's `threads`) where given, else the
    `OMP_NUM_THREADS` its launcher set (the report's `--jobs`, torchrun, a cluster job script;
    PyTorch's own default honours it too), else `granted_cpus()`. An unset, non-integer or
    non-positive `OMP_NUM_THREADS` is ignored. At least 1."""
    if threads:
        return threads
    given = (os.environ if environ is None else environ).get("OMP_NUM_THREADS", "").strip()
    if given.isdigit() and int(given) > 0:
        return int(given)
    return granted_cpus()


def _cpu_quota(cgroup: Path, own: Path) -> float | None:
    """The CPU quota in CPUs, or None where there is none (or it cannot be read)."""
    try:
        lines = own.read_text().splitlines()
        v2 = next((x.split("::", 1)[1] for x in lines if x.startswith("0::")), "/")
        for path in (cgroup / v2.lstrip("/") / "cpu.max", cgroup / "cpu.max"):
            if path.is_file():
                quota, period = path.read_text().split()[:2]
                return None if quota == "max" else int(quota) / int(period)
        v1 = cgroup / "cpu"
        quota_us = int((v1 / "cpu.cfs_quota_us").read_text())
        return None if quota_us < 0 else quota_us / int((v1 / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError, IndexError):
        return None


BUSY_SAMPLE_S = 0.2  # how long a run's start watches the CPUs it will use


def busy_cpus(
    seconds: float = BUSY_SAMPLE_S, stat: Path = Path("/proc/stat"), cpus: set[int] | None = None
) -> float | None:
    """How many of the CPUs this process may use (its affinity mask, or `cpus`) were busy over
    the next `seconds`, from the kernel's per-CPU time counters (`/proc/stat`: busy = not idle
    and not waiting for I/O): 0 to the number of CPUs. None where there is no such file (not
    Linux). Unlike the load average, which trails by about a minute, it sees jobs that started
    a moment ago."""
    if cpus is None:
        try:
            cpus = os.sched_getaffinity(0)
        except AttributeError:
            return None
    before = _cpu_times(stat, cpus)
    if before is None:
        return None
    time.sleep(seconds)
    after = _cpu_times(stat, cpus)
    if after is None:
        return None
    busy = 0.0
    for cpu, (idle, total) in after.items():
        idle0, total0 = before.get(cpu, (idle, total))
        if total > total0:
            busy += 1 - (idle - idle0) / (total - total0)
    return busy


def _cpu_times(stat: Path, cpus: set[int]) -> dict[int, tuple[int, int]] | None:
    """{cpu: (idle + iowait jiffies, all jiffies)} of `cpus` from a /proc/stat text."""
    try:
        lines = stat.read_text().splitlines()
    except OSError:
        return None
    found = {}
    for line in lines:
        name, *fields = line.split()
        if name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in cpus:
            values = [int(v) for v in fields[:8]]
            found[int(name[3:])] = (values[3] + values[4], sum(values))
    return found or None


def busy_cores_line(
    threads: int, load: float | None = None, busy: float | None = None
) -> str | None:
    """One line when the cores a run is about to use are already busy, with the setting to use;
    else None. Busy: the 1-minute load average, before the run adds to it, is at least
    `threads`, or `busy_cpus` (sampled now) finds at least `threads` - 0.5 of them in use.
    Advice only: the thread count does not follow the load."""
    if threads < 2:
        return None
    if load is None:
        try:
            load = os.getloadavg()[0]
        except OSError:
            load = 0.0
    if busy is None and load < threads:
        busy = busy_cpus()
    if load < threads and (busy is None or busy < threads - 0.5):
        return None
    now = f", {busy:.1f} busy just now" if busy is not None else ""
    return (
        f"the {threads} CPU cores this run uses are already busy (load average {load:.1f}{now}): "
        "threads compete and training slows several times; with other jobs running give "
        "threads=1 (or run fewer jobs at once)"
    )
