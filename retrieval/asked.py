"""What kind of fact a question asks for, and whether a rule sentence holds one.

Official-sounding questions often ask for a detail that another regulation sets and this rulebook
does not: how many working days an 依申请公开 reply takes, how much a meal may cost, how many kinds
of 公文 there are. The sentence nearest such a question is about the same subject, so retrieval
and the scope model rate it highly, and quoting it as the answer would be confident
misinformation: staff would read a number into a clause that has none. So a question that asks
for a number is answered only by a sentence that holds one of the right kind; otherwise the bot
says which detail the rules do not give and what they do say about the subject.
"""

import hashlib
import re
from enum import StrEnum

from retrieval.text import normalise

_NUMERAL = r"[0-9一二三四五六七八九十百千万两半]+"


class Detail(StrEnum):
    """A kind of fact a question can ask for; the value is how the bot names what is missing."""

    FREQUENCY = "具体次数"
    DAYS = "具体期限（天数）"
    MONEY = "具体金额"
    COUNT = "具体数量"
    PEOPLE = "具体人数"
    SHARE = "具体比例"
    DATE = "具体日期"
    MEASURE = "具体数字"


# How each kind is asked. Only interrogative forms: "请三天假" states a number, "请几天假" asks one.
_ASKS: dict[Detail, re.Pattern[str]] = {
    # Before DAYS: "多久开一次" asks how often, and "每月召开一次" answers it.
    Detail.FREQUENCY: re.compile(r"(几|多少)次|(多久|多长时间|多少时间).{0,4}一次|频次|频率"),
    # Before DAYS too: "几月份开" asks which month, not how many months.
    Detail.DATE: re.compile(r"哪一?天|几号|几月几[日号]|哪一?个月|几月份|(具体|什么)日期"),
    Detail.DAYS: re.compile(
        r"(几|多少)个?(工作日|天|日|小时|周|星期|月|年)|多久|多长时间|多少时间|(期限|时限|时间)(是|为|有)?(多少|几)"
    ),
    Detail.MONEY: re.compile(r"多少钱|多少元|多少万|几万|几千|(金额|费用|经费|额度|限额|标准)(是|为|有)?多少"),
    Detail.COUNT: re.compile(r"(几|多少)(种|类|项|个方面|个环节|个步骤|个程序|个阶段)|哪几(种|类|项)"),
    Detail.PEOPLE: re.compile(r"(几|多少)(个人|名|位|人)|人数(是|为|有)?多少"),
    Detail.SHARE: re.compile(r"比例|百分之几|百分比|多少%"),
    # Any other unit counted: 几份, 多少字, 住几晚. "几" also means "a few" ("几个部门一起管的事",
    # "好几份"), so a bare 几个 asks only where the question ends on it.
    Detail.MEASURE: re.compile(r"(?<![好哪])(几|多少)(份|页|张|字|晚|夜|届|篇)|多少个|(?<![好哪])几个[？?]*$"),
}
# What a sentence that answers it must hold.
_HOLDS: dict[Detail, re.Pattern[str]] = {
    Detail.FREQUENCY: re.compile(rf"{_NUMERAL}次|每(年|半年|季度|季|月|周|星期)|不定期"),
    Detail.DAYS: re.compile(rf"{_NUMERAL}个?(工作日|天|日|小时|周|星期|个月|年)|当天|当日"),
    Detail.MONEY: re.compile(rf"{_NUMERAL}(元|万元)"),
    Detail.COUNT: re.compile(rf"{_NUMERAL}(种|类|项|个方面|个环节|个步骤|个程序|个阶段)|[^、]+、[^、]+、"),
    Detail.PEOPLE: re.compile(rf"{_NUMERAL}(名|人|位)|半数|分之"),
    Detail.SHARE: re.compile(rf"百分之{_NUMERAL}|{_NUMERAL}%|{_NUMERAL}分之"),
    Detail.DATE: re.compile(rf"{_NUMERAL}(月|日|号)|之日|月底|月初|年底|年初|年末|上半年|下半年|季度|当天|当日"),
    Detail.MEASURE: re.compile(rf"{_NUMERAL}个?(份|页|张|字|晚|夜|届|篇|个)"),
}


def fingerprint() -> str:
    """What the patterns are: what the engine learned from them (features, which out-of-scope
    questions are examples) is kept only as long as they stay the same."""
    patterns = (p.pattern for table in (_ASKS, _HOLDS) for p in table.values())
    return hashlib.sha256("\n".join(patterns).encode()).hexdigest()[:16]


def asked_detail(question: str) -> Detail | None:
    """The kind of number a question asks for, if it asks for one."""
    text = normalise(question)
    return next((detail for detail, pattern in _ASKS.items() if pattern.search(text)), None)


def holds(detail: Detail, sentence: str) -> bool:
    """Whether a sentence states a fact of this kind."""
    return bool(_HOLDS[detail].search(normalise(sentence)))


def without_detail(question: str) -> str:
    """The question without the number it asks for: what it is about ("副区长离包外出要提前几天
    请示" is about 离包外出 and 请示)."""
    text = normalise(question)
    for pattern in _ASKS.values():
        text = pattern.sub("", text, count=1)
    return text
