"""What people type is cleaned before anything stores or reads it."""

import pytest

from bot.plaintext import MAX_MESSAGE_CHARS, clean, has_words


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("  12月3日\n", "12月3日"),
        ("家中\u200b有事", "家中有事"),  # zero-width space
        ("\u202e事由\u202c", "事由"),  # right-to-left override
        ("\x00\x07\x1b[31m红", "[31m红"),  # NUL, bell, escape
        ("\ufeff请示", "请示"),  # byte-order mark
        ("第一行\n第二行\t完", "第一行\n第二行\t完"),
        ("e\u0301", "é"),  # NFC
        ("👍", "👍"),
    ],
)
def test_control_and_invisible_characters_are_removed(raw: str, cleaned: str) -> None:
    assert clean(raw) == cleaned


def test_text_is_cut_to_one_bot_api_message() -> None:
    assert len(clean("字" * 20_000)) == MAX_MESSAGE_CHARS
    assert len(clean("字" * 500, limit=64)) == 64


@pytest.mark.parametrize(
    ("text", "words"),
    [("？", False), ("👍", False), ("……——", False), ("", False), ("请假", True), ("50", True), ("ok?", True)],
)
def test_only_letters_and_digits_count_as_saying_something(text: str, words: bool) -> None:
    assert has_words(text) is words
