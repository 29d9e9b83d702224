"""WeCom markdown: rules and typed text shown as written (never as markup), and answers cut into
messages the platform accepts (2,048 bytes each), between paragraphs where possible; the outbox's
views as template cards (fields, actions as button keys) or markdown."""

from bot.views import Button, Strong, field, line, view
from bot.wecom.render import DONE_TEXT, MAX_CONTENT_BYTES, plain, split_markdown, template_card, view_markdown
from handlers.leave import DecisionButton


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


def test_a_view_with_buttons_is_a_card_whose_fields_are_key_and_value_and_whose_keys_are_the_actions() -> None:
    approval = view(
        [
            line(Strong("📝 请假审批 #7"), "（逾期未批）"),
            field("申请人", "张伟（副区长）"),
            field("代行职责", "刘洋"),
            field("流程（第四十九条）", "分管副区长审核 → 区长决定"),
            line("⚠️ 与 AB 角同期外出"),
        ],
        [[Button("批准", DecisionButton(7, 3, "ok")), Button("不批准", DecisionButton(7, 3, "no"))]],
        version=3,
    )

    card = template_card(approval, "task1")

    assert card["main_title"]["title"] == "📝 请假审批 #7（逾期未批）" and card["task_id"] == "task1"
    assert card["horizontal_content_list"] == [
        {"keyname": "申请人", "value": "张伟（副区长）"},
        {"keyname": "代行职责", "value": "刘洋"},
        {"keyname": "说明", "value": "流程（第四十九条）：分管副区长审核 → 区长决定"},
    ], "a label longer than WeCom shows goes into the value"
    assert card["sub_title_text"] == "⚠️ 与 AB 角同期外出"
    assert [(b["text"], b["key"]) for b in card["button_list"]] == [("批准", "ld:7:3:ok"), ("不批准", "ld:7:3:no")]
    assert "replace_text" not in card


def test_a_view_without_buttons_shows_the_item_done_where_the_buttons_were_and_is_markdown_in_a_group() -> None:
    decided = view([line(Strong("📝 请假审批 #7")), field("结果", Strong("已批准"), "（王建国）")], version=4)

    assert template_card(decided, "task1")["replace_text"] == DONE_TEXT
    assert "button_list" not in template_card(decided, "task1")
    assert view_markdown(decided) == "**📝 请假审批 ＃7**\n结果：已批准（王建国）"
