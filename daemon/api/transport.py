"""The API socket: created owner-only, stale ones replaced, peers of another uid refused.

The socket is bound under a umask of 0o077 inside a 0700 folder, so there is no
moment at which another user could connect; it is then chmod-ed to 0600 for
clarity. Every accepted connection's peer uid is checked (SO_PEERCRED on Linux,
getpeereid on macOS) before a byte of HTTP is read.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import socket
import stat
import struct
import sys
from pathlib import Path

from ..errors import SocketError, SocketInUse

log = logging.getLogger(__name__)

# sun_path is 108 bytes on Linux and 104 on macOS, including the terminating NUL
MAX_SOCKET_PATH = 103 if sys.platform == "darwin" else 107


def _ensure_private_dir(folder: Path) -> None:
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    st = folder.stat()
    if st.st_uid != os.getuid():
        raise SocketError(f"{folder} belongs to another user; refusing to put the API socket there")
    if stat.S_IMODE(st.st_mode) != 0o700:
        os.chmod(folder, 0o700)


def _is_live(path: Path) -> bool:
    """True if something accepts connections on the socket at `path`."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(1.0)
    try:
        probe.connect(str(path))
        return True
    except OSError:
        return False
    finally:
        probe.close()


def bind_unix_socket(path: Path) -> socket.socket:
    """A listening socket at `path`, owner-only; a stale socket from a crashed daemon is replaced."""
    if len(os.fsencode(str(path))) > MAX_SOCKET_PATH:
        raise SocketError(
            f"the socket path {path} is {len(os.fsencode(str(path)))} bytes, over the OS limit of "
            f"{MAX_SOCKET_PATH}; set `socket` in the config (or PHOTOSIFT_RUNTIME_DIR) to a shorter path"
        )
    _ensure_private_dir(path.parent)
    if path.exists() or path.is_symlink():
        if not stat.S_ISSOCK(path.lstat().st_mode):
            raise SocketError(f"{path} exists and is not a socket; refusing to replace it")
        if _is_live(path):
            raise SocketInUse(f"another process is already serving on {path} (another photosift daemon, "
                              "perhaps with another data dir; stop it or set `socket` to another path)")
        log.info("replacing a stale socket at %s", path)
        path.unlink()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o077)
    try:
        sock.bind(str(path))
    except OSError as exc:
        sock.close()
        raise SocketError(f"cannot create the API socket at {path}: {exc.strerror}") from exc
    finally:
        os.umask(old_umask)
    os.chmod(path, 0o600)
    sock.listen(128)
    sock.setblocking(False)
    return sock


def peer_uid(sock: socket.socket) -> int | None:
    """The uid of the process at the other end of a Unix socket, where the OS tells it."""
    if hasattr(socket, "SO_PEERCRED"):  # Linux
        creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        _pid, uid, _gid = struct.unpack("3i", creds)
        return uid
    if hasattr(os, "getpeereid"):  # pragma: no cover - BSD and macOS
        return os.getpeereid(sock.fileno())[0]
    return None  # pragma: no cover


def remove_socket(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def is_socket_missing(exc: OSError) -> bool:
    """A connection error that means no daemon is listening."""
    return exc.errno in (errno.ENOENT, errno.ECONNREFUSED)
