"""A throwaway PostgreSQL server for the tests: initdb in a temporary directory, 127.0.0.1 only.

`PgServer.start()` finds initdb/pg_ctl (PATH, then /usr/lib/postgresql/*/bin, or $PG_BINDIR),
runs the cluster as the `postgres` OS user when the tests run as root, listens on a free port on
127.0.0.1 (its unix socket stays in the temporary directory) and `stop()` shuts it down.
`fresh_database()` returns the URL of a new, empty database. No binaries: `find_bin()` is None —
the fixture skips locally but fails when CI=true (the Makefile's test target installs them).
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from bot.storage.migrations import migrate
from bot.storage.pg import connect, migrate_locked


def find_bin() -> Path | None:
    """The directory holding initdb and pg_ctl, or None."""
    candidates = [os.environ.get("PG_BINDIR", "")]
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(str(Path(initdb).resolve().parent))
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for folder in filter(None, candidates):
        if (Path(folder) / "initdb").is_file() and (Path(folder) / "pg_ctl").is_file():
            return Path(folder)
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PgServer:
    """One cluster for a test session."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="qcbot-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self._as_root = hasattr(os, "geteuid") and os.geteuid() == 0
        self._names = itertools.count(1)
        self._migrated: str | None = None

    @property
    def url(self) -> str:
        """The URL of the maintenance database."""
        return self.url_of("postgres")

    def url_of(self, database: str) -> str:
        """The URL of one database of this server."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if self._as_root:  # initdb refuses root: the cluster belongs to the postgres user
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode:
            raise RuntimeError(f"{args[0]} failed: {done.stderr.strip()[-800:]}")

    def start(self) -> PgServer:
        """initdb, then start on 127.0.0.1:<port> (no fsync: the cluster is thrown away)."""
        if self._as_root:
            shutil.chown(self.root, user="postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                  "--locale=C.UTF-8", "--no-sync")
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off"
                   " -c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "log"),
                  "-w", "-t", "60", "start")
        return self

    def fresh_database(self) -> str:
        """Create an empty database; its URL."""
        name = f"t{os.getpid()}_{next(self._names)}"
        with connect(self.url) as conn:
            conn.execute(f'create database "{name}"')
        return self.url_of(name)

    def migrated_database(self) -> str:
        """The session's migrated database, every table emptied (cheaper than a database per test)."""
        if self._migrated is None:
            self._migrated = self.fresh_database()
            migrate_locked(self._migrated, migrate)
        with connect(self._migrated) as conn:
            tables = [r[0] for r in conn.execute(
                "select quote_ident(tablename) from pg_tables where schemaname = 'public'"
                " and tablename <> '_sqlite_migrations'")]
            conn.execute(f"truncate {', '.join(tables)} restart identity")
        return self._migrated

    def stop(self) -> None:
        """Stop the server and delete the cluster."""
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

