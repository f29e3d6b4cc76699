"""A throw-away PostgreSQL server for the test session (initdb + pg_ctl in a temp dir).

The server refuses to run as root, so under root it runs as the ``postgres``
system user (created when missing). It listens on 127.0.0.1 on a free port
and on a unix socket in its own directory, with trust authentication, and is
stopped (``pg_ctl stop -m immediate``) and deleted at the end of the session.
``fsync`` is off for the tests (they check isolation and atomicity, not power
loss, and the server is thrown away anyway) and on for the benchmarks.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

UNPRIVILEGED = "postgres"


def find_bindir() -> Path | None:
    """Directory holding ``initdb`` and ``pg_ctl`` (15 or newer preferred), or None."""
    candidates: list[str] = []
    if os.environ.get("CV_PG_BINDIR"):
        candidates.append(os.environ["CV_PG_BINDIR"])
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        if out.returncode == 0:
            candidates.append(out.stdout.strip())
    candidates.extend(
        sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))[::-1]
    )
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(str(Path(initdb).parent))
    for c in candidates:
        if (Path(c) / "initdb").exists() and (Path(c) / "pg_ctl").exists():
            return Path(c)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ensure_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(UNPRIVILEGED)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                UNPRIVILEGED,
            ],
            check=True,
            capture_output=True,
        )
        return pwd.getpwnam(UNPRIVILEGED)


@dataclass
class Server:
    """A running server: ``conninfo`` for psycopg, ``stop()`` to end it."""

    bindir: Path
    root: Path
    port: int
    user: str | None
    durable: bool = False

    @property
    def conninfo(self) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"

    def _run(self, args: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            args,
            check=check,
            capture_output=True,
            text=True,
            user=self.user,
            timeout=120,
        )

    def start(self) -> None:
        data = self.root / "data"
        self._run(
            [
                str(self.bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ]
        )
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} "
            f"-c unix_socket_directories={self.root} "
            "-c max_connections=60 -c max_locks_per_transaction=256"
        )
        if not self.durable:
            options += " -c fsync=off -c full_page_writes=off"
        self._run(
            [
                str(self.bindir / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                str(self.root / "server.log"),
                "-w",
                "-t",
                "60",
                "start",
            ]
        )

    def stop(self) -> None:
        self._run(
            [str(self.bindir / "pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate", "stop"],
            check=False,
        )
        shutil.rmtree(self.root, ignore_errors=True)


def start_server(*, durable: bool = False) -> tuple[Server | None, str]:
    """Start a server; return it, or None and the reason it cannot be had.

    ``durable`` keeps PostgreSQL's default ``fsync=on`` (benchmarks); the tests
    run without it.
    """
    bindir = find_bindir()
    if bindir is None:
        return None, (
            "no PostgreSQL server binaries (initdb, pg_ctl) found via CV_PG_BINDIR, pg_config "
            "or /usr/lib/postgresql/*/bin; install the Debian package 'postgresql'"
        )
    user: str | None = None
    root = Path(tempfile.mkdtemp(prefix="cv-pg-"))
    if os.geteuid() == 0:
        try:
            account = _ensure_user()
        except (OSError, subprocess.CalledProcessError) as exc:
            return None, f"running as root and no unprivileged user for PostgreSQL: {exc}"
        os.chown(root, account.pw_uid, account.pw_gid)
        user = account.pw_name
    root.chmod(0o700)
    server = Server(bindir, root, _free_port(), user, durable)
    try:
        server.start()
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", "") or ""
        log = root / "server.log"
        if log.exists():
            detail += log.read_text(errors="replace")[-2000:]
        server.stop()
        return None, f"PostgreSQL server in {root} did not start: {exc} {detail}"
    return server, ""
