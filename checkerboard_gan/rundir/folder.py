"""A run folder's file safety: the lock that keeps one process per folder, writes that never
leave half a file, and write failures that name their file. Free of torch (for the CLI)."""

from __future__ import annotations

import errno
import fcntl
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK = ".lock"
UMASK = os.umask(0o022)
os.umask(UMASK)


class FolderInUse(ValueError):
    """Another live process holds the run folder; nothing of its files may be touched."""


@contextmanager
def run_lock(run_dir: Path) -> Iterator[None]:
    """Hold `run_dir/.lock` (an exclusive flock with our PID in it) while a run writes there.

    The kernel releases a flock when its process dies, so a lock file left by a killed run
    never blocks a resume; a live holder makes this raise FolderInUse at once.
    """
    path = Path(run_dir) / LOCK
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _in_use(run_dir, fd) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)


def _in_use(run_dir: Path, fd: int) -> FolderInUse:
    holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
    return FolderInUse(
        f"run folder {run_dir} is in use by process {holder}; wait for it, stop it, or choose "
        "another folder (hydra.run.dir=...)"
    )


def ensure_free(run_dir: Path) -> None:
    """Raise FolderInUse if a live process holds `run_dir/.lock`, without taking the lock or
    creating the file (so a run refused for another reason later has written nothing)."""
    path = Path(run_dir) / LOCK
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        raise _in_use(run_dir, fd) from None
    finally:
        os.close(fd)


class WriteFailed(OSError):
    """A file of the run could not be written (disk full, read-only, quota); names the file."""

    def __str__(self) -> str:
        return f"cannot write {self.filename}: {(self.strerror or '').lower()}"


# errnos of a file system that refuses writes: full, over quota, read-only, too large, no access
WRITE_ERRNOS = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG, errno.EACCES, errno.EPERM, errno.EIO}
)


def write_failure(err: BaseException, fallback: Path) -> WriteFailed | None:
    """`err` as a WriteFailed naming its file (else `fallback`) if it is a refused write."""
    if isinstance(err, WriteFailed):
        return err
    if isinstance(err, OSError) and err.errno in WRITE_ERRNOS:
        return named_failure(err, fallback)
    return None


def named_failure(err: OSError, path: Path) -> WriteFailed:
    return WriteFailed(err.errno, err.strerror or str(err), str(err.filename or path))


def write_bytes(path: Path, data: bytes) -> None:
    """Write a file; a failure names the file (a full disk's write error carries no name)."""
    try:
        Path(path).write_bytes(data)
    except OSError as err:
        raise named_failure(err, path) from err


def holder_alive(run_dir: Path) -> bool | None:
    """Whether the process named in `run_dir/.lock` still runs; None without a lock file.

    Reads the PID instead of taking the lock, so that looking never stands in a run's way.
    """
    try:
        pid = int((Path(run_dir) / LOCK).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write via a temporary file in the same folder, fsync, rename: never half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~UMASK)  # mkstemp makes 0600; give the file the usual mode
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        raise named_failure(err, path) from err
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def check_writable(folder: Path) -> None:
    """Make `folder` (and its parents) and write a temporary file in it; raises OSError where
    either fails (a read-only mount, no permission, no space)."""
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder, prefix=".write_test"):
        pass
