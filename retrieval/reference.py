"""Direct article references in a question: 第五十条, 第79条, 看看五十八条."""

import re

from knowledge import chinese_to_int
from knowledge.numerals import CHINESE_NUMERAL_CHARS

_NUMERAL = rf"[{CHINESE_NUMERAL_CHARS}0-9０-９]+"
_WITH_DI = re.compile(rf"第\s*({_NUMERAL})\s*条")
# Without 第 a numeral must be unambiguous: digits or two or more characters, and not a count
# such as 哪一条 / 几条 / 这两条.
_WITHOUT_DI = re.compile(rf"(?<![第哪几这那每某一两])([0-9０-９]+|[{CHINESE_NUMERAL_CHARS}]{{2,}})\s*条(?!例|件|款|规)")


def referenced_articles(question: str) -> list[int]:
    """Article numbers a question names explicitly, in order of appearance."""
    found: list[int] = []
    for pattern in (_WITH_DI, _WITHOUT_DI):
        for match in pattern.finditer(question):
            try:
                number = chinese_to_int(match.group(1))
            except ValueError:
                continue
            if number > 0 and number not in found:
                found.append(number)
        if found:
            break
    return found
