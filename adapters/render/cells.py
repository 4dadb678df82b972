"""Texts written into spreadsheets (CSV and Excel) as texts: never run as formulas by the program opening them.

A name, a note or a procedure typed by someone outside the office (an applicant online, a portal record) may start
with ``=``, ``+``, ``@`` or ``-``: a spreadsheet would run it (a link to anywhere, a call to another program). Every
export motcua writes passes its cells through here.
"""

from __future__ import annotations

from typing import Any

from motcua.workflow.dossiers.catalogue_import import runs_as_formula

__all__ = ["csv_text", "texts_only"]


def csv_text(text: str) -> str:
    """``text`` for a CSV cell: one a spreadsheet would run as a formula is quoted with ``'`` (shown as text)."""
    return f"'{text}" if runs_as_formula(text) else text


def texts_only(book: Any) -> Any:
    """``book`` (an openpyxl workbook) with every cell openpyxl took for a formula (a text starting with ``=``) kept as
    the text it is, never run by the spreadsheet that opens it. Call it last, before saving."""
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    cell.data_type = "s"
    return book
