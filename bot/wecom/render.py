"""Answers as WeCom markdown: what handlers/render.py does for Telegram's HTML, for 企业微信.

WeCom's markdown has bold, links, `code` and three font colours, but no blockquote and no
buttons under a message. A quoted clause therefore stands in 「」 on its own lines, its citation
(第N条 with its chapter) on the line below in the colour WeCom uses for remarks, and what Telegram
offers as 📄 buttons is named as a reply to type ("第七十九条"). A message holds at most 2,048 bytes
of content: longer answers go out in parts, cut between paragraphs.

The outbox's views (bot.views) become template cards when they have buttons (`template_card`),
else markdown (`view_markdown`).
"""

from collections.abc import Sequence
from typing import Any

from bot.qa.library import ArticleView
from bot.qa.service import LoggedAnswer
from bot.views import Line, View
from knowledge import Rulebook
from retrieval.answer import DECLINE_TEXT, TENTATIVE_TEXT, Quote, applies_text, missing_detail_text

MAX_CONTENT_BYTES = 2048
# Characters WeCom markdown gives a meaning; in quoted rules or typed text they are shown as written
# (their full-width forms), never as markup.
_MARKUP = str.maketrans({"*": "＊", "`": "｀", "[": "［", "]": "］", "<": "＜", ">": "＞", "#": "＃", "_": "＿"})


def plain(text: str) -> str:
    return text.translate(_MARKUP)


def remark(text: str) -> str:
    """Grey, as WeCom shows a remark: citations and hints."""
    return f'<font color="comment">{plain(text)}</font>'


def _quote(quote: Quote) -> str:
    return f"「{plain(quote.quoted)}」\n{remark('——' + quote.citation.text)}"


def answer_markdown(logged: LoggedAnswer, note: str = "") -> str:
    """The answer to a question: the quoted clauses with 第N条 and chapter; `note` (for someone not
    on the roster) goes last."""
    answer = logged.answer
    quotes = [_quote(q) for q in answer.quotes]
    blocks: list[str] = []
    if answer.declined:
        if answer.missing_detail is not None:
            blocks += [plain(missing_detail_text(answer.missing_detail, bool(quotes))), *quotes]
        else:
            blocks.append(plain(DECLINE_TEXT))
    elif answer.tentative:
        blocks += [f"**{plain(TENTATIVE_TEXT)}**", *quotes]
        if logged.offered:
            blocks.append(remark("其他可能相关的条文：" + "、".join(v.citation for v in logged.offered)))
    else:
        if logged.office_note is not None:
            blocks.append("**🏛 办公室答复**" + (f"：{plain(logged.office_note)}" if logged.office_note else ""))
        if answer.applies_to:
            blocks.append(f"**{plain(applies_text(answer.applies_to))}**")
        if answer.books_note:
            blocks.append(f"**{plain(answer.books_note)}**")
        if answer.generated_text:
            blocks.append(plain(answer.generated_text))
        blocks += quotes
    shown = [*logged.cited, *logged.offered]
    if shown:
        labels = "、".join(f"“{v.article.label}”" for v in shown[:3])
        blocks.append(remark(f"回复{labels}可查看全文"))
    if note:
        blocks.append(remark(note))
    return "\n\n".join(blocks)


def article_markdown(view: ArticleView) -> str:
    body = "\n".join(plain(p.full_text) for p in view.article.paragraphs)
    return f"**{plain(view.citation)}**\n\n{body}"


def contents_markdown(books: Sequence[Rulebook]) -> str:
    """/rules: each rulebook's chapters with their articles' numbers, and how to open one."""
    blocks = []
    for book in books:
        chapters = [
            f"{plain(c.heading)}（{c.articles[0].label}–{c.articles[-1].label}）" for c in book.chapters if c.articles
        ]
        blocks.append(f"**《{plain(book.title)}》**\n" + "\n".join(chapters))
    blocks.append(remark("回复条号（如“第七十九条”）查看该条全文。"))
    return "\n\n".join(blocks)


