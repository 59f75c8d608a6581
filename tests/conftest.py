"""Fixtures shared by all tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.app import App, create_app
from bot.config import Config
from knowledge.loader import load_knowledge
from knowledge.model import KnowledgeBase
from knowledge.qa import Librarian


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    """The real knowledge base, loaded once."""
    return load_knowledge()


def pytest_configure(config: pytest.Config) -> None:
    """Keep the index cache of test runs out of the user's cache directory."""
    import os
    import tempfile

    os.environ.setdefault("QCBOT_CACHE_DIR", tempfile.mkdtemp(prefix="qcbot-test-cache-"))


@pytest.fixture(scope="session")
def librarian(kb: KnowledgeBase) -> Librarian:
    """The librarian for the default plan, built once."""
    return Librarian(kb, default_plan="pingyin")


@pytest.fixture
async def app(tmp_path: Path, kb: KnowledgeBase, librarian: Librarian) -> AsyncIterator[App]:
    """The real app (plan pingyin) on a fresh SQLite file."""
    config = Config.from_mapping({"plan": "pingyin", "db_path": str(tmp_path / "db" / "qcbot.db")})
    application = await create_app(config, kb=kb, librarian=librarian)
    yield application
    await application.close()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[object]:
    """A real PostgreSQL on 127.0.0.1 for the session (skipped without server binaries, failed on CI)."""
    import os

    from tests.pg import PgServer, find_bin

    found = find_bin()
    if found is None:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail("CI: no PostgreSQL server binaries (initdb, pg_ctl); `make test` installs them")
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl) on this machine")
    server = PgServer(found).start()
    yield server
    server.stop()


@pytest.fixture
def pg_url(pg_server: object) -> str:
    """The URL of the session's migrated PostgreSQL database, emptied for this test."""
    from tests.pg import PgServer

    assert isinstance(pg_server, PgServer)
    return pg_server.migrated_database()
