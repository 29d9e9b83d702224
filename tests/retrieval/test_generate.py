"""Generative answers cite only retrieved articles and fall back on any LLM failure.

The LLM here is a local fake OpenAI-compatible endpoint (real HTTP through LangChain), so the test
checks the guard and the fallback, not any model's writing.
"""

from pathlib import Path

import pytest

from retrieval.engine import RetrievalSettings, RulesEngine
from retrieval.generate import LLMSettings, remove_unretrieved_citations
from tests.retrieval.fake_llm import fake_openai_endpoint

QUESTION = "副区长离包外出要向谁请示？"


def _engine(chroma_dir: Path, base_url: str, timeout_s: float = 5.0) -> RulesEngine:
    llm = LLMSettings(base_url=base_url, model="fake", api_key="test", timeout_s=timeout_s)
    return RulesEngine.from_settings(RetrievalSettings(None, chroma_dir, llm=llm))


def test_llm_answer_keeps_retrieved_citations_and_loses_invented_ones(engine: RulesEngine, chroma_dir: Path) -> None:
    reply = "副区长离包外出须事先向区长请示（第七十九条）。另见第九十九条和《其他规则》第3条。"
    with fake_openai_endpoint(reply) as (base_url, received):
        answer = _engine(chroma_dir, base_url).ask(QUESTION)
    assert answer.generated_text is not None
    assert "第七十九条" in answer.generated_text
    assert "第九十九条" not in answer.generated_text
    assert "第3条" not in answer.generated_text
    prompt = received[0]["messages"][-1]["content"]
    assert "第七十九条" in prompt and QUESTION in prompt
    assert [c.article_number for c in answer.citations][0] == 79


@pytest.mark.parametrize(("delay", "status"), [(3.0, 200), (0.0, 500)])
def test_llm_timeout_or_error_falls_back_to_the_extractive_answer(chroma_dir: Path, delay: float, status: int) -> None:
    with fake_openai_endpoint("不会用到", delay_s=delay, status=status) as (base_url, _):
        answer = _engine(chroma_dir, base_url, timeout_s=1.0).ask(QUESTION)
    assert answer.generated_text is None
    assert answer.quotes[0].citation.article_number == 79


def test_guard_handles_chinese_and_arabic_numbers() -> None:
    text = "见第七十九条、第79条、第八十条和第80条。"
    assert remove_unretrieved_citations(text, {79}) == "见第七十九条、第79条、和。"
