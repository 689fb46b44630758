"""A background writer: picture work (PNG encoding, figures, TensorBoard images, files) done in
one thread beside training, so probes do not stall the training device.

Jobs run one at a time, in the order given, on a bounded queue (a slow disk slows training
down instead of filling memory). The first error a job raises is raised again in the caller's
thread at the next submit or flush, so a full disk still ends the run with its message.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

QUEUE_SIZE = 4  # probes' picture jobs waiting at most


class BackgroundWriter:
    """Runs submitted jobs in one worker thread; `enabled=False` runs them at once instead."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._jobs: queue.Queue[tuple[Callable[..., Any], tuple[Any, ...]] | None] = queue.Queue(
            QUEUE_SIZE
        )
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        if enabled:
            self._thread = threading.Thread(target=self._work, name="picture-writer", daemon=True)
            self._thread.start()

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                if job is None:
                    return
                if self._error is None:  # after a failure, later jobs are dropped
                    fn, args = job
                    fn(*args)
            except BaseException as err:  # handed to the training thread, not printed here
                self._error = err
            finally:
                self._jobs.task_done()

    def _raise_error(self) -> None:
        if self._error is not None:
            err, self._error = self._error, None
            raise err

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run fn(*args) in the worker (or now, when disabled)."""
        if not self.enabled:
            fn(*args)
            return
        self._raise_error()
        self._jobs.put((fn, args))

    def flush(self) -> None:
        """Wait until every submitted job is done (at a checkpoint, on interrupt, at the end)."""
        if self.enabled:
            self._jobs.join()
            self._raise_error()

    def close(self) -> None:
        """Finish every job, stop the worker, and raise the first error a job raised."""
        if self._thread is not None and self._thread.is_alive():
            self._jobs.put(None)
            self._thread.join()
        self._raise_error()
