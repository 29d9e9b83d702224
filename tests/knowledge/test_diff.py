"""The article-level diff between two versions of a rulebook."""

import pytest

from knowledge import parse_rulebook
from knowledge.diff import ChangeKind, character_diff, describe_changes, diff_rulebooks
from knowledge.library import SHIPPED_DIR
from tests.knowledge.revisions import revised, write_text

RULEBOOK = SHIPPED_DIR / "kundulun_government_work_rules_2019.txt"


@pytest.fixture(scope="module")
def shipped():
    return parse_rulebook(RULEBOOK)


def test_a_revision_lists_exactly_its_two_changed_articles_and_the_new_one(tmp_path, shipped) -> None:
    new = parse_rulebook(write_text(tmp_path / "2024.txt", revised()))
    changes = diff_rulebooks(shipped, new)
    assert [(c.kind, c.old and c.old.number, c.new and c.new.number) for c in changes] == [
        (ChangeKind.CHANGED, 50, 50),
        (ChangeKind.CHANGED, 79, 79),
        (ChangeKind.ADDED, None, 86),
    ]
    text = describe_changes(shipped, new, changes)
    assert "新增1条，修改2条" in text
    assert "会议结束后[-5-]{+3+}个工作日内印发" in text
    assert "修改 第七十九条" in text and "新增 第八十六条" in text


def test_an_inserted_article_renumbers_those_after_it_in_one_line(tmp_path, shipped) -> None:
    text = RULEBOOK.read_text(encoding="utf-8")
    inserted = text.replace("第八十五条", "第八十五条  区人民政府工作人员应当遵守本规则。\n第八十六条", 1)
    new = parse_rulebook(write_text(tmp_path / "inserted.txt", inserted))
    changes = diff_rulebooks(shipped, new)
    assert [(c.kind, c.old and c.old.number, c.new and c.new.number) for c in changes] == [
        (ChangeKind.ADDED, None, 85),
        (ChangeKind.RENUMBERED, 85, 86),
    ]
    assert "条号变动 第八十五条 → 第八十六条" in describe_changes(shipped, new, changes)


def test_a_removed_article_and_a_run_of_renumbered_ones(tmp_path, shipped) -> None:
    lines = RULEBOOK.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("第八十二条"))
    kept = [line for i, line in enumerate(lines) if i != start]
    renumbered = [
        line.replace("第八十三条", "第八十二条").replace("第八十四条", "第八十三条").replace("第八十五条", "第八十四条")
        if line.startswith("第八十")
        else line
        for line in kept
    ]
    new = parse_rulebook(write_text(tmp_path / "removed.txt", "\n".join(renumbered)))
    changes = diff_rulebooks(shipped, new)
    assert [c.kind for c in changes] == [ChangeKind.REMOVED] + [ChangeKind.RENUMBERED] * 3
    text = describe_changes(shipped, new, changes)
    assert "删除 第八十二条" in text
    assert "条号变动 第八十三条至第八十五条 → 第八十二条至第八十四条（条文未变）" in text


def test_the_same_text_has_no_changes(shipped) -> None:
    assert diff_rulebooks(shipped, shipped) == []
    assert "条文相同" in describe_changes(shipped, shipped, [])


def test_character_diff_marks_deletions_and_additions_with_context() -> None:
    old = "副区长离包外出，须事先向区长请示，经批准方可出行。"
    new = "副区长离包外出，须提前一天书面向区长请示，经批准方可出行。"
    assert character_diff(old, new) == "副区长离包外出，须[-事先-]{+提前一天书面+}向区长请示，经批准方可出行。"
