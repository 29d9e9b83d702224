"""Importing a rulebook from Word, PDF and text files made here from the shipped text: the same
articles as the text file, page furniture removed, wrapped lines joined, and refusals that say where."""

from pathlib import Path
from xml.sax.saxutils import escape

import docx
import pytest
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate

from knowledge import parse_rulebook
from knowledge.errors import UnreadableDocument
from knowledge.importing import Preview, normalise, preview_file
from knowledge.importing import SourceLine as Line
from knowledge.library import SHIPPED_DIR

RULEBOOK = SHIPPED_DIR / "kundulun_government_work_rules_2019.txt"
# Adobe's Song typeface for simplified Chinese: PDF readers supply it, so reportlab needs no font file.
CJK_FONT = "STSong-Light"


def shipped_lines() -> list[str]:
    return [line.strip() for line in RULEBOOK.read_text(encoding="utf-8").splitlines() if line.strip()]


def write_pdf(path: Path, lines: list[str], running_header: str | None = None, page_number: str | None = None) -> Path:
    """A 红头文件-like PDF: 14 pt Song, each paragraph's first line indented two characters, wrapped
    at the margin; optionally a header and a page number ("- {n} -") on every page."""
    pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
    style = ParagraphStyle("body", fontName=CJK_FONT, fontSize=14, leading=22, firstLineIndent=28, wordWrap="CJK")

    def furniture(canvas: Canvas, document: SimpleDocTemplate) -> None:
        canvas.setFont(CJK_FONT, 10)
        if running_header:
            canvas.drawString(72, 800, running_header)
        if page_number:
            canvas.drawCentredString(A4[0] / 2, 40, page_number.format(n=document.page))

    document = SimpleDocTemplate(str(path), pagesize=A4)
    document.build([Paragraph(escape(line), style) for line in lines], onFirstPage=furniture, onLaterPages=furniture)
    return path


def write_docx(path: Path, lines: list[str]) -> Path:
    document = docx.Document()
    for line in lines:
        document.add_paragraph(line)
    document.save(str(path))
    return path


