"""A throwaway PostgreSQL cluster on 127.0.0.1 for tests and benchmarks; a context manager.

    with PostgresCluster() as pg:
        settings = replace(settings, database_url=pg.url)

It runs the server binaries of the machine (`KB_TEST_PG_BIN`, else the newest /usr/lib/postgresql/*/bin), with
trust authentication, the socket and data in a fresh temporary folder, and a free port. initdb refuses root, so
as root the cluster runs as an unprivileged user (`KB_TEST_PG_USER`, default `nobody`) that owns that folder.
`stop()` always ends the server (`pg_ctl stop -m immediate`) and removes the folder.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

SUPERUSER = "kb"
DATABASE = "kb"


def find_bin() -> Path | None:
    """The folder holding initdb and pg_ctl, or None when PostgreSQL's server binaries are not installed."""
    candidates = [os.environ.get("KB_TEST_PG_BIN", "")] + sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    return next((Path(c) for c in candidates if c and (Path(c) / "initdb").exists()), None)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresCluster:
    """initdb + pg_ctl start on 127.0.0.1:<free port>, then CREATE DATABASE kb; `url` is its SQLAlchemy URL."""

    def __init__(self, bin_dir: Path | None = None, user: str | None = None):
        self.bin = bin_dir or find_bin()
        if self.bin is None:
            raise FileNotFoundError("PostgreSQL server binaries not found (set KB_TEST_PG_BIN)")
        self.os_user = (user or os.environ.get("KB_TEST_PG_USER") or "nobody") if os.geteuid() == 0 else None
        self.port = _free_port()
        self.root: Path | None = None

    @property
    def url(self) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{DATABASE}"

    def start(self) -> PostgresCluster:
        self.root = Path(tempfile.mkdtemp(prefix="kb-pg-"))
        if self.os_user:
            entry = pwd.getpwnam(self.os_user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        data, log = self.root / "data", self.root / "server.log"
        try:
            self._as_owner("initdb", "-D", data, "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--no-sync")
            options = f"-k {self.root} -h 127.0.0.1 -p {self.port} -c fsync=off -c full_page_writes=off"
            self._as_owner("pg_ctl", "-D", data, "-l", log, "-w", "-t", "60", "-o", options, "start")
            self._create_database()
        except Exception:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.root is None:
            return
        if (self.root / "data" / "postmaster.pid").exists():
            self._as_owner("pg_ctl", "-D", self.root / "data", "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None

    def __enter__(self) -> PostgresCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _as_owner(self, program: str, *args, check: bool = True) -> subprocess.CompletedProcess:
        command = [str(self.bin / program), *map(str, args)]
        if self.os_user:
            command = ["runuser", "-u", self.os_user, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=self.root)
        if check and result.returncode != 0:
            raise RuntimeError(f"{program} failed ({result.returncode}): {result.stderr or result.stdout}")
        return result

    def _create_database(self) -> None:
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=SUPERUSER, dbname="postgres", autocommit=True
        ) as connection:
            connection.execute(f"CREATE DATABASE {DATABASE}")
