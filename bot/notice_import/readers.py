"""Turning a file into lines and tables: plain text, Word (.docx) and PDF with a text layer.

Readers only report what the file says (text, bold/italic, where the source starts a
paragraph, list labels Word generates, tables); rebuilding paragraphs and cleaning
conversion debris is `cleanup`'s job so every format goes through the same rules.
"""

from __future__ import annotations

import io
import re
import statistics
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from bot.notice_import.encodings import convert_legacy, decode_bytes, legacy_font_encoding
from bot.notice_import.model import (
    EmptyNoticeError,
    Line,
    NoTextLayerError,
    NoticeImportError,
    NoticeTooLargeError,
    Table,
    UnsupportedFormatError,
)
from bot.notice_import.tables import is_task_table, task_columns

__all__ = ["MAX_PDF_PAGES", "Block", "read_docx", "read_pdf", "read_text"]

# A conclusion notice runs to a few pages; these bounds only stop a wrong file (a whole
# report, a zip bomb) from holding the importer for minutes.
MAX_PDF_PAGES = 150
_MAX_DOCX_UNPACKED = 100 * 1024 * 1024

Block = Line | Table

_PIPE_ROW = re.compile(r"^\s*\|.*\|\s*$")
_PIPE_RULE = re.compile(r"^\s*\|?(?:\s*:?-{3,}:?\s*\|)+\s*:?-{0,}:?\s*\|?\s*$")


# --- plain text --------------------------------------------------------------------------------


def read_text(data: bytes) -> tuple[list[Block], str]:
    """Lines of a text file and the encoding it was found in.

    Word's "save as plain text" writes a table row per line with its cells separated by
    tabs, and joins the two columns of the header ("Số: ..." and "place, ngày ...") the same
    way: runs of tab-separated rows that make a task table become a `Table`, other tabs
    separate columns (one line each) so the two sides never run into one another.
    """
    decoded = decode_bytes(data)
    if _looks_binary(decoded.text):
        raise UnsupportedFormatError(
            "the file is not a text document (binary data): send .docx, .pdf or .txt"
        )
    text = decoded.text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n\n")
    if not text.strip():
        raise EmptyNoticeError("the file holds no text")
    blocks: list[Block] = []
    blank_before = True
    table_rows: list[tuple[str, ...]] = []
    tab_rows: list[tuple[str, ...]] = []

    def flush_table() -> None:  # noqa: RUF100
        if table_rows:
            blocks.append(Table(tuple(table_rows)))
            table_rows.clear()

    def flush_tabs() -> None:
        nonlocal blank_before
        if not tab_rows:
            return
        columns = task_columns(tab_rows) if len(tab_rows) >= 2 else None
        header = columns.header_row if columns is not None else len(tab_rows)
        for row in tab_rows[:header]:  # two-column lines just above the table
            for cell in row:
                if cell:
                    blocks.append(Line(cell, new_paragraph=True))
        if header < len(tab_rows) - 1:
            blocks.append(Table(tuple(tab_rows[header:])))
        elif header < len(tab_rows):
            blocks.append(Line(" ".join(c for c in tab_rows[header] if c), new_paragraph=True))
        tab_rows.clear()
        blank_before = True

    for raw in text.split("\n"):
        line = raw.strip()
        if _PIPE_ROW.match(line):
            flush_tabs()
            if not _PIPE_RULE.match(line):
                table_rows.append(
                    tuple(cell.strip() for cell in line.strip().strip("|").split("|"))
                )
            continue
        flush_table()
        if "\t" in line:
            cells = tuple(" ".join(cell.split()) for cell in line.split("\t"))
            if sum(1 for cell in cells if cell) >= 2:
                tab_rows.append(cells)
                continue
            line = " ".join(line.split())
        flush_tabs()
        if not line:
            blank_before = True
            continue
        blocks.append(Line(line, new_paragraph=blank_before))
        blank_before = False
    flush_table()
    flush_tabs()
    return blocks, decoded.encoding


