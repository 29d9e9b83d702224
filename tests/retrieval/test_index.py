"""The Chroma index is reused across restarts and rebuilt only when content or model change."""

import shutil
import time
from pathlib import Path

from knowledge.library import SHIPPED_DIR
from retrieval.engine import RetrievalSettings, RulesEngine


def test_restart_with_unchanged_rulebook_reuses_the_index(engine: RulesEngine, chroma_dir: Path) -> None:
    started = time.perf_counter()
    again = RulesEngine.from_settings(RetrievalSettings(knowledge_dir=None, chroma_dir=chroma_dir))
    assert not again.dense.rebuilt
    assert time.perf_counter() - started < 10
    assert again.ask("会议纪要由谁签发？").citations[0].article_number == 50


def test_changed_rulebook_is_reindexed_and_its_new_text_found(tmp_path: Path) -> None:
    knowledge = tmp_path / "knowledge"
    knowledge.mkdir()
    shutil.copy(SHIPPED_DIR / "kundulun_government_work_rules_2019.txt", knowledge)
    settings = RetrievalSettings(knowledge_dir=knowledge, chroma_dir=tmp_path / "chroma")
    assert RulesEngine.from_settings(settings).dense.rebuilt
    assert not RulesEngine.from_settings(settings).dense.rebuilt
    (knowledge / "canteen.txt").write_text(
        "机关食堂管理办法\n第一章 总则\n第一条 机关食堂每日十二点供应午餐，工作人员凭工作证就餐。\n", encoding="utf-8"
    )
    engine = RulesEngine.from_settings(settings)
    assert engine.dense.rebuilt
    answer = engine.ask("食堂几点供应午餐？")
    assert not answer.declined, "the canteen rulebook answers what the shipped one declines as out of scope"
    assert engine.ask("住房公积金怎么提取？").declined
    assert answer.quotes[0].citation.rulebook_title == "机关食堂管理办法"
    assert answer.quotes[0].citation.text == "《机关食堂管理办法》第一条（第一章 总则）"
