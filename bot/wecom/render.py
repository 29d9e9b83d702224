"""Answers as WeCom markdown: what handlers/render.py does for Telegram's HTML, for 企业微信.

WeCom's markdown has bold, links, `code` and three font colours, but no blockquote and no
buttons under a message. A quoted clause therefore stands in 「」 on its own lines, its citation
(第N条 with its chapter) on the line below in the colour WeCom uses for remarks, and what Telegram
offers as 📄 buttons is named as a reply to type ("第七十九条"). A message holds at most 2,048 bytes
of content: longer answers go out in parts, cut between paragraphs.
"""

from collections.abc import Sequence

from bot.qa.library import ArticleView
from bot.qa.service import LoggedAnswer
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
