"""Shared fixtures: one rules engine per test session (embedding the rulebook takes seconds)."""

from pathlib import Path

import pytest

from retrieval.engine import RetrievalSettings, RulesEngine


@pytest.fixture(scope="session")
def chroma_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("chroma")


@pytest.fixture(scope="session")
def engine(chroma_dir: Path) -> RulesEngine:
    return RulesEngine.from_settings(RetrievalSettings(knowledge_dir=None, chroma_dir=chroma_dir))
