"""Texts written into spreadsheets (CSV and Excel) as texts: never run as formulas by the program opening them; and
into a terminal's tables as texts: never read as console markup.

A name, a note or a procedure typed by someone outside the office (an applicant online, a portal record) may start
with ``=``, ``+``, ``@`` or ``-``: a spreadsheet would run it (a link to anywhere, a call to another program). Every
export motcua writes passes its cells through here. Likewise a ``[…]`` in a cell of a rich table (a reason
``Bổ sung [bản sao]``, a name typed online) is read as a style and vanishes, and a ``[/]`` fails the whole table: the
tables that show what someone typed pass their cells through :func:`table_texts`.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text

from motcua.workflow.dossiers.catalogue_import import runs_as_formula

__all__ = ["csv_text", "table_texts", "texts_only"]


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


def table_texts(*cells: str | None) -> list[Text]:
    """Cells of a rich table as the texts they are (``None``: empty), never console markup."""
    return [Text(cell or "") for cell in cells]
