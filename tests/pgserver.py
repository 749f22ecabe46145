"""A throwaway PostgreSQL server on 127.0.0.1 for tests and `make postgres` (stdlib only).

``python -m tests.pgserver [--port N]`` runs one in the foreground until Ctrl-C and prints its
URL. In tests, ``PostgresServer`` is a context manager: a fresh data directory in a temporary
folder, initdb and the server run as the ``postgres`` system user when we are root (initdb
refuses root), TCP on 127.0.0.1 only, the unix socket inside the data directory, durability
settings as on a real server, and a password for every role so that no other process on this
machine reaches it by mistake. The folder is removed on ``close()``, at exit, and by a guard
process when this one is killed.
"""

from __future__ import annotations

import argparse
import atexit
import glob
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Final, Self

PG_BINDIRS: Final = "/usr/lib/postgresql/*/bin"  # Debian keeps initdb and pg_ctl off PATH
SYSTEM_USER: Final = "postgres"  # runs initdb and the server when we are root
ADMIN: Final = "postgres"  # the superuser role, for the harness only
ROLE: Final = "descartes"  # the role tests and users connect as: LOGIN CREATEDB, no superuser
DATABASE: Final = "descartes"
TIMEOUT: Final = 60  # seconds for initdb, a start or a stop on a busy 2-core machine
LOG_TAIL: Final = 40  # lines of the server log in an error message

# Appended to postgresql.conf: later lines win. fsync and synchronous_commit stay on (the
# defaults, written out so nobody "speeds up" the tests): crash tests rely on durability.
SETTINGS: Final = """
# tests/pgserver.py: a throwaway server
listen_addresses = '127.0.0.1'
unix_socket_directories = '{socket_dir}'
fsync = on
synchronous_commit = on
full_page_writes = on
log_line_prefix = '%m [%p] %q%u@%d '
"""


class PostgresServerError(RuntimeError):
    """The server would not start, stop or answer; the message quotes its log."""


def find_bindir() -> Path | None:
    """The newest PostgreSQL's bin folder: Debian's /usr/lib/postgresql/N/bin, else PATH."""
    found = [Path(p) for p in glob.glob(PG_BINDIRS) if (Path(p) / "initdb").is_file()]
    found.sort(key=lambda p: [int(n) for n in re.findall(r"\d+", p.parent.name)])
    if found:
        return found[-1]
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def why_unavailable() -> str | None:
    """Why no throwaway server can start on this machine, or None when one can."""
    if find_bindir() is None:
        return f"no PostgreSQL here: no initdb in {PG_BINDIRS} or on PATH"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SYSTEM_USER)
        except KeyError:
            return f"running as root and there is no {SYSTEM_USER!r} system user to run initdb"
    return None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def as_owner(command: list[str]) -> list[str]:
    """The command run as the system user that owns the data (initdb and postgres refuse root)."""
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", SYSTEM_USER, "--", *command]


