"""Shared fixtures: one rules engine per test session (embedding takes seconds), settings, databases."""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import OperationalError

from bot.config import DEFAULT_CONFIG, Settings, load_settings
from knowledge.library import SHIPPED_DIR
from retrieval.engine import RetrievalSettings, RulesEngine

if TYPE_CHECKING:
    from bot.services import Services

LONG_RULEBOOK = """机关档案管理办法

第一章 总则
第一条 {long_text}
第二条 档案室每周五下午开放查阅，查阅<机密>档案须经办公室主任批准 & 登记。
"""


@pytest.fixture(scope="session")
def chroma_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("chroma")


@pytest.fixture(scope="session")
def engine(chroma_dir: Path) -> RulesEngine:
    return RulesEngine.from_settings(RetrievalSettings(knowledge_dir=None, chroma_dir=chroma_dir))


def make_settings(tmp_path: Path, **overrides: str) -> Settings:
    """The project's config.toml with data under tmp_path and any ZHENGWU_* overrides."""
    # The console takes any free port: several bots run at once in a test session.
    env = {"ZHENGWU_BOT_DATA_DIR": str(tmp_path / "data"), "ZHENGWU_CONSOLE_PORT": "0"}
    env.update({f"ZHENGWU_{k.upper()}": v for k, v in overrides.items()})
    return load_settings(DEFAULT_CONFIG, env)


@pytest.fixture(scope="session")
def two_rulebooks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped rulebook plus a second one whose first article is far longer than a message."""
    folder = tmp_path_factory.mktemp("knowledge")
    shutil.copy(SHIPPED_DIR / "kundulun_government_work_rules_2019.txt", folder)
    items = "".join(f"第{n}类档案按年度整理归档，保管期限按有关规定执行；" for n in range(1, 260))
    (folder / "archives.txt").write_text(LONG_RULEBOOK.format(long_text=items + "具体办法另行制定。"), encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def bot_engine(tmp_path_factory: pytest.TempPathFactory, two_rulebooks: Path) -> RulesEngine:
    """The rules engine over both test rulebooks, shared by every bot the tests run."""
    chroma = tmp_path_factory.mktemp("bot_chroma")
    return RulesEngine.from_settings(RetrievalSettings(knowledge_dir=two_rulebooks, chroma_dir=chroma))


def _no_postgres(reason: str) -> NoReturn:
    """Skip, saying why; under CI a missing PostgreSQL fails instead, so it cannot pass unnoticed."""
    if os.environ.get("CI"):
        pytest.fail(f"CI must test on PostgreSQL: {reason}")
    pytest.skip(reason)


def _reset_postgres(url: str) -> None:
    """An empty public schema."""
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    except OperationalError as exc:
        _no_postgres(f"PostgreSQL at TEST_DATABASE_URL is not reachable: {exc.orig}")
    finally:
        engine.dispose()


def _fresh_database(url: str, name: str) -> str:
    """An empty database `name`, prefixed with the database of `url`, on that server (the session's
    live bot keeps its own, so a test that resets the shared schema cannot pull it from under the
    bot; the prefix keeps test runs against different databases of one server apart)."""
    name = f"{make_url(url).database}_{name}"
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        _no_postgres(f"PostgreSQL at TEST_DATABASE_URL is not reachable: {exc.orig}")
    finally:
        engine.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def postgres_url(database: str | None = None) -> str:
    """TEST_DATABASE_URL with an empty schema, or a new empty database named `database`."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        _no_postgres("TEST_DATABASE_URL is not set: no PostgreSQL to test against")
    if database is not None:
        return _fresh_database(url, database)
    _reset_postgres(url)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """SQLite always; PostgreSQL when TEST_DATABASE_URL names one (.ci/run sets it)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.sqlite3'}"
        return
    yield postgres_url()


def bot_services(
    database: str, tmp: Path, name: str, rulebooks: Path, engine: RulesEngine, **overrides: str
) -> "Services":
    """Services over the test rulebooks with the session's engine: on SQLite under `tmp`, or (database
    "postgresql") on a fresh PostgreSQL database `name`; any ZHENGWU_* `overrides`."""
    from bot.services import build_services

    overrides = {"retrieval_knowledge_dir": str(rulebooks), **overrides}
    if database == "postgresql":
        overrides["database_url"] = postgres_url(name)
    return build_services(make_settings(tmp, **overrides), engine=engine)


def bot_process_env(bot_api_base_url: str, database_url: str, data_dir: Path, **overrides: str) -> dict[str, str]:
    """The environment of a bot process (`python -m bot.cli …`) on a sandbox Bot API server."""
    from bot.sandbox.launch import SANDBOX_TOKEN

    return {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": SANDBOX_TOKEN,
        "ZHENGWU_TELEGRAM_API_BASE_URL": bot_api_base_url,
        "ZHENGWU_DATABASE_URL": database_url,
        "ZHENGWU_BOT_DATA_DIR": str(data_dir),
        **{f"ZHENGWU_{key.upper()}": value for key, value in overrides.items()},
    }
