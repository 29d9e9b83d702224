"""CSV and Excel files for audit exports, safe to open.

A cell that starts with = + - @ (or a tab or carriage return before them) is a formula to Excel,
LibreOffice and WPS: a reason typed as =HYPERLINK(...) would run when an auditor opens the file.
Such text is written as text: in CSV with a leading apostrophe (the convention spreadsheets hide),
in XLSX as a string cell, which is never evaluated.
"""

import csv
import io
from collections.abc import Iterable, Sequence

from openpyxl import Workbook
from openpyxl.cell.cell import TYPE_STRING
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def to_csv(header: Sequence[str], rows: Iterable[Sequence[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows([_csv_cell(value) for value in row] for row in rows)
    # The BOM makes Excel on Chinese Windows open UTF-8 correctly.
    return buffer.getvalue().encode("utf-8-sig")


def to_xlsx(title: str, header: Sequence[str], rows: Iterable[Sequence[str]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert isinstance(sheet, Worksheet)  # a new workbook's only sheet
    sheet.title = title
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    for cells in sheet.iter_rows(min_row=2):
        for cell in cells:
            # openpyxl turns any string starting with "=" into a formula; keep what people typed as text.
            if isinstance(cell.value, str):
                cell.data_type = TYPE_STRING
    for index, name in enumerate(header, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = max(8, len(name) * 2 + 2)
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
