"""What the record's PDFs share (fpdf2, A4 portrait): a Unicode font where the
machine has one, headings, tables, and a footer naming the document, the
clinic's time zone and "page n of m" on every page."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import FontFace

#: Unicode fonts (patients' names are not all Latin-1): .ci/run installs
#: fonts-liberation; DejaVu is common; else the PDF core font, text reduced to Latin-1.
_FONTS = (
    (
        "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
    ),
    (
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    ),
)
FLAG = (180, 0, 0)


@cache
def _font_files() -> tuple[str, str] | None:
    return next(((r, b) for r, b in _FONTS if Path(r).is_file() and Path(b).is_file()), None)


class Pdf(FPDF):
    def __init__(self, footer_text: str, zone: str, unicode: bool) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.footer_text = footer_text
        self.zone = zone
        self.unicode = unicode

    def clean(self, text: str) -> str:
        return text if self.unicode else text.encode("latin-1", "replace").decode("latin-1")

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(size=8)
        text = f"{self.footer_text} - times in {self.zone} - page {self.page_no()} of {{nb}}"
        self.cell(0, 6, self.clean(text), align="C")


def heading(pdf: Pdf, text: str) -> None:
    pdf.ln(3)
    pdf.set_font(style="B", size=12)
    pdf.cell(0, 7, pdf.clean(text), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(style="", size=9)


def table(
    pdf: Pdf,
    head: Sequence[str],
    rows: Sequence[Sequence[str]],
    widths: Sequence[float],
    flagged: Sequence[bool] = (),
) -> None:
    with pdf.table(
        col_widths=tuple(widths),
        line_height=4.6,
        text_align="LEFT",
        headings_style=FontFace(emphasis="BOLD", fill_color=(235, 235, 235)),
        first_row_as_headings=True,
    ) as grid:
        grid.row([pdf.clean(h) for h in head])
        for i, cells in enumerate(rows):
            style = FontFace(color=FLAG) if i < len(flagged) and flagged[i] else None
            grid.row([pdf.clean(str(c)) for c in cells], style=style)


def text(pdf: Pdf, body: str, flag: bool = False) -> None:
    if flag:
        pdf.set_text_color(*FLAG)
    pdf.multi_cell(0, 5, pdf.clean(body), new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)


def new(footer_text: str, zone: str, title: str) -> Pdf:
    """A document with its font set and its first page added."""
    fonts = _font_files()
    pdf = Pdf(footer_text, zone, fonts is not None)
    if fonts is not None:
        pdf.add_font("body", "", fonts[0])
        pdf.add_font("body", "B", fonts[1])
        pdf.set_font("body", size=9)
    else:
        pdf.set_font("helvetica", size=9)
    pdf.set_title(title)
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    return pdf
