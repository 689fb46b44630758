"""The background writer: jobs in order, errors handed to the caller, flush and close."""

from __future__ import annotations

import threading

import pytest

from checkerboard_gan.rundir.background import BackgroundWriter


def test_jobs_run_in_order_in_another_thread_and_flush_waits_for_them():
    done: list[tuple[int, str]] = []
    writer = BackgroundWriter()
    for i in range(20):
        writer.submit(lambda i=i: done.append((i, threading.current_thread().name)))
    writer.flush()
    assert [i for i, _ in done] == list(range(20))
    assert {name for _, name in done} == {"picture-writer"}
    writer.close()


def test_a_failed_job_is_raised_in_the_caller_and_later_jobs_are_dropped():
    done: list[int] = []
    writer = BackgroundWriter()
    writer.submit(lambda: done.append(1))
    writer.submit(lambda: (_ for _ in ()).throw(OSError(28, "No space left on device")))
    writer.submit(lambda: done.append(3))
    with pytest.raises(OSError, match="No space left"):
        writer.flush()
    assert done == [1]
    writer.close()  # the error was handed over once; closing is clean


def test_close_finishes_pending_jobs_and_disabled_runs_them_at_once():
    done: list[int] = []
    writer = BackgroundWriter()
    for i in range(5):
        writer.submit(done.append, i)
    writer.close()
    assert done == [0, 1, 2, 3, 4]
    now = BackgroundWriter(enabled=False)
    now.submit(done.append, 5)
    assert done[-1] == 5
    now.close()
