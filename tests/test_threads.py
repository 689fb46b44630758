"""A run's CPU threads come from what the machine grants (affinity, a cgroup CPU quota), never
from a momentary load; busy cores at start are said in one line with the setting to use."""

from __future__ import annotations

import os

import pytest

from checkerboard_gan.devices import busy_cores_line, busy_cpus, granted_cpus, run_threads
from checkerboard_gan.training.run import train

from .conftest import TINY, compose_config, read_metrics, run_module


def cgroup_tree(tmp_path, files: dict[str, str], own: str = "0::/job\n"):
    root = tmp_path / "cgroup"
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    (tmp_path / "self").write_text(own)
    return root, tmp_path / "self"


AFFINITY = len(os.sched_getaffinity(0))


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"job/cpu.max": "100000 100000\n"}, 1),  # a 1-CPU container
        ({"job/cpu.max": "150000 100000\n"}, min(2, AFFINITY)),  # 1.5 CPUs round up
        ({"job/cpu.max": "max 100000\n"}, AFFINITY),  # no quota
        ({"cpu.max": "50000 100000\n"}, 1),  # the quota at the root of the hierarchy
        ({"cpu/cpu.cfs_quota_us": "100000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 1),  # v1
        ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, AFFINITY),
        ({}, AFFINITY),  # nothing readable: the affinity mask
        ({"job/cpu.max": "800000 100000\n"}, AFFINITY),  # a quota above the cores it may use
    ],
)
def test_threads_follow_the_cpu_quota_and_affinity(tmp_path, files, expected):
    root, own = cgroup_tree(tmp_path, files)
    assert granted_cpus(root, own) == expected


def test_busy_cores_are_said_with_the_setting_to_use():
    line = busy_cores_line(2, load=3.4)
    assert line.startswith("the 2 CPU cores this run uses are already busy (load average 3.4")
    assert "threads=1" in line
    assert busy_cores_line(2, load=1.2, busy=0.9) is None  # a core free: no word
    assert busy_cores_line(1, load=9.0) is None  # one thread already
    # jobs started a moment ago: the load average still trails, the sampled CPUs do not
    line = busy_cores_line(2, load=0.4, busy=1.9)
    assert line.startswith(
        "the 2 CPU cores this run uses are already busy (load average 0.4, 1.9 busy just now)"
    )


def stat_text(per_cpu: list[list[int]]) -> str:
    """A /proc/stat: user nice system idle iowait irq softirq steal per CPU."""
    rows = [[sum(c) for c in zip(*per_cpu, strict=True)], *per_cpu]
    names = ["cpu", *(f"cpu{i}" for i in range(len(per_cpu)))]
    return "".join(f"{n} {' '.join(map(str, r))} 0 0\n" for n, r in zip(names, rows, strict=True))


def test_busy_cpus_reads_the_kernels_counters_over_the_sample(tmp_path, monkeypatch):
    # Over the sample CPU 0 ran 18 of 20 jiffies (busy 0.9), CPU 1 idled or waited on I/O for
    # all 20 (busy 0), CPU 2 ran all 20 but is not ours: 0.9 of our 2 CPUs busy.
    stat = tmp_path / "stat"
    snapshots = iter(
        [
            stat_text([[100, 0, 50, 500, 5, 0, 0, 0]] * 3),
            stat_text(
                [
                    [115, 0, 53, 501, 6, 0, 0, 0],
                    [100, 0, 50, 515, 10, 0, 0, 0],
                    [120, 0, 50, 500, 5, 0, 0, 0],
                ]
            ),
        ]
    )
    stat.write_text(next(snapshots))
    monkeypatch.setattr(
        "checkerboard_gan.devices.time.sleep", lambda s: stat.write_text(next(snapshots))
    )
    assert busy_cpus(0.2, stat, cpus={0, 1}) == pytest.approx(0.9)
    assert busy_cpus(0.2, tmp_path / "none", cpus={0}) is None


def test_threads_given_then_the_launchers_omp_num_threads_then_the_granted_cpus():
    assert run_threads(3, {"OMP_NUM_THREADS": "1"}) == 3
    assert run_threads(None, {"OMP_NUM_THREADS": "1"}) == 1
    assert run_threads(None, {"OMP_NUM_THREADS": " 5 "}) == 5
    for ignored in ("", "0", "x"):
        assert run_threads(None, {"OMP_NUM_THREADS": ignored}) == granted_cpus()
    assert run_threads(None, {}) == granted_cpus()


def test_a_run_under_omp_num_threads_takes_that_count_and_does_not_warn(tmp_path):
    """The report's `--jobs N` gives each study cores/N threads through OMP_NUM_THREADS."""
    args = [*TINY, "train.steps=1", f"hydra.run.dir={tmp_path}"]
    done = run_module("checkerboard_gan", *args, env={"OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert read_metrics(tmp_path)["torch_threads"] == 1
    assert "already busy" not in done.stdout + done.stderr


def test_a_run_without_threads_takes_the_granted_count(tmp_path, monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    metrics = train(compose_config("train.steps=1", "log.every=1"), tmp_path)
    assert metrics["torch_threads"] == granted_cpus() == read_metrics(tmp_path)["torch_threads"]
