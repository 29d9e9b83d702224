"""WeCom markdown: rules and typed text shown as written (never as markup), and answers cut into
messages the platform accepts (2,048 bytes each), between paragraphs where possible."""

from bot.wecom.render import MAX_CONTENT_BYTES, plain, split_markdown


def test_markup_characters_in_rules_are_shown_as_written() -> None:
    assert (
        plain("查阅<机密>档案须经**批准** & `登记` [附件] #1")
        == "查阅＜机密＞档案须经＊＊批准＊＊ & ｀登记｀ ［附件］ ＃1"
    )


def test_a_short_answer_is_one_message() -> None:
    assert split_markdown("「第一句」\n\n——出处") == ["「第一句」\n\n——出处"]


def test_a_long_answer_is_cut_between_paragraphs_into_messages_the_platform_accepts() -> None:
    paragraphs = [f"「第{n}段" + "规定" * 150 + "」" for n in range(8)]
    parts = split_markdown("\n\n".join(paragraphs))

    assert len(parts) > 1 and all(len(p.encode()) <= MAX_CONTENT_BYTES for p in parts)
    assert "\n\n".join(parts) == "\n\n".join(paragraphs), "nothing lost, nothing cut inside a paragraph"


def test_a_paragraph_longer_than_a_message_is_cut_within_it_losing_nothing() -> None:
    article = "第1类档案按年度整理归档；" * 400  # one line of ~15,000 bytes
    parts = split_markdown(article)

    assert all(len(p.encode()) <= MAX_CONTENT_BYTES for p in parts)
    assert "".join(parts) == article
