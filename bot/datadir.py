"""The data folder holds what the bot keeps on disk (the SQLite database, the webhook secret, the
sandbox's chats): readable by the bot's own account only, folders 0700 and files 0600, whatever
the umask of the shell that started it."""

import os
from pathlib import Path

PRIVATE_DIR, PRIVATE_FILE = 0o700, 0o600


def private_dir(path: Path) -> Path:
    """Create `path` (and its parents) if missing; the folder itself is 0700."""
    if not path.exists():
        path.mkdir(mode=PRIVATE_DIR, parents=True)
        os.chmod(path, PRIVATE_DIR)  # mkdir's mode passes through the umask
    return path


def create_private(path: Path) -> None:
    """Create an empty 0600 file unless it exists (SQLite then keeps it, and gives its -wal and
    -shm files the same mode)."""
    private_dir(path.parent)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, PRIVATE_FILE))


def write_private(path: Path, content: bytes) -> None:
    """Replace `path` with `content` atomically (a crash leaves the old file), mode 0600."""
    private_dir(path.parent)
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, PRIVATE_FILE)
    with os.fdopen(descriptor, "wb") as out:
        os.fchmod(out.fileno(), PRIVATE_FILE)  # a temporary left by an older version may be 0644
        out.write(content)
    temporary.replace(path)
