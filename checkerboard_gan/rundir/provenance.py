"""Where a result came from: the package's location and source revision, the library versions
and the device. Every run records it in metrics.json and every report on its first page, so a
number can be traced to the code and machine that made it."""

from __future__ import annotations

import os
import platform
import re
import subprocess
from importlib import metadata
from pathlib import Path

import torch

from checkerboard_gan.devices import resolve_device

PACKAGE = Path(__file__).resolve().parent.parent
ROOT = PACKAGE.parent  # the checkout the package runs from (or site-packages when installed)


def revision() -> str:
    """The git commit of the package's checkout, and whether tracked files have local changes."""
    git = ["git", "-C", str(ROOT)]
    try:
        head = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        )
        dirty = subprocess.run(
            [*git, "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True
        )
    except OSError:
        return "unknown (no git)"
    if head.returncode != 0:
        return "not a git checkout"
    return head.stdout.strip() + " with local changes" * bool(dirty.stdout.strip())


def environment(device: str | torch.device | None) -> dict[str, str]:
    """Python and library versions, the platform, the device (with the CPU's model, cores and
    torch threads on a CPU), where the package was imported from and its source revision."""
    import hydra
    import matplotlib
    import numpy
    import omegaconf
    import torchvision

    dev = device if isinstance(device, torch.device) else resolve_device(device or "auto")
    where = f"cuda: {torch.cuda.get_device_name(dev)}" if dev.type == "cuda" else dev.type
    if dev.type == "cpu":
        info = Path("/proc/cpuinfo")
        names = re.findall(r"model name\s*:\s*(.+)", info.read_text()) if info.is_file() else []
        cpu = names[0].strip() if names else platform.processor() or platform.machine()
        where += f": {cpu}, {os.cpu_count()} logical cores, {torch.get_num_threads()} torch threads"
    versions = {
        m.__name__.replace("hydra", "hydra-core"): m.__version__
        for m in (torch, torchvision, hydra, omegaconf, numpy, matplotlib)
    }
    try:
        own = metadata.version("checkerboard_gan")
    except metadata.PackageNotFoundError:
        own = "not installed"
    return {
        "checkerboard_gan": own,
        "python": platform.python_version(),
        **versions,
        "platform": platform.platform(),
        "device": where,
        "package": str(PACKAGE),
        "source": revision(),
    }
