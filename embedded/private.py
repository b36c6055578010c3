"""Folders and files under STOCKSYNC_HOME that only their owner can read.

The home holds the embedded database, Redis's append-only file (queued messages and
OAuth access tokens), the Redis password and the dev encryption key. Each folder is
created 0700 and each file 0600 by the call that creates it: a file created with the
default mode and narrowed afterwards can be opened by anyone in between, and a
descriptor opened then keeps its access after the chmod.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: The umask of whatever we let create files under the home (the embedded servers,
#: the stack's processes): nothing for group or other.
PRIVATE_UMASK = 0o077


def private_dir(path: Path) -> Path:
    """Create `path`, and each missing folder above it, as 0700; return it. A folder
    that already exists is left as it is (it may be shared, like /tmp)."""
    for folder in reversed([path, *path.parents]):
        if folder.exists():
            continue
        try:
            os.mkdir(folder, 0o700)
        except FileExistsError:
            # Another process starting the stack made it a moment ago: as private.
            pass
    return path


def create_private(path: Path, text: str) -> bool:
    """Write `text` to `path` if no such file exists, 0600 from its creation (O_EXCL,
    so an existing file, or a link planted in its place, is never written through).
    True if this call created it."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    return True


def write_private(path: Path, text: str) -> None:
    """Replace `path` with a file holding `text`, 0600 from its creation: written
    beside it under a name of its own, then renamed over it, so a reader sees the old
    content or the new, never a part."""
    staging = path.with_name(f".{path.name}.{os.getpid()}")
    staging.unlink(missing_ok=True)
    create_private(staging, text)
    os.replace(staging, path)


def open_private(path: Path) -> int:
    """A read-write descriptor on `path`, created 0600 if missing (a lock file)."""
    return os.open(path, os.O_RDWR | os.O_CREAT, 0o600)


@contextmanager
def private_umask() -> Iterator[None]:
    """Run code that creates files we do not open ourselves (pgserver's) with
    `PRIVATE_UMASK`. The umask is the whole process's: another thread creating a file
    meanwhile gets it too, which can only make that file more private."""
    previous = os.umask(PRIVATE_UMASK)
    try:
        yield
    finally:
        os.umask(previous)
