"""Chinese numerals as used in article and chapter headings (第八十五条, 第50条)."""

from functools import lru_cache

import cn2an

_DIGITS = "0123456789０１２３４５６７８９"
CHINESE_NUMERAL_CHARS = "零〇一二两三四五六七八九十百千"


# cn2an takes ~80 µs a numeral; a library of 100 books repeats the same few hundred headings.
@lru_cache(maxsize=4096)
def chinese_to_int(text: str) -> int:
    """Return the integer a numeral such as '八十五', '85', '８５' or '第八十五条' stands for."""
    core = text.strip().removeprefix("第")
    for suffix in ("条", "章", "款", "项"):
        core = core.removesuffix(suffix)
    core = core.strip()
    if not core:
        raise ValueError(f"not a numeral: {text!r}")
    if all(ch in _DIGITS for ch in core):
        return int(core.translate(str.maketrans("０１２３４５６７８９", "0123456789")))
    if not all(ch in CHINESE_NUMERAL_CHARS for ch in core):
        raise ValueError(f"not a numeral: {text!r}")
    return int(cn2an.cn2an(core.replace("〇", "零"), "smart"))


@lru_cache(maxsize=4096)
def int_to_chinese(number: int) -> str:
    """Return the Chinese numeral for a positive integer: 85 -> '八十五', 10 -> '十'."""
    if number <= 0:
        raise ValueError(f"only positive numbers have article numerals: {number!r}")
    return cn2an.an2cn(number)


def article_label(number: int) -> str:
    """Return the heading of an article: 79 -> '第七十九条'."""
    return f"第{int_to_chinese(number)}条"


def chapter_label(number: int) -> str:
    """Return the heading of a chapter: 12 -> '第十二章'."""
    return f"第{int_to_chinese(number)}章"