def write_pdf_without_unicode_map(path: Path, glyphs: int) -> Path:
    """A PDF whose font names glyphs by number only, with no map to characters (as some
    typesetting systems leave them): its text layer reads as (cid:100)(cid:101)…"""
    content = b"BT /F1 14 Tf 72 700 Td <" + b"".join(b"%04X" % (100 + i) for i in range(glyphs)) + b"> Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >>"
        b" /Contents 6 0 R >>",
        b"<< /Type /Font /Subtype /Type0 /BaseFont /Subset /Encoding /Identity-H /DescendantFonts [5 0 R] >>",
        b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /Subset"
        b" /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >>"
        b" /FontDescriptor << /Type /FontDescriptor /FontName /Subset /Flags 4 /FontBBox [0 0 1000 1000]"
        b" /ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 700 /StemV 80 >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(bytes(out))
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every file the tests import, made once: they take a second to write and to read."""
    folder = tmp_path_factory.mktemp("imports")
    lines = shipped_lines()
    skipped = [line for line in lines if not line.startswith("第十二条")]
    blank = Canvas(str(folder / "scan.pdf"), pagesize=A4)
    blank.rect(72, 72, 400, 600, fill=1)  # what a scanned page is to a text reader: a picture
    blank.showPage()
    blank.save()
    return {
        "docx": write_docx(folder / "rules.docx", lines),
        "pdf": write_pdf(folder / "rules.pdf", lines),
        "furnished pdf": write_pdf(folder / "furnished.pdf", lines, "昆都仑区人民政府文件", "- {n} -"),
        "skipped pdf": write_pdf(folder / "skipped.pdf", skipped, "昆都仑区人民政府文件", "第{n}页"),
        "scan": folder / "scan.pdf",
    }


@pytest.fixture(scope="module")
def previews(files: dict[str, Path]) -> dict[str, Preview]:
    """Each file read once (reading a PDF takes most of a second)."""
    return {kind: preview_file(path) for kind, path in files.items() if kind != "scan"}


@pytest.fixture(scope="module")
def shipped():
    return parse_rulebook(RULEBOOK)


@pytest.mark.parametrize("kind", ["docx", "pdf", "furnished pdf"])
def test_word_and_pdf_give_the_same_rulebook_as_the_text(previews: dict[str, Preview], shipped, kind: str) -> None:
    preview = previews[kind]
    assert preview.problems == ()
    book = preview.book
    assert book is not None and preview.accepted
    assert (book.title, book.doc_number, book.issued_on, book.repeals) == (
        shipped.title,
        shipped.doc_number,
        shipped.issued_on,
        shipped.repeals,
    )
    assert [c.heading for c in book.chapters] == [c.heading for c in shipped.chapters]
    # Articles compare with their paragraphs and items: a line wrap joined wrongly would show.
    assert book.articles == shipped.articles


def test_the_text_file_itself_goes_through_the_same_path(shipped) -> None:
    preview = preview_file(RULEBOOK)
    assert preview.accepted and preview.book is not None
    assert preview.book.articles == shipped.articles


def test_running_headers_and_page_numbers_are_not_text(previews: dict[str, Preview]) -> None:
    preview = previews["furnished pdf"]
    assert preview.pages > 10
    assert "昆都仑区人民政府文件" not in preview.text
    assert "- 3 -" not in preview.text


def test_preview_names_title_chapters_and_counts(previews: dict[str, Preview]) -> None:
    text = previews["docx"].to_text()
    assert "标题：《昆都仑区人民政府工作规则》" in text
    assert "共13章、85条" in text
    assert "第十二章 工作纪律（第七十六条至第八十四条，9条）" in text
    assert "未发现问题" in text


def test_a_skipped_article_is_refused_with_its_page_line_and_text(previews: dict[str, Preview]) -> None:
    preview = previews["skipped pdf"]
    assert not preview.accepted
    # Reported once, where it happens: the count goes on from the number found.
    [problem] = preview.problems
    assert problem.expected == "第十二条"
    assert problem.line.startswith("第十三条 ")
    assert problem.origin.startswith("第") and "页第" in problem.origin
    text = preview.to_text()
    assert f"{problem.origin}：应为第十二条；该行为：第十三条" in text
    assert "发现1处问题，不能导入" in text


def test_a_pdf_without_a_text_layer_is_refused_as_a_scan(files: dict[str, Path]) -> None:
    with pytest.raises(UnreadableDocument, match="没有文字层"):
        preview_file(files["scan"])


def test_a_pdf_whose_text_cannot_be_decoded_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnreadableDocument, match="文字无法解码"):
        preview_file(write_pdf_without_unicode_map(tmp_path / "typeset.pdf", 40))


def test_a_reference_wrapped_to_the_start_of_a_pdf_line_is_no_new_article(tmp_path: Path) -> None:
    """A full line ending 依照本规则 and the next starting 第二条规定执行。: a wrap, not 第二条."""
    pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
    canvas = Canvas(str(tmp_path / "wrapped.pdf"), pagesize=A4)
    canvas.setFont(CJK_FONT, 14)
    full = 20  # characters of 14 pt from the left margin (72 pt) to the right one (352 pt)
    first = "第一条" + "食堂每日供应午餐和晚餐，就餐的时间和地点"[: full - 5]
    second = "由办公室另行通知，遇有特殊情况的处理依照本规则"[-full:]
    lines = [(130, "机关食堂管理办法"), (130, "第一章 总则"), (100, first), (72, second), (72, "第二条规定执行。")]
    lines.append((100, "第二条就餐须刷卡。"))
    for number, (x, text) in enumerate(lines):
        canvas.drawString(x, 760 - 22 * number, text)
    canvas.save()
    preview = preview_file(tmp_path / "wrapped.pdf")
    assert preview.accepted and preview.book is not None
    assert [a.text for a in preview.book.articles] == [first[3:] + second + "第二条规定执行。", "就餐须刷卡。"]


def test_a_page_without_text_among_pages_with_text_is_named_in_the_preview(tmp_path: Path) -> None:
    pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
    canvas = Canvas(str(tmp_path / "mixed.pdf"), pagesize=A4)
    for page in (["机关食堂管理办法", "第一章 总则", "第一条 食堂每日供应午餐。"], None, ["第二条 就餐须刷卡。"]):
        if page is None:
            canvas.rect(72, 72, 400, 600, fill=1)
        else:
            canvas.setFont(CJK_FONT, 14)
            for number, line in enumerate(page):
                canvas.drawString(72, 760 - 22 * number, line)
        canvas.showPage()
    canvas.save()
    preview = preview_file(tmp_path / "mixed.pdf")
    assert preview.accepted and preview.textless_pages == (2,)
    assert "注意：第2页没有文字（扫描页或空白页）" in preview.to_text()


@pytest.mark.parametrize(("name", "reason"), [("old.doc", "另存为 .docx"), ("rules.xlsx", "支持 .docx、.pdf、.txt")])
def test_other_kinds_of_file_are_refused_with_what_to_do(tmp_path: Path, name: str, reason: str) -> None:
    (tmp_path / name).write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(UnreadableDocument, match=reason):
        preview_file(tmp_path / name)


def test_a_damaged_word_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "broken.docx").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(UnreadableDocument, match="无法作为 Word 文件打开"):
        preview_file(tmp_path / "broken.docx")


def test_full_width_digits_and_spaces_become_half_width(tmp_path: Path) -> None:
    lines = ["机关食堂管理办法", "第一章　总则", "第１条　食堂每日供应午餐，１２时开饭。", "第２条　ＡＢ角轮值。"]
    preview = preview_file(write_docx(tmp_path / "canteen.docx", lines))
    assert preview.accepted and preview.book is not None
    assert [a.text for a in preview.book.articles] == ["食堂每日供应午餐，12时开饭。", "AB角轮值。"]


def test_a_word_header_laid_out_in_a_table_is_read_in_its_place(tmp_path: Path) -> None:
    document = docx.Document()
    header = document.add_table(rows=1, cols=2)
    header.cell(0, 0).text = "昆政发〔2024〕7号"
    header.cell(0, 1).text = "2024年5月6日"
    for line in ["机关食堂管理办法", "第一章 总则", "第一条 食堂每日供应午餐。"]:
        document.add_paragraph(line)
    document.save(str(tmp_path / "red-head.docx"))
    book = preview_file(tmp_path / "red-head.docx").book
    assert book is not None and (book.doc_number, book.issued_on.isoformat()) == ("昆政发〔2024〕7号", "2024-05-06")
    assert book.title == "机关食堂管理办法"


def test_word_automatic_numbering_of_articles_and_items_is_read_as_shown(tmp_path: Path) -> None:
    """Articles numbered by Word (第%1条, counting on across chapters) and items under them
    (（%2）, restarting with each article): the numbers are in no paragraph's text."""
    document = docx.Document()
    numbering = document.part.numbering_part.element
    numbering.insert(
        0,
        parse_xml(
            f'<w:abstractNum {nsdecls("w")} w:abstractNumId="90">'
            '<w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="chineseCounting"/>'
            '<w:suff w:val="space"/><w:lvlText w:val="第%1条"/></w:lvl>'
            '<w:lvl w:ilvl="1"><w:start w:val="1"/><w:numFmt w:val="chineseCounting"/>'
            '<w:suff w:val="nothing"/><w:lvlText w:val="（%2）"/></w:lvl></w:abstractNum>'
        ),
    )
    numbering.append(parse_xml(f'<w:num {nsdecls("w")} w:numId="90"><w:abstractNumId w:val="90"/></w:num>'))
    paragraphs = [
        ("机关食堂管理办法", None),
        ("第一章 总则", None),
        ("食堂供应：", 0),
        ("早餐；", 1),
        ("午餐。", 1),
        ("就餐须刷卡：", 0),
        ("工作日；", 1),
        ("第二章 附则", None),
        ("本办法自印发之日起施行。", 0),
    ]
    for text, level in paragraphs:
        paragraph = document.add_paragraph(text)
        if level is not None:
            numbered = paragraph._p.get_or_add_pPr().get_or_add_numPr()
            numbered.get_or_add_ilvl().val = level
            numbered.get_or_add_numId().val = 90
    document.save(str(tmp_path / "numbered.docx"))
    preview = preview_file(tmp_path / "numbered.docx")
    assert preview.accepted and preview.book is not None
    assert [(a.number, a.text) for a in preview.book.articles] == [
        (1, "食堂供应：\n（一）早餐；\n（二）午餐。"),
        (2, "就餐须刷卡：\n（一）工作日；"),
        (3, "本办法自印发之日起施行。"),
    ]