def _looks_binary(text: str) -> bool:
    """Control characters or undecodable bytes in more than 1% of it: not a text file."""
    if not text:
        return False
    if "\x00" in text:
        return True
    odd = sum(
        1
        for char in text
        if char == "\ufffd" or (unicodedata.category(char) == "Cc" and char not in "\t\n\r\f\v")
    )
    return odd > max(2, len(text) // 100)


def wrap_width(blocks: list[Block]) -> int | None:
    """The width a hard-wrapped text file was wrapped at, or None when it was not wrapped.

    Hard-wrapped files have most long lines near one width; a file with one paragraph
    per line has widths all over the place.
    """
    lengths = [len(b.text) for b in blocks if isinstance(b, Line) and len(b.text) > 20]
    if len(lengths) < 8:
        return None
    top = statistics.quantiles(lengths, n=10)[-1]  # 90th percentile
    near = [n for n in lengths if n >= top * 0.85]
    return int(top) if top <= 110 and len(near) >= len(lengths) * 0.4 else None


# --- Word ----------------------------------------------------------------------------------------


def read_docx(data: bytes) -> list[Block]:
    """Paragraphs (with Word's automatic numbering written out), tables, bold and italics."""
    try:
        import docx
        from docx.document import Document as DocumentType
        from docx.table import Table as DocxTable
        from docx.text.paragraph import Paragraph as DocxParagraph
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise NoticeImportError("python-docx is not installed") from exc
    _check_docx_size(data)
    # python-docx and lxml raise whatever a malformed part provokes (XMLSyntaxError,
    # PackageNotFoundError, KeyError, AttributeError on a missing element ...): any failure
    # to read the file is the same answer for the sender, so all of them are caught here.
    try:
        document: DocumentType = docx.Document(io.BytesIO(data))
        numbering = _Numbering(document)
        blocks: list[Block] = []
        for element in document.element.body.iterchildren():
            tag = element.tag.rsplit("}", 1)[-1]
            if tag == "p":
                blocks.extend(_docx_paragraph(DocxParagraph(element, document), numbering))
            elif tag == "tbl":
                blocks.extend(_docx_table(DocxTable(element, document), numbering))
    except NoticeImportError:
        raise
    except Exception as exc:
        raise NoticeImportError("the file is not a readable Word (.docx) document") from exc
    return blocks


def _check_docx_size(data: bytes) -> None:
    """Refuse a .docx that unpacks to far more than any notice (a zip bomb included)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise NoticeImportError("the file is not a readable Word (.docx) document") from exc
    if unpacked > _MAX_DOCX_UNPACKED:
        raise NoticeTooLargeError("the Word document unpacks to more than 100 MB")


def _docx_table(table: Any, numbering: _Numbering) -> list[Block]:
    rows: list[tuple[str, ...]] = []
    seen: set[int] = set()
    cell_rows: list[list[Any]] = []
    for row in table.rows:
        cells = []
        for cell in row.cells:
            if id(cell._tc) in seen:
                continue  # a merged cell repeats itself across the span
            seen.add(id(cell._tc))
            cells.append(cell)
        cell_rows.append(cells)
        rows.append(tuple(" ".join(cell.text.split()) for cell in cells))
    if is_task_table(rows):
        return [Table(tuple(rows))]
    from docx.table import Table as DocxTable
    from docx.text.paragraph import Paragraph as DocxParagraph

    blocks: list[Block] = []
    for cells in cell_rows:
        for cell in cells:
            for element in cell._tc.iterchildren():
                tag = element.tag.rsplit("}", 1)[-1]
                if tag == "p":
                    blocks.extend(_docx_paragraph(DocxParagraph(element, cell), numbering))
                elif tag == "tbl":
                    blocks.extend(_docx_table(DocxTable(element, cell), numbering))
    return blocks


def _docx_paragraph(paragraph: Any, numbering: _Numbering) -> list[Line]:
    pieces: list[tuple[str, bool, bool]] = []
    style_bold, style_italic = _style_emphasis(paragraph.style)
    style_font = _style_font(paragraph.style)
    for item in _runs(paragraph):
        text = item.text
        if not text:
            continue
        font = _run_font(item) or style_font
        encoding = legacy_font_encoding(font)
        if encoding is not None:
            text = convert_legacy(text, encoding)
            if encoding == "tcvn3" and font and font.strip().lower().endswith("h"):
                text = text.upper()  # .VnTimeH, .VnArialH: the capitals of the font family
        bold = item.bold if item.bold is not None else style_bold
        italic = item.italic if item.italic is not None else style_italic
        pieces.append((text, bool(bold), bool(italic)))
    text = "".join(piece for piece, _, _ in pieces)
    label = numbering.label_for(paragraph)
    if not text.strip():
        return []
    visible = [(t, b, i) for t, b, i in pieces if t.strip()]
    bold = bool(visible) and all(b for _, b, _ in visible)
    italic = bool(visible) and all(i for _, _, i in visible)
    lines = text.split("\n")
    out = []
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        out.append(
            Line(
                line.strip(),
                bold=bold,
                italic=italic,
                new_paragraph=index == 0,
                label=label if index == 0 else None,
            )
        )
    return out


def _runs(paragraph: Any) -> Iterator[Any]:
    """Runs in reading order, including those inside hyperlinks."""
    for item in paragraph.iter_inner_content():
        if hasattr(item, "runs") and not hasattr(item, "bold"):
            yield from item.runs
        else:
            yield item


def _run_font(run: Any) -> str | None:
    rpr = run._r.rPr
    if rpr is not None and rpr.rFonts is not None:
        for attribute in ("w:ascii", "w:hAnsi", "w:cs"):
            value = rpr.rFonts.get(
                "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
                + attribute.split(":")[1]
            )
            if value:
                return str(value)
    name = run.font.name
    return str(name) if name else None


def _style_font(style: Any) -> str | None:
    while style is not None:
        if style.font is not None and style.font.name:
            return str(style.font.name)
        style = style.base_style
    return None


def _style_emphasis(style: Any) -> tuple[bool, bool]:
    bold: bool | None = None
    italic: bool | None = None
    while style is not None and (bold is None or italic is None):
        font = style.font
        if bold is None and font.bold is not None:
            bold = font.bold
        if italic is None and font.italic is not None:
            italic = font.italic
        style = style.base_style
    return bool(bold), bool(italic)


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


@dataclass
class _Level:
    start: int
    fmt: str
    text: str


class _Numbering:
    """Word's automatic numbering, replayed: python-docx does not render list labels."""

    def __init__(self, document: Any) -> None:
        self._levels: dict[str, dict[int, _Level]] = {}
        self._overrides: dict[str, dict[int, int]] = {}
        self._abstract_of: dict[str, str] = {}
        self._counters: dict[str, dict[int, int]] = {}
        try:
            root = document.part.numbering_part.element
        except (KeyError, NotImplementedError, AttributeError):
            return
        abstracts: dict[str, dict[int, _Level]] = {}
        for abstract in root.iter(f"{_W}abstractNum"):
            levels: dict[int, _Level] = {}
            for lvl in abstract.iter(f"{_W}lvl"):
                ilvl = int(lvl.get(f"{_W}ilvl", "0"))
                start = lvl.find(f"{_W}start")
                fmt = lvl.find(f"{_W}numFmt")
                text = lvl.find(f"{_W}lvlText")
                levels[ilvl] = _Level(
                    int(start.get(f"{_W}val", "1")) if start is not None else 1,
                    fmt.get(f"{_W}val", "decimal") if fmt is not None else "decimal",
                    text.get(f"{_W}val", "") if text is not None else "",
                )
            abstracts[abstract.get(f"{_W}abstractNumId", "")] = levels
        for num in root.iter(f"{_W}num"):
            num_id = num.get(f"{_W}numId", "")
            ref = num.find(f"{_W}abstractNumId")
            if ref is None:
                continue
            self._levels[num_id] = abstracts.get(ref.get(f"{_W}val", ""), {})
            overrides: dict[int, int] = {}
            for override in num.iter(f"{_W}lvlOverride"):
                start = override.find(f"{_W}startOverride")
                if start is not None:
                    overrides[int(override.get(f"{_W}ilvl", "0"))] = int(start.get(f"{_W}val", "1"))
            self._overrides[num_id] = overrides

    def label_for(self, paragraph: Any) -> str | None:
        found = self._num_pr(paragraph)
        if found is None:
            return None
        num_id, ilvl = found
        levels = self._levels.get(num_id)
        if not levels or ilvl not in levels:
            return None
        counters = self._counters.setdefault(num_id, {})
        level = levels[ilvl]
        start = self._overrides.get(num_id, {}).get(ilvl, level.start)
        counters[ilvl] = counters[ilvl] + 1 if ilvl in counters else start
        for deeper in [k for k in counters if k > ilvl]:
            del counters[deeper]
        if level.fmt == "bullet":
            return "+" if level.text.strip() == "+" else "-"
        label = level.text
        for index in range(ilvl + 1):
            lvl = levels.get(index)
            if lvl is None:
                continue
            value = counters.get(index, self._overrides.get(num_id, {}).get(index, lvl.start))
            label = label.replace(f"%{index + 1}", _format_number(value, lvl.fmt))
        return label.strip() or None

    def _num_pr(self, paragraph: Any) -> tuple[str, int] | None:
        ppr = paragraph._p.pPr
        num_pr = ppr.numPr if ppr is not None else None
        style = paragraph.style
        while num_pr is None and style is not None:
            style_ppr = style.element.pPr
            num_pr = style_ppr.numPr if style_ppr is not None else None
            style = style.base_style
        if num_pr is None or num_pr.numId is None:
            return None
        num_id = str(num_pr.numId.val)
        if num_id == "0":
            return None
        ilvl = int(num_pr.ilvl.val) if num_pr.ilvl is not None else 0
        return num_id, ilvl


_ROMAN = ((1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
          (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"))  # fmt: skip


def _format_number(value: int, fmt: str) -> str:
    if fmt in {"upperRoman", "lowerRoman"}:
        out = ""
        for number, numeral in _ROMAN:
            while value >= number:
                out += numeral
                value -= number
        return out if fmt == "upperRoman" else out.lower()
    if fmt in {"lowerLetter", "upperLetter"}:
        letter = chr(ord("a") + (value - 1) % 26)
        return letter if fmt == "lowerLetter" else letter.upper()
    if fmt == "decimalZero":
        return f"{value:02d}"
    if fmt == "none":
        return ""
    return str(value)


# --- PDF -----------------------------------------------------------------------------------------


def read_pdf(data: bytes) -> list[Block]:
    """Lines of a PDF's text layer, columns of the header and signature read one by one."""
    try:
        import pdfplumber
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise NoticeImportError("pdfplumber is not installed") from exc
    blocks: list[Block] = []
    any_text = False
    # pdfminer raises a zoo of errors on damaged files (PSEOF, PDFTypeError, struct.error,
    # AssertionError, ...); all of them mean the same to the sender.
    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            if len(pdf.pages) > MAX_PDF_PAGES:
                raise NoticeTooLargeError(
                    f"the PDF has {len(pdf.pages)} pages; a notice has far fewer"
                )
            for page in pdf.pages:
                page_blocks, has_text = _pdf_page(page)
                any_text = any_text or has_text
                blocks.extend(page_blocks)
    except NoticeImportError:
        raise
    except Exception as exc:
        raise NoticeImportError("the file is not a readable PDF") from exc
    if not any_text:
        raise NoTextLayerError(
            "the PDF has no text layer (it is a scan); send the .docx or a PDF exported "
            "from Word, or run OCR first"
        )
    return blocks


@dataclass
class _Segment:
    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float
    bold: bool
    italic: bool


def _pdf_page(page: Any) -> tuple[list[Block], bool]:
    tables: list[tuple[tuple[float, float, float, float], tuple[tuple[str, ...], ...]]] = []
    for found in page.find_tables():
        rows = [
            tuple(" ".join((cell or "").split()) for cell in row) for row in found.extract() or []
        ]
        if is_task_table(rows):
            tables.append((found.bbox, tuple(rows)))

    def outside_tables(obj: dict[str, Any]) -> bool:
        if obj.get("object_type") != "char":
            return True
        for (x0, top, x1, bottom), _ in tables:
            if x0 - 1 <= obj["x0"] and obj["x1"] <= x1 + 1 and top - 1 <= obj["top"] <= bottom + 1:
                return False
        return True

    view = page.filter(outside_tables) if tables else page
    words = view.extract_words(extra_attrs=["fontname", "size"], use_text_flow=False)
    has_text = bool(words) or bool(tables)
    lines = _group_lines(words)
    segments_by_line = [_segments(line) for line in lines]
    mid = float(page.width) / 2
    items: list[tuple[float, Table | list[_Segment]]] = []
    # Runs of two-column lines (header, signature) are read column by column.
    run: list[list[_Segment]] = []

    def flush() -> None:
        if not run:
            return
        left = [s for line in run for s in line if s.x1 <= mid + 20]
        right = [s for line in run for s in line if s.x1 > mid + 20]
        top = run[0][0].top
        items.append((top, left))
        items.append((top + 0.001, right))
        run.clear()

    for segments in segments_by_line:
        columnar = len(segments) > 1 or (
            run and all(s.x0 >= mid - 20 or s.x1 <= mid + 20 for s in segments)
        )
        if columnar:
            run.append(segments)
            continue
        flush()
        items.append((segments[0].top, segments))
    flush()
    for bbox, table_rows in tables:
        items.append((bbox[1], Table(table_rows)))
    items.sort(key=lambda item: item[0])

    body = [s for _, value in items if isinstance(value, list) for s in value]
    left_margin = _mode([round(s.x0) for s in body]) if body else 0.0
    right_margin = max((s.x1 for s in body), default=float(page.width))
    blocks: list[Block] = []
    previous: _Segment | None = None
    for _, value in items:
        if isinstance(value, Table):
            blocks.append(value)
            previous = None
            continue
        for segment in value:
            if previous is None:
                new = True
            else:
                gap = segment.top - previous.bottom
                new = (
                    segment.x0 > left_margin + 8
                    or previous.x1 < right_margin - 40
                    or gap > max(previous.size, 8) * 1.2
                    or segment.bold != previous.bold
                    or previous.x0 > left_margin + 60  # after a centred or right-column line
                )
            blocks.append(
                Line(
                    segment.text,
                    bold=segment.bold,
                    italic=segment.italic,
                    new_paragraph=new,
                    continues=not new,
                )
            )
            previous = segment
    return blocks, has_text


def _mode(values: list[int]) -> float:
    return float(max(set(values), key=values.count))


def _group_lines(words: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    lines: list[list[dict[str, Any]]] = []
    for word in sorted(words, key=lambda w: (round(w["top"]), w["x0"])):
        if lines and abs(lines[-1][0]["top"] - word["top"]) <= 2.5:
            lines[-1].append(word)
        else:
            lines.append([word])
    return [sorted(line, key=lambda w: w["x0"]) for line in lines]


def _segments(line: list[dict[str, Any]]) -> list[_Segment]:
    groups: list[list[dict[str, Any]]] = [[line[0]]]
    for word in line[1:]:
        gap = word["x0"] - groups[-1][-1]["x1"]
        size = float(word.get("size") or 10)
        if gap > max(30.0, size * 3):
            groups.append([word])
        else:
            groups[-1].append(word)
    segments = []
    for group in groups:
        fonts = [str(w.get("fontname", "")) for w in group]
        bold = sum("bold" in f.lower() for f in fonts) > len(fonts) / 2
        italic = (
            sum(("italic" in f.lower() or "oblique" in f.lower()) for f in fonts) > len(fonts) / 2
        )
        segments.append(
            _Segment(
                " ".join(w["text"] for w in group),
                float(group[0]["x0"]),
                float(group[-1]["x1"]),
                float(min(w["top"] for w in group)),
                float(max(w["bottom"] for w in group)),
                float(group[0].get("size") or 10),
                bold,
                italic,
            )
        )
    return segments
