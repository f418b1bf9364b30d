"""Run a command against a throwaway PostgreSQL cluster.

Usage (from the repository root)::

    python tests/postgres.py run -- python -m pytest -q
    python tests/postgres.py available

``run`` creates a new cluster in a temporary directory (``initdb``), starts it
(``pg_ctl``) on a Unix socket in that directory and on ``127.0.0.1`` at a free
port, creates an empty database, and runs the command with these variables
set::

    WPS_TEST_DATABASE=postgresql   (read by tests/settings.py)
    PGHOST=127.0.0.1  PGPORT=<port>  PGUSER=postgres  PGDATABASE=wagtail_plugin_system

(and ``PGPASSWORD`` unset: the cluster trusts local connections).

Afterwards, whatever happened (the command failed, Ctrl-C, SIGTERM), the
cluster is stopped and its directory deleted. The exit status is the
command's own (``128 + N`` when it was killed by signal N).

The cluster trades durability for speed (``fsync``, ``synchronous_commit`` and
``full_page_writes`` are off) and trusts every local connection: it is for
tests only.

``available`` exits with status 0 when a cluster can be started here, and
otherwise prints why not and exits with status 1; the Makefile uses it to
decide whether to skip the PostgreSQL run.

Where the server binaries are looked for, first match wins:

1. ``$PG_BINDIR``;
2. ``pg_config --bindir``;
3. the newest ``/usr/lib/postgresql/<version>/bin`` (Debian and Ubuntu);
4. the directory of ``pg_ctl`` on ``PATH``.

PostgreSQL refuses to run as root. When this script runs as root, the server
runs as the ``postgres`` system user (another one with ``$WPS_POSTGRES_OS_USER``),
which must exist already: the script never creates users.

To use a server you already have instead, set ``WPS_EXTERNAL_POSTGRES=1`` and
the ``PG*`` variables: ``run`` then starts nothing and only adds
``WPS_TEST_DATABASE=postgresql``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

#: Name of the superuser created in the cluster and of the empty database.
DB_USER = "postgres"
DB_NAME = "wagtail_plugin_system"

#: The server programs a cluster needs.
REQUIRED_PROGRAMS = ("initdb", "pg_ctl", "postgres")

#: Seconds to wait for the server to start or stop.
START_TIMEOUT = 60
STOP_TIMEOUT = 30

#: Settings that make a disposable cluster fast; never use them for real data.
SERVER_OPTIONS = (
    "fsync=off",
    "synchronous_commit=off",
    "full_page_writes=off",
    "max_connections=50",
)


class PostgresUnavailable(Exception):
    """A throwaway cluster cannot be started on this machine; the message says why."""


def log(message: str) -> None:
    """Print a progress line of this script to stderr (the command keeps stdout)."""
    print(f"[postgres] {message}", file=sys.stderr, flush=True)


# -- finding what is needed -----------------------------------------------------------------


def _has_programs(directory: Path) -> bool:
    return all(os.access(directory / name, os.X_OK) for name in REQUIRED_PROGRAMS)


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", path.parent.name)) or (0,)


def find_bindir() -> Path:
    """Return the directory that holds ``initdb``, ``pg_ctl`` and ``postgres``.

    Raises :class:`PostgresUnavailable` listing every place that was tried.
    """
    tried: list[str] = []
    explicit = os.environ.get("PG_BINDIR")
    if explicit:
        if _has_programs(Path(explicit)):
            return Path(explicit)
        raise PostgresUnavailable(
            f"PG_BINDIR={explicit} does not contain the server programs "
            f"{', '.join(REQUIRED_PROGRAMS)}."
        )
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            output = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, check=True, timeout=30
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError) as exc:
            tried.append(f"pg_config --bindir (failed: {exc})")
        else:
            if output and _has_programs(Path(output)):
                return Path(output)
            tried.append(f"pg_config --bindir ({output or 'no answer'})")
    else:
        tried.append("pg_config (not on PATH)")
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True)
    for candidate in candidates:
        if _has_programs(candidate):
            return candidate
    tried.append("/usr/lib/postgresql/*/bin")
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl:
        directory = Path(pg_ctl).resolve().parent
        if _has_programs(directory):
            return directory
    tried.append("pg_ctl on PATH")
    raise PostgresUnavailable(
        "the PostgreSQL server programs (initdb, pg_ctl, postgres) were not found; tried "
        + "; ".join(tried)
        + ". Install them (Debian: apt-get install postgresql) or set PG_BINDIR."
    )


@dataclass(frozen=True)
class OsUser:
    """The operating-system account the server runs as."""

    name: str
    uid: int
    gid: int

    @property
    def is_current(self) -> bool:
        return self.uid == os.geteuid()


def find_os_user() -> OsUser:
    """The account to run the server as: ourselves, or an unprivileged one when we are root."""
    if os.geteuid() != 0:
        entry = pwd.getpwuid(os.geteuid())
        return OsUser(entry.pw_name, entry.pw_uid, entry.pw_gid)
    name = os.environ.get("WPS_POSTGRES_OS_USER", "postgres")
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise PostgresUnavailable(
            f"running as root, and PostgreSQL refuses to run as root, but there is no "
            f"'{name}' system user to run it as. Create one (Debian: the postgresql package "
            f"does; or 'useradd --system {name}'), set WPS_POSTGRES_OS_USER to an existing "
            f"unprivileged user, or run as a normal user."
        ) from None
    if entry.pw_uid == 0:
        raise PostgresUnavailable(f"the system user '{name}' is root; PostgreSQL refuses root.")
    return OsUser(entry.pw_name, entry.pw_uid, entry.pw_gid)


def server_version(bindir: Path) -> str:
    """The version the ``postgres`` program reports, e.g. ``postgres (PostgreSQL) 15.8``."""
    try:
        return subprocess.run(
            [str(bindir / "postgres"), "--version"],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        raise PostgresUnavailable(f"{bindir / 'postgres'} --version failed: {exc}") from exc


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# -- the cluster ---------------------------------------------------------------------------


class Cluster:
    """A PostgreSQL cluster that lives in a temporary directory until :meth:`destroy`."""

    def __init__(self, bindir: Path, os_user: OsUser) -> None:
        self.bindir = bindir
        self.os_user = os_user
        self.root = Path(tempfile.mkdtemp(prefix="wps-pg-"))
        self.datadir = self.root / "data"
        self.socket_dir = self.root / "socket"
        self.logfile = self.root / "server.log"
        self.port = 0
        self.started = False
        for directory in (self.datadir, self.socket_dir):
            directory.mkdir(mode=0o700)
        if not os_user.is_current:
            # Created by us (root) with mode 0700: hand everything over to the server's user.
            for directory in (self.root, self.datadir, self.socket_dir):
                os.chown(directory, os_user.uid, os_user.gid)

    def _as_server_user(
        self,
        command: Sequence[str],
        *,
        check: bool = True,
        timeout: float = 120,
        new_session: bool = False,
    ) -> subprocess.CompletedProcess[str]:
        """Run a program as the server's OS user, inside the cluster directory."""
        switch = not self.os_user.is_current
        env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
        for name in ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE", "PGDATA"):
            env.pop(name, None)
        result = subprocess.run(
            list(command),
            cwd=self.root,
            env=env,
            text=True,
            capture_output=True,
            check=False,
            timeout=timeout,
            user=self.os_user.uid if switch else None,
            group=self.os_user.gid if switch else None,
            extra_groups=[] if switch else None,
            start_new_session=new_session,
        )
        if check and result.returncode != 0:
            raise RuntimeError(
                f"{' '.join(command)} failed with status {result.returncode}:\n"
                f"{result.stdout}{result.stderr}"
            )
        return result

    def _program(self, name: str) -> str:
        return str(self.bindir / name)

    def init(self) -> None:
        """Create the cluster files (``initdb``) with trust authentication."""
        self._as_server_user(
            [
                self._program("initdb"),
                "--pgdata",
                str(self.datadir),
                "--username",
                DB_USER,
                "--auth",
                "trust",
                "--encoding",
                "UTF8",
                "--locale",
                "C",
                "--no-sync",
            ]
        )

    def start(self, attempts: int = 3) -> None:
        """Start the server on a free port; retry when another process took the port first."""
        for attempt in range(1, attempts + 1):
            self.port = free_port()
            options = " ".join(
                [
                    f"-p {self.port}",
                    "-c listen_addresses=127.0.0.1",
                    f"-c unix_socket_directories={self.socket_dir}",
                    *(f"-c {option}" for option in SERVER_OPTIONS),
                ]
            )
            result = self._as_server_user(
                [
                    self._program("pg_ctl"),
                    "start",
                    "--pgdata",
                    str(self.datadir),
                    "--log",
                    str(self.logfile),
                    "--options",
                    options,
                    "--wait",
                    "--timeout",
                    str(START_TIMEOUT),
                ],
                check=False,
                timeout=START_TIMEOUT + 30,
                # Its own session: a Ctrl-C meant for the command must not reach the server.
                new_session=True,
            )
            if result.returncode == 0:
                self.started = True
                return
            server_log = self.read_log()
            if attempt < attempts and "could not bind" in server_log:
                log(f"port {self.port} was taken meanwhile; trying another")
                continue
            raise RuntimeError(
                f"the server did not start (pg_ctl status {result.returncode}).\n"
                f"{result.stdout}{result.stderr}\n--- server log ---\n{server_log}"
            )

    def read_log(self) -> str:
        try:
            return self.logfile.read_text(errors="replace")
        except OSError:
            return "(no server log)"

    def create_database(self) -> None:
        """Create the empty database that ``PGDATABASE`` names."""
        self._as_server_user(
            [
                self._program("createdb"),
                "--host",
                str(self.socket_dir),
                "--port",
                str(self.port),
                "--username",
                DB_USER,
                DB_NAME,
            ]
        )

    def client_environment(self) -> dict[str, str]:
        """The variables that point a client (libpq, psycopg, Django's settings) here."""
        return {
            "WPS_TEST_DATABASE": "postgresql",
            "PGHOST": "127.0.0.1",
            "PGPORT": str(self.port),
            "PGUSER": DB_USER,
            "PGDATABASE": DB_NAME,
        }

    def stop(self) -> None:
        """Stop the server: fast shutdown, then immediate if that hangs."""
        if not self.started:
            return
        for mode, timeout in (("fast", STOP_TIMEOUT), ("immediate", STOP_TIMEOUT)):
            try:
                result = self._as_server_user(
                    [
                        self._program("pg_ctl"),
                        "stop",
                        "--pgdata",
                        str(self.datadir),
                        "--mode",
                        mode,
                        "--wait",
                        "--timeout",
                        str(timeout),
                    ],
                    check=False,
                    timeout=timeout + 15,
                )
            except subprocess.TimeoutExpired:
                continue
            if result.returncode == 0:
                self.started = False
                return
        log(f"could not stop the server; its data directory was {self.datadir}")

    def destroy(self) -> None:
        """Stop the server (if running) and delete the cluster directory."""
        try:
            self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
            if self.root.exists():
                log(f"could not delete {self.root}; delete it by hand")