def test_a_text_file_saved_as_gbk_is_read(tmp_path: Path) -> None:
    (tmp_path / "canteen.txt").write_bytes("机关食堂管理办法\n第一章 总则\n第一条 食堂每日供应午餐。\n".encode("gbk"))
    preview = preview_file(tmp_path / "canteen.txt")
    assert preview.accepted and preview.book is not None
    assert preview.book.article(1).text == "食堂每日供应午餐。"


def test_a_page_break_inside_a_sentence_of_a_text_file_is_joined(tmp_path: Path) -> None:
    path = tmp_path / "canteen.txt"
    path.write_text(
        "机关食堂管理办法\n第一章 总则\n第一条 食堂每日\n3\n\f机关食堂管理办法\n供应午餐。\n", encoding="utf-8"
    )
    preview = preview_file(path)
    assert preview.accepted and preview.book is not None
    assert preview.book.article(1).text == "食堂每日供应午餐。"


def test_a_lone_page_number_line_is_dropped_but_a_number_in_the_text_is_kept() -> None:
    page = [Line("第一条 甲。", "第1行"), Line("第3页", "第2行")]
    assert [line.text for line in normalise([page])] == ["第一条 甲。"]
    assert [line.text for line in normalise([[Line("第3页共9页的说明。", "第1行")]])] == ["第3页共9页的说明。"]
