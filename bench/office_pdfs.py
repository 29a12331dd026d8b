"""Make office PDFs of plain-text documents the way a bureau's archive has them.

Each text becomes a .docx (python-docx: a centred title, chapter lines centred, paragraphs
with a two-character first-line indent, body in 仿宋-like serif at 14 pt) and LibreOffice
exports it to PDF. ``furniture=True`` adds what office PDFs carry on every page: a running
header (the document's title) and a footer with the page number as a PAGE field, drawn
as ``— 3 —``. Used by bench/bench_pdf_quality.py and by the tests.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt

CJK_FONT = "Noto Serif CJK SC"


def _set_fonts(run, size: float, bold: bool = False) -> None:
    run.font.size = Pt(size)
    run.font.bold = bold
    run.font.name = "Liberation Serif"  # digits and Latin in another font, as Word does
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), CJK_FONT)


def _page_field(paragraph) -> None:
    run = paragraph.add_run()
    for tag, attrs, text in (
        ("w:fldChar", {"w:fldCharType": "begin"}, None),
        ("w:instrText", {"xml:space": "preserve"}, " PAGE "),
        ("w:fldChar", {"w:fldCharType": "separate"}, None),
        ("w:t", {}, "1"),
        ("w:fldChar", {"w:fldCharType": "end"}, None),
    ):
        element = OxmlElement(tag)
        for key, value in attrs.items():
            element.set(qn(key), value)
        if text:
            element.text = text
        run._element.append(element)


def make_docx(lines: list[str], target: Path, *, furniture: bool) -> Path:
    """Write ``lines`` (first = title) as an office-style .docx at ``target``."""
    document = Document()
    section = document.sections[0]
    for i, line in enumerate(lines):
        paragraph = document.add_paragraph()
        centred = i == 0 or (line.startswith("第") and line.split(" ")[0].endswith(("章", "节")))
        if centred:
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        else:
            paragraph.paragraph_format.first_line_indent = Pt(28)
            paragraph.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
        _set_fonts(paragraph.add_run(line), 22 if i == 0 else 14, bold=i == 0)
    if furniture:
        header = section.header.paragraphs[0]
        header.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _set_fonts(header.add_run(lines[0]), 10.5)
        footer = section.footer.paragraphs[0]
        footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _set_fonts(footer.add_run("— "), 12)
        _page_field(footer)
        for run in footer.runs[1:]:
            _set_fonts(run, 12)
        _set_fonts(footer.add_run(" —"), 12)
    document.save(str(target))
    return target


def convert_to_pdf(docx: Path, out_dir: Path, timeout: float = 180) -> Path:
    """Export ``docx`` to PDF with LibreOffice headless, with a profile of its own."""
    soffice = shutil.which("soffice")
    if soffice is None:
        raise RuntimeError("LibreOffice (soffice) is not installed")
    with tempfile.TemporaryDirectory(prefix="lo-profile-") as profile:
        subprocess.run(
            [
                soffice,
                f"-env:UserInstallation=file://{profile}",
                "--headless",
                "--convert-to",
                "pdf",
                "--outdir",
                str(out_dir),
                str(docx),
            ],
            check=True,
            capture_output=True,
            timeout=timeout,
        )
    return out_dir / (docx.stem + ".pdf")


def office_pdf(text: str, target: Path, *, furniture: bool) -> Path:
    """Make ``target`` (a .pdf) from a plain text, blank lines dropped."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    with tempfile.TemporaryDirectory(prefix="office-pdf-") as tmp:
        docx = make_docx(lines, Path(tmp) / (target.stem + ".docx"), furniture=furniture)
        pdf = convert_to_pdf(docx, Path(tmp))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(pdf), target)
    return target
