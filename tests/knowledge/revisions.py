"""A revised version of the shipped rulebook: two articles changed and one added (第五十条, 第七十九条,
第八十六条), issued as 昆政发〔2024〕3号 on 2024年5月6日 (in force on issue, as its 第八十五条 says)."""

from pathlib import Path

from knowledge.library import SHIPPED_DIR

RULEBOOK = SHIPPED_DIR / "kundulun_government_work_rules_2019.txt"


def revised() -> str:
    text = RULEBOOK.read_text(encoding="utf-8")
    for old, new in [
        ("昆政发〔2019〕5号\n", "昆政发〔2024〕3号\n"),
        ("2019年3月12日", "2024年5月6日"),
        ("原则上须在会议结束后5个工作日内印发", "原则上须在会议结束后3个工作日内印发"),
        ("离包外出，须事先向区长请示", "离包外出，须提前一天书面向区长请示"),
    ]:
        assert old in text
        text = text.replace(old, new, 1)
    footer = text.index("抄送")
    return text[:footer] + "第八十六条  本规则由区人民政府办公室负责解释。\n" + text[footer:]


def write_text(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
