"""``algogrid run`` as a real subprocess for end-to-end tests: its JSON log lines and the one-time links
it prints (the first admin's, and every mail the simulation's ``LogMailSender`` prints instead of sending)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections import deque
from pathlib import Path
from typing import Any

__all__ = ["ROOT", "RunningSystem", "first_admin_link", "mailed_link"]

ROOT = Path(__file__).resolve().parents[2]


class RunningSystem:
    """An ``algogrid run`` subprocess; its JSON stdout lines are collected by a reader thread."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "algogrid.cli", "run", *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[dict[str, Any]] = []
        self.stderr_tail: deque[str] = deque(maxlen=200)  # drained: a chatty stderr never blocks the process
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._err_reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._err_reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            try:
                self.lines.append(json.loads(raw))
            except ValueError:
                self.lines.append({"event": "<not json>", "raw": raw})

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            self.stderr_tail.append(raw)

    def line(self, event: str) -> dict[str, Any] | None:
        """Return the first log line with ``event``, or None (also fails fast if the process died)."""
        for line in list(self.lines):
            if line.get("event") == event:
                return line
        if self.proc.poll() is not None:
            self._err_reader.join(timeout=5)
            stderr = "".join(self.stderr_tail)
            raise AssertionError(f"algogrid exited {self.proc.returncode} before {event!r}: {stderr[-2000:]}")
        return None

    def stop(self, signum: int, timeout: float = 45.0) -> int:
        """Send ``signum`` and return the exit code once stdout is drained."""
        self.proc.send_signal(signum)
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=10)
        return code

    def close(self) -> None:
        """Kill the process if it still runs, then close its pipes (no file is left to the collector)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(timeout=10)
        self._err_reader.join(timeout=10)
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()


def first_admin_link(system: RunningSystem) -> str | None:
    for line in list(system.lines):
        raw = str(line.get("raw", ""))
        if raw.startswith("First admin"):
            return raw.split(" activate at ", 1)[1].split(" ", 1)[0]
    return None


def mailed_link(system: RunningSystem, to: str, subject: str) -> str | None:
    """Return the last link mailed to ``to`` with ``subject`` (printed on stdout in simulation), or None."""
    prefix = f"[mail to {to}] {subject}: "
    found = None
    for line in list(system.lines):
        raw = str(line.get("raw", "")).strip()
        if raw.startswith(prefix):
            found = raw.removeprefix(prefix)
    return found