def split_markdown(text: str, limit: int = MAX_CONTENT_BYTES) -> list[str]:
    """Parts of at most `limit` UTF-8 bytes, cut between paragraphs, else between lines, else
    between characters (a clause longer than a message is rare: the rulebook's longest article)."""
    parts: list[str] = []
    current = ""
    for piece in _pieces(text, limit):
        joined = f"{current}\n\n{piece}" if current else piece
        if len(joined.encode()) <= limit:
            current = joined
            continue
        parts.append(current)
        current = piece
    if current:
        parts.append(current)
    return parts


def _pieces(text: str, limit: int) -> list[str]:
    """Paragraphs, each further cut into lines and then characters until it fits in `limit` bytes."""
    pieces = []
    for paragraph in text.split("\n\n"):
        if len(paragraph.encode()) <= limit:
            pieces.append(paragraph)
            continue
        for line in paragraph.split("\n"):
            while len(line.encode()) > limit:
                cut = len(line.encode()[:limit].decode(errors="ignore"))
                pieces.append(line[:cut])
                line = line[cut:]
            pieces.append(line)
    return pieces


# ----- cards and notices from the outbox (bot.views) ----------------------------------------------

# The platform's limits on a button_interaction card (模板卡片: 按钮交互型).
MAX_FIELDS = 6  # horizontal_content_list
MAX_BUTTONS = 6  # button_list
MAX_TITLE = 36  # main_title.title, characters
MAX_KEYNAME = 5  # a field's keyname shows this much; a longer label goes into the value
# Shown where the buttons were once the card's item has moved on (update_template_card).
DONE_TEXT = "已处理"


def view_markdown(view: View) -> str:
    """A view as markdown: the title in bold, then its lines (a group chat or a notice: no buttons)."""
    title, *rest = view.lines or (Line(()),)
    return "\n".join([f"**{plain(title.plain)}**" if rest else plain(title.plain), *(plain(x.plain) for x in rest)])


def menu_markdown(view: View) -> str:
    """A form's step with choices as a numbered menu (bot.wecom.adapter says why not a card): the
    step, then each button's label with its number, in reading order."""
    choices = [button for row in view.buttons for button in row]
    menu = "\n".join(f"{number}. {plain(button.label)}" for number, button in enumerate(choices, start=1))
    return f"{view_markdown(view)}\n\n{menu}\n{remark('回复数字选择，例如“1”。')}"


def template_card(view: View, task_id: str) -> dict[str, Any]:
    """A view with buttons as a button_interaction template card: the title, labelled lines as
    key/value fields (up to six), the other lines as its text, and each button's key its packed
    action (the typed callback data with the item's id and version). A view without buttons (the
    item moved on) shows DONE_TEXT where the buttons were."""
    fields: list[dict[str, str]] = []
    text: list[str] = []
    for item in view.body:
        if item.label and len(fields) < MAX_FIELDS:
            key, value = (item.label, item.value) if len(item.label) <= MAX_KEYNAME else ("", item.plain)
            fields.append({"keyname": key or "说明", "value": value})
        else:
            text.append(item.plain)
    card: dict[str, Any] = {
        "card_type": "button_interaction",
        "main_title": {"title": _cut(view.title, MAX_TITLE), "desc": _cut(view.title[MAX_TITLE:], MAX_TITLE)},
        "task_id": task_id,
        "horizontal_content_list": fields,
    }
    if text:
        card["sub_title_text"] = "\n".join(text)
    buttons = [b for row in view.buttons for b in row][:MAX_BUTTONS]
    if buttons:
        card["button_list"] = [
            {"text": b.label, "style": 1 if i == 0 else 2, "key": b.action.pack()} for i, b in enumerate(buttons)
        ]
    else:
        card["replace_text"] = DONE_TEXT
    return card


def card_handle(task_id: str, response_code: str | None) -> str:
    """What a card sent to a member is known by: its task id, and the response code that may update
    it once (none when spent)."""
    return f"{task_id} {response_code or ''}".strip()


def parse_handle(handle: str) -> tuple[str, str | None]:
    task_id, _, code = handle.partition(" ")
    return task_id, code or None


def _cut(text: str, limit: int) -> str:
    return text[:limit]