@contextlib.contextmanager
def throwaway_cluster() -> Iterator[Cluster]:
    """Start a new cluster with an empty database; stop and delete it on exit."""
    bindir = find_bindir()
    os_user = find_os_user()
    log(f"{server_version(bindir)} from {bindir}, running as OS user '{os_user.name}'")
    cluster = Cluster(bindir, os_user)
    try:
        cluster.init()
        cluster.start()
        cluster.create_database()
        log(f"cluster ready on 127.0.0.1:{cluster.port}, database '{DB_NAME}'")
        yield cluster
    finally:
        # No signal may interrupt the clean-up half-way.
        with _signals_ignored():
            cluster.destroy()
        log("cluster stopped and deleted")


@contextlib.contextmanager
def _signals_ignored() -> Iterator[None]:
    signums = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {signum: signal.signal(signum, signal.SIG_IGN) for signum in signums}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


# -- running the command -------------------------------------------------------------------


class _Terminated(Exception):
    """Raised in the main thread when a termination signal arrives."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise _Terminated(signum)


def _exit_status(returncode: int) -> int:
    return 128 - returncode if returncode < 0 else returncode


def run_command(
    command: Sequence[str], extra_env: dict[str, str], unset: Sequence[str] = ()
) -> int:
    """Run ``command`` with ``extra_env`` added and ``unset`` removed; return its exit status.

    Ctrl-C reaches the command through the terminal; this waits for it to
    finish. SIGTERM and SIGHUP are passed on to it.
    """
    env = {name: value for name, value in os.environ.items() if name not in unset}
    env.update(extra_env)
    try:
        process = subprocess.Popen(list(command), env=env)
    except OSError as exc:
        log(f"cannot run {command[0]!r}: {exc}")
        return 127
    try:
        while True:
            try:
                return _exit_status(process.wait())
            except KeyboardInterrupt:
                # The command got the same SIGINT; let it finish what it is doing.
                continue
    except _Terminated as exc:
        process.send_signal(exc.signum)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        return 128 + exc.signum


def cmd_run(command: Sequence[str]) -> int:
    if not command:
        log("nothing to run: give the command after '--'")
        return 2
    previous = {
        signum: signal.signal(signum, _raise_terminated)
        for signum in (signal.SIGTERM, signal.SIGHUP)
    }
    try:
        if os.environ.get("WPS_EXTERNAL_POSTGRES") == "1":
            log("WPS_EXTERNAL_POSTGRES=1: using the server the PG* variables point at")
            return run_command(command, {"WPS_TEST_DATABASE": "postgresql"})
        try:
            with throwaway_cluster() as cluster:
                # Trust authentication: a password meant for another server must not leak.
                return run_command(command, cluster.client_environment(), unset=["PGPASSWORD"])
        except (PostgresUnavailable, RuntimeError, OSError, subprocess.SubprocessError) as exc:
            log(f"cannot start PostgreSQL: {exc}")
            return 1
    except _Terminated as exc:
        return 128 + exc.signum
    except KeyboardInterrupt:
        return 130
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def cmd_available() -> int:
    if os.environ.get("WPS_EXTERNAL_POSTGRES") == "1":
        print("PostgreSQL: external server (WPS_EXTERNAL_POSTGRES=1)")
        return 0
    try:
        bindir = find_bindir()
        os_user = find_os_user()
        version = server_version(bindir)
    except PostgresUnavailable as exc:
        print(f"PostgreSQL is not available: {exc}")
        return 1
    print(f"PostgreSQL is available: {version} in {bindir}, runs as OS user '{os_user.name}'")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python tests/postgres.py",
        description="Run a command against a throwaway PostgreSQL cluster.",
    )
    commands = parser.add_subparsers(dest="action", required=True)
    run = commands.add_parser(
        "run", help="start a cluster, run the command given after '--', stop and delete it"
    )
    run.add_argument("command", nargs=argparse.REMAINDER, help="the command and its arguments")
    commands.add_parser("available", help="exit 0 when a cluster can be started here, else 1")
    args = parser.parse_args(argv)
    if args.action == "available":
        return cmd_available()
    command: list[str] = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    return cmd_run(command)


if __name__ == "__main__":
    sys.exit(main())
