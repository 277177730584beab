"""Shared fixtures: every storage test runs on SQLite and on PostgreSQL.

PostgreSQL is the real server on 127.0.0.1:5432 (``WEISHANG_TEST_PG`` overrides the admin URL). Each
test gets a database of its own, ``weishang_test_<random>``, dropped afterwards. With ``CI=true`` an
unreachable server fails the run: a missing service is never a silent skip there.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, text

from weishang_core.cli import cli
from weishang_core.db import get_engine, get_sessionmaker

PG_ADMIN = os.environ.get("WEISHANG_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI", "").lower() == "true"


def _pg_available() -> str | None:
    try:
        engine = create_engine(PG_ADMIN, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:
        return str(exc).splitlines()[0]


def _forget(url: str) -> None:
    get_engine(url).dispose()
    get_engine.cache_clear()
    get_sessionmaker.cache_clear()


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    problem = _pg_available()
    if problem:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI and is not reachable: {problem}")
        pytest.skip(f"PostgreSQL not reachable (set CI=true to make this a failure): {problem}")
    name = f"weishang_test_{secrets.token_hex(6)}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        _forget(url)
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database URL on each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'weishang.db'}"
        yield url
        _forget(url)
        return
    with postgres_database() as url:
        yield url


@pytest.fixture
def pg_url() -> Iterator[str]:
    """An empty PostgreSQL database, for tests of real concurrency."""
    with postgres_database() as url:
        yield url


class Weishang:
    """Runs the real CLI in-process against one database, as a user would type it."""

    def __init__(self, url: str, home: Path) -> None:
        self.url = url
        self.home = home
        self.runner = CliRunner()

    def env(self) -> dict[str, str]:
        return {"WEISHANG_DATABASE_URL": self.url, "WEISHANG_HOME": str(self.home), "WEISHANG_BROKER_URL": ""}

    def __call__(self, *args: str, ok: bool = True) -> Result:
        result = self.runner.invoke(cli, list(args), env=self.env(), catch_exceptions=False)
        if ok and result.exit_code != 0:
            raise AssertionError(f"weishang {' '.join(args)} exited {result.exit_code}: {result.output}")
        return result

    def json(self, *args: str) -> object:
        import json

        return json.loads(self(*args, "--json").stdout)

    def fails(self, *args: str, code: int = 1) -> str:
        """Run a command that must fail; return its single error line."""
        result = self(*args, ok=False)
        assert result.exit_code == code, f"expected exit {code}, got {result.exit_code}: {result.output}"
        assert "Traceback" not in result.output
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        if code == 1:
            assert len(lines) == 1, f"expected one error line, got: {result.stderr!r}"
        return lines[-1]


@pytest.fixture
def weishang(db_url: str, tmp_path: Path) -> Weishang:
    """The CLI on an empty database."""
    return Weishang(db_url, tmp_path / "home")


@pytest.fixture
def store(weishang: Weishang) -> Weishang:
    """The CLI on a database initialised with the seller 老李."""
    weishang("init", "--seller", "老李")
    return weishang


class Services:
    """The core services on one migrated database with the seller 老李: for tests below the CLI."""

    def __init__(self, url: str, home: Path) -> None:
        from weishang_core import identities, migrate
        from weishang_core.config import load_settings

        self.url = url
        os.environ["WEISHANG_HOME"] = str(home)
        self.settings = load_settings(url)
        migrate.upgrade(get_engine(url))
        self.maker = get_sessionmaker(url)
        with self.maker.begin() as session:
            identities.set_seller(session, "老李")


@pytest.fixture
def services(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Services:
    monkeypatch.setenv("WEISHANG_HOME", str(tmp_path / "home"))
    return Services(db_url, tmp_path / "home")


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A Redis database of its own on the real server, emptied before and after."""
    import random

    import redis

    url = f"redis://127.0.0.1:6379/{random.randint(1, 15)}"
    client = redis.Redis.from_url(url, socket_connect_timeout=3)
    try:
        client.ping()
    except Exception as exc:
        if IN_CI:
            pytest.fail(f"Redis is required in CI and is not reachable: {exc}")
        pytest.skip(f"Redis not reachable (set CI=true to make this a failure): {exc}")
    client.flushdb()
    yield url
    client.flushdb()


def free_port() -> int:
    """A TCP port nothing listens on now, for a server a test starts."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PrivateRedis:
    """A Redis server of the test's own, on a free port and saving nothing, so it can really be restarted
    (the shared one on 6379 cannot be, under other tests' feet)."""

    def __init__(self, binary: str, port: int) -> None:
        self.binary, self.port = binary, port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        import redis

        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                with redis.Redis(port=self.port, socket_connect_timeout=1) as client:
                    client.ping()
                return
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "the private Redis did not start"
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()  # as a crash or a restart: everything in memory is gone
            self.process.wait(timeout=10)
            self.process = None

    def restart(self, down_seconds: float) -> None:
        """Killed, refusing connections for ``down_seconds``, then back, empty."""
        self.stop()
        time.sleep(down_seconds)
        self.start()


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    import shutil

    binary = shutil.which("redis-server")
    if binary is None:
        if IN_CI:
            pytest.fail("redis-server is required in CI and is not installed")
        pytest.skip("redis-server is not installed (set CI=true to make this a failure)")
    server = PrivateRedis(binary, free_port())
    server.start()
    yield server
    server.stop()


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own (Debian's ``pg_createcluster``, trust auth on a free port), so it
    can really be stopped and started mid-run; the shared server cannot be, under other tests' feet."""

    def __init__(self, version: str, name: str, port: int) -> None:
        self.version, self.name, self.port = version, name, port
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"

    def ctl(self, *args: str) -> None:
        command = ["pg_ctlcluster", "--skip-systemctl-redirect", self.version, self.name, *args]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def restart(self, down_seconds: float) -> None:
        """Stopped as a crash would stop it (no checkpoint, every connection cut), down for ``down_seconds``,
        then started again: it recovers from its write-ahead log, as after a power cut."""
        self.ctl("stop", "-m", "immediate")
        time.sleep(down_seconds)
        self.ctl("start")


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    import shutil

    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    missing = (
        "Debian's pg_createcluster (postgresql-common)" if shutil.which("pg_createcluster") is None
        else "a PostgreSQL server (apt-get install postgresql)" if not versions
        else "root, to create a cluster" if os.geteuid() != 0
        else None
    )  # fmt: skip
    if missing:
        if IN_CI:
            pytest.fail(f"the PostgreSQL restart test needs {missing}")
        pytest.skip(f"the PostgreSQL restart test needs {missing} (set CI=true to make this a failure)")
    server = PrivatePostgres(versions[-1].parts[-3], f"weishang_{secrets.token_hex(4)}", free_port())
    create = ["pg_createcluster", server.version, server.name, "-p", str(server.port), "--", "--auth-host=trust"]
    subprocess.run([*create, "--auth-local=trust"], check=True, capture_output=True, timeout=120)
    try:
        server.ctl("start")
        yield server
    finally:
        _forget(server.url)
        subprocess.run(["pg_dropcluster", server.version, server.name, "--stop"], capture_output=True, timeout=120)


def take_database_away(url: str, seconds: float) -> None:
    """What a PostgreSQL restart looks like to its clients, on one database only (the others keep running):
    every connection to it is terminated, and new ones are refused for SECONDS."""
    from sqlalchemy import create_engine, text

    name = url.rsplit("/", 1)[1]
    admin = create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false'))
            connection.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"), {"name": name}
            )
            time.sleep(seconds)
            connection.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true'))
    finally:
        admin.dispose()
