"""Which device a run uses, how many CPU threads it takes, and the options whose null means
"on for CUDA"."""

from __future__ import annotations

import math
import os
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


def busy_cores_line(threads: int, load: float | None = None) -> str | None:
    """One line when the cores a run is about to use are already busy (the 1-minute load
    average, before the run adds to it, at least `threads`), with the setting to use; else
    None. Advice only: the thread count does not follow the load."""
    if load is None:
        try:
            load = os.getloadavg()[0]
        except OSError:
            return None
    if threads < 2 or load < threads:
        return None
    return (
        f"the {threads} CPU cores this run uses are already busy (load average {load:.1f}): "
        "threads compete and training slows several times; with other jobs running give "
        "threads=1 (or run fewer jobs at once)"
    )
