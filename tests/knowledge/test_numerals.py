"""Chinese numerals convert both ways, including mixed forms like 第50条."""

import pytest

from knowledge import article_label, chinese_to_int, int_to_chinese


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("一", 1),
        ("十", 10),
        ("十二", 12),
        ("二十", 20),
        ("五十八", 58),
        ("八十五", 85),
        ("一百零一", 101),
        ("第八十五条", 85),
        ("第50条", 50),
        ("５０", 50),
        ("第十二章", 12),
    ],
)
def test_chinese_to_int(text: str, number: int) -> None:
    assert chinese_to_int(text) == number


@pytest.mark.parametrize(("number", "text"), [(1, "一"), (10, "十"), (12, "十二"), (79, "七十九"), (85, "八十五")])
def test_int_to_chinese(number: int, text: str) -> None:
    assert int_to_chinese(number) == text


def test_round_trip_for_every_article_number() -> None:
    for number in range(1, 200):
        assert chinese_to_int(article_label(number)) == number


@pytest.mark.parametrize("bad", ["", "第条", "abc", "十x"])
def test_non_numerals_are_rejected(bad: str) -> None:
    with pytest.raises(ValueError, match=repr(bad)):
        chinese_to_int(bad)