def clean_environment(**extra: str) -> dict[str, str]:
    """This process's environment without libpq's PG* variables, plus ``extra``."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    return {**kept, **extra}


def pg_ctl_stop(bindir: Path, data: Path, mode: str) -> subprocess.CompletedProcess[str]:
    """Run ``pg_ctl stop`` on ``data`` and wait until the server is gone."""
    command = [str(bindir / "pg_ctl"), "stop", "-D", str(data), "-m", mode, "-w"]
    return subprocess.run(
        as_owner([*command, "-t", str(TIMEOUT)]),
        cwd=data.parent,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT + 10,
        check=False,
    )


class PostgresServer:
    """One throwaway server: ``start()``, ``stop()``, ``restart()``, ``kill_backend(pid)``.

    The data directory is made on the first ``start()``; the port stays the same across
    restarts, so ``url`` stays valid. ``close()`` stops the server and removes everything.
    """

    def __init__(self, bindir: Path | None = None, *, port: int | None = None) -> None:
        found = bindir or find_bindir()
        if found is None:
            raise PostgresServerError(why_unavailable() or "no PostgreSQL binaries")
        self.bindir = found
        self.port = port or free_port()
        self._port_fixed = port is not None
        self._password = secrets.token_hex(16)
        self._admin_password = secrets.token_hex(16)
        self.folder: Path | None = None
        self._guard: subprocess.Popen[bytes] | None = None

    @property
    def data(self) -> Path:
        """The data directory (inside ``folder``)."""
        assert self.folder is not None, "not started"
        return self.folder / "data"

    @property
    def log(self) -> Path:
        """The server's log file."""
        assert self.folder is not None, "not started"
        return self.folder / "server.log"

    @property
    def guard_pid(self) -> int | None:
        """The process that cleans up if this one is killed (None before ``start()``)."""
        return self._guard.pid if self._guard else None

    @property
    def url(self) -> str:
        """The URL of the ``descartes`` database, as the ``descartes`` role."""
        return self.url_for(DATABASE)

    def url_for(self, database: str) -> str:
        """The URL of another database of this server, as the ``descartes`` role."""
        return f"postgresql://{ROLE}:{self._password}@127.0.0.1:{self.port}/{database}"

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def start(self) -> None:
        """Start the server (making it first, if new) and wait until it answers; no-op if up."""
        if self.folder is None:
            try:
                self._make()
                self._launch()
                self._create_role_and_database()
            except BaseException:
                self.close()  # nothing half-made is left behind; a next start() begins anew
                raise
        elif not self.is_running():
            self._launch()
            self.admin_sql("SELECT 1")  # a real connection, not only the pid file's word

    def stop(self, mode: str = "immediate") -> None:
        """Stop the server (``immediate``: as after a crash; ``fast``: clean shutdown)."""
        if self.folder is None or not self.is_running():
            return
        done = pg_ctl_stop(self.bindir, self.data, mode)
        if done.returncode != 0:
            raise self._error(f"pg_ctl stop -m {mode} failed: {done.stderr.strip()}")

    def restart(self, mode: str = "immediate") -> None:
        """Stop the server and start it again on the same port and data."""
        self.stop(mode)
        self.start()

    def is_running(self) -> bool:
        """Whether a postmaster is alive on the data directory (``pg_ctl status``)."""
        if self.folder is None:
            return False
        status = self._run_as_owner([str(self.bindir / "pg_ctl"), "status", "-D", str(self.data)])
        return status.returncode == 0

    def kill_backend(self, pid: int) -> None:
        """Terminate one server process (``pg_terminate_backend``) and wait until it is gone."""
        answer = self.admin_sql(f"SELECT pg_terminate_backend({int(pid)}, {TIMEOUT * 1000})")
        if answer != "t":  # not a backend of this server, or it did not end in time
            raise self._error(f"backend {pid!r} was not terminated (answer {answer!r})")

    def admin_sql(self, *statements: str) -> str:
        """Run statements as the superuser, each in its own transaction; the last one's rows."""
        command = [str(self.bindir / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"]
        command += ["-h", "127.0.0.1", "-p", str(self.port), "-U", ADMIN, "-d", "postgres"]
        for statement in statements:
            command += ["-c", statement]
        done = subprocess.run(
            command,
            env=clean_environment(PGPASSWORD=self._admin_password, PGCONNECT_TIMEOUT="10"),
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        if done.returncode != 0:
            raise self._error(f"psql failed on {statements!r}: {done.stderr.strip()}")
        return done.stdout.strip()

    def close(self) -> None:
        """Stop the server at once and remove its folder; safe to call twice."""
        atexit.unregister(self.close)
        if self.folder is None:
            return
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None
            self._release_guard()

    def _make(self) -> None:
        """A private folder owned by the system user, initdb in it, our settings appended."""
        self.folder = Path(tempfile.mkdtemp(prefix="descartes-pg-"))
        atexit.register(self.close)
        self._start_guard()
        password_file = self.folder / "admin-password"
        password_file.write_text(self._admin_password + "\n")
        if os.geteuid() == 0:
            owner = pwd.getpwnam(SYSTEM_USER)
            for path in (self.folder, password_file):
                os.chown(path, owner.pw_uid, owner.pw_gid)
        initdb = [str(self.bindir / "initdb"), "-D", str(self.data), "-U", ADMIN]
        initdb += ["--pwfile", str(password_file), "--auth-local=trust"]
        initdb += ["--auth-host=scram-sha-256", "-E", "UTF8", "--no-locale", "--no-instructions"]
        done = self._run_as_owner(initdb)
        password_file.unlink()
        if done.returncode != 0:
            raise PostgresServerError(f"initdb failed:\n{done.stdout}{done.stderr}")
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(SETTINGS.format(socket_dir=self.data))

    def _launch(self) -> None:
        """``pg_ctl start -w`` (the server says when it is ready); other ports if ours is taken."""
        for _attempt in range(3):
            command = [str(self.bindir / "pg_ctl"), "start", "-D", str(self.data), "-w"]
            command += ["-t", str(TIMEOUT), "-l", str(self.log), "-o", f"-p {self.port}"]
            done = self._run_as_owner(command)
            if done.returncode == 0:
                return
            if self._port_fixed or "could not bind" not in self._log_text():
                break
            self.port = free_port()  # taken between our probe and the server's bind
        raise self._error(f"pg_ctl start failed: {done.stdout.strip()} {done.stderr.strip()}")

    def _create_role_and_database(self) -> None:
        self.admin_sql(
            f"CREATE ROLE {ROLE} LOGIN CREATEDB PASSWORD '{self._password}'",
            f"CREATE DATABASE {DATABASE} OWNER {ROLE} TEMPLATE template0",
        )

    def _run_as_owner(self, command: list[str]) -> subprocess.CompletedProcess[str]:
        assert self.folder is not None
        return subprocess.run(
            as_owner(command),
            cwd=self.folder,  # the system user may not read our working directory
            env=clean_environment(),
            capture_output=True,
            text=True,
            timeout=TIMEOUT + 10,
            check=False,
        )

    def _log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def _error(self, message: str) -> PostgresServerError:
        tail = "\n".join(self._log_text().splitlines()[-LOG_TAIL:])
        return PostgresServerError(f"{message}\nserver log {self.log}:\n{tail}")

    def _start_guard(self) -> None:
        """A process that stops the server and removes the folder if this process dies."""
        assert self.folder is not None
        # -I: tests/ does not go on the guard's import path (its modules could shadow stdlib)
        command = [sys.executable, "-I", __file__, "--guard", str(self.folder), str(self.bindir)]
        self._guard = subprocess.Popen(  # its stdin closes when we exit, however we exit
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C in a terminal reaches us, not the guard
        )

    def _release_guard(self) -> None:
        if self._guard is None:
            return
        assert self._guard.stdin is not None
        self._guard.stdin.close()  # the guard finds nothing left and exits
        self._guard.wait(timeout=TIMEOUT)
        self._guard = None


def guard(folder: Path, bindir: Path) -> None:
    """Wait until the parent's end of stdin closes, then stop its server and remove it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.stdin.buffer.read()
    data = folder / "data"
    if (data / "postmaster.pid").exists():
        pg_ctl_stop(bindir, data, "immediate")
    shutil.rmtree(folder, ignore_errors=True)


def serve(port: int | None) -> None:
    """Run a server in the foreground until Ctrl-C or SIGTERM, printing how to use it."""
    # Ctrl-C and SIGTERM stop it and clean up, whatever this process inherited: a shell
    # without job control starts background jobs with SIGINT ignored, and Python keeps that.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with PostgresServer(port=port) as server:
        print(f"PostgreSQL ({server.bindir}) is up, data in {server.folder}", flush=True)
        print(f"URL: {server.url}", flush=True)
        print(f"  psql '{server.url}'", flush=True)
        print(f"  export DESCARTES_NB_PG_URL='{server.url}'  # tests use it", flush=True)
        print("Ctrl-C stops it and removes its data.", flush=True)
        try:
            while True:
                signal.pause()
        except KeyboardInterrupt:
            pass
    print("stopped, data removed", flush=True)


def main(argv: list[str] | None = None) -> None:
    """``python -m tests.pgserver``: a throwaway server in the foreground."""
    parser = argparse.ArgumentParser(prog="python -m tests.pgserver", description=__doc__)
    parser.add_argument("--port", type=int, help="TCP port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--guard", nargs=2, metavar=("FOLDER", "BINDIR"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.guard:
        guard(Path(args.guard[0]), Path(args.guard[1]))
        return
    reason = why_unavailable()
    if reason:
        parser.exit(1, f"error: {reason}\n")
    serve(args.port)


if __name__ == "__main__":
    main()
