"""Renderers for the test notices: legacy encoders, and .docx / .pdf renderings of a notice.

Used by tests/test_notice_import.py and bench/import_accuracy.py (loaded by path: this
directory is test data, not a package).

The encoders go the other way from bot/notice_import/encodings.py (Unicode to bytes) and are
written from the fonts' layouts, so a round trip checks the decoder against an independent
statement of each layout. The renderers give the same notice the shape real files have:
a two-column header, automatic numbering, bold headings, a bordered task table, a
two-column signature block, page numbers.
"""

from __future__ import annotations

import io
import re
import unicodedata
from pathlib import Path

# --- legacy encoders -------------------------------------------------------------------------

_TCVN3_LOWER = {
    "à": 0xB5, "ả": 0xB6, "ã": 0xB7, "á": 0xB8, "ạ": 0xB9,
    "ằ": 0xBB, "ẳ": 0xBC, "ẵ": 0xBD, "ắ": 0xBE, "ặ": 0xC6,
    "ầ": 0xC7, "ẩ": 0xC8, "ẫ": 0xC9, "ấ": 0xCA, "ậ": 0xCB,
    "è": 0xCC, "ẻ": 0xCE, "ẽ": 0xCF, "é": 0xD0, "ẹ": 0xD1,
    "ề": 0xD2, "ể": 0xD3, "ễ": 0xD4, "ế": 0xD5, "ệ": 0xD6,
    "ì": 0xD7, "ỉ": 0xD8, "ĩ": 0xDC, "í": 0xDD, "ị": 0xDE,
    "ò": 0xDF, "ỏ": 0xE1, "õ": 0xE2, "ó": 0xE3, "ọ": 0xE4,
    "ồ": 0xE5, "ổ": 0xE6, "ỗ": 0xE7, "ố": 0xE8, "ộ": 0xE9,
    "ờ": 0xEA, "ở": 0xEB, "ỡ": 0xEC, "ớ": 0xED, "ợ": 0xEE,
    "ù": 0xEF, "ủ": 0xF1, "ũ": 0xF2, "ú": 0xF3, "ụ": 0xF4,
    "ừ": 0xF5, "ử": 0xF6, "ữ": 0xF7, "ứ": 0xF8, "ự": 0xF9,
    "ỳ": 0xFA, "ỷ": 0xFB, "ỹ": 0xFC, "ý": 0xFD, "ỵ": 0xFE,
    "ă": 0xA8, "â": 0xA9, "ê": 0xAA, "ô": 0xAB, "ơ": 0xAC, "ư": 0xAD, "đ": 0xAE,
    "Ă": 0xA1, "Â": 0xA2, "Ê": 0xA3, "Ô": 0xA4, "Ơ": 0xA5, "Ư": 0xA6, "Đ": 0xA7,
}  # fmt: skip


def encode_tcvn3(text: str) -> bytes:
    """As an ABC (.VnTime / .VnTimeH) typist would save it: toned capitals become the
    lower-case codes the .VnTimeH font draws as capitals."""
    out = bytearray()
    for char in unicodedata.normalize("NFC", text):
        if ord(char) < 0x80:
            out.append(ord(char))
        elif char in _TCVN3_LOWER:
            out.append(_TCVN3_LOWER[char])
        elif char.lower() in _TCVN3_LOWER:
            out.append(_TCVN3_LOWER[char.lower()])
        else:
            raise ValueError(f"{char!r} has no TCVN3 code")
    return bytes(out)


_VNI_TONES = {"\u0301": "ù", "\u0300": "ø", "\u0309": "û", "\u0303": "õ", "\u0323": "ï"}
_VNI_CIRC = {"": "â", "\u0301": "á", "\u0300": "à", "\u0309": "å", "\u0303": "ã", "\u0323": "ä"}
_VNI_BREVE = {"": "ê", "\u0301": "é", "\u0300": "è", "\u0309": "ú", "\u0303": "ü", "\u0323": "ë"}
_VNI_I = {"": "i", "\u0301": "í", "\u0300": "ì", "\u0309": "æ", "\u0303": "ó", "\u0323": "ò"}


def encode_vni(text: str) -> bytes:
    """VNI-Windows: a base letter then a mark character; the marks are Windows-1252 bytes."""
    out: list[str] = []
    for char in unicodedata.normalize("NFC", text):
        decomposed = unicodedata.normalize("NFD", char)
        base, marks = decomposed[0], decomposed[1:]
        upper = base.isupper()
        if char in "đĐ":
            out.append("ñ" if char == "đ" else "Ñ")
            continue
        if not marks or ord(base) >= 0x80:
            out.append(char)
            continue
        tone = "".join(m for m in marks if m in _VNI_TONES)
        if base in "iI":
            letter = _VNI_I[tone]
            out.append(letter.upper() if upper else letter)
            continue
        if base in "yY" and tone == "\u0323":
            out.append("Î" if upper else "î")
            continue
        if "\u031b" in marks:  # horn: ơ, ư have their own code
            out.append(
                {"o": "ô", "u": "ö"}[base.lower()].upper() if upper else {"o": "ô", "u": "ö"}[base]
            )
            mark = _VNI_TONES.get(tone, "")
        elif "\u0302" in marks:
            out.append(base)
            mark = _VNI_CIRC[tone]
        elif "\u0306" in marks:
            out.append(base)
            mark = _VNI_BREVE[tone]
        else:
            out.append(base)
            mark = _VNI_TONES[tone]
        out.append(mark.upper() if upper else mark)
    return "".join(out).encode("cp1252")


def encode_cp1258(text: str) -> bytes:
    """Windows-1258 has ă â ê ô ơ ư đ precomposed but writes tones as combining marks."""
    out = bytearray()
    for char in unicodedata.normalize("NFC", text):
        try:
            out += char.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        decomposed = unicodedata.normalize("NFD", char)
        tones = "".join(m for m in decomposed if m in "\u0300\u0301\u0303\u0309\u0323")
        base = unicodedata.normalize("NFC", "".join(m for m in decomposed if m not in tones))
        out += base.encode("cp1258") + tones.encode("cp1258")
    return bytes(out)


# --- structure of a text notice --------------------------------------------------------------

_LABEL = re.compile(r"^(?P<label>(?:[IVX]+\.|\d+(?:\.\d+)*\.|[a-zđ]\)))\s+(?P<rest>.*)$")
_BULLET = re.compile(r"^(?P<bullet>[-+*•])\s+(?P<rest>.*)$")


def _blocks(text: str) -> list[str]:
    """Paragraphs of a text notice: blank lines separate them, and so do list items."""
    blocks: list[str] = []
    current: list[str] = []
    for raw in text.replace("\r\n", "\n").split("\n"):
        line = raw.strip()
        if not line:
            if current:
                blocks.append(" ".join(current))
                current = []
            continue
        if current and (
            _BULLET.match(line)
            or _LABEL.match(line)
            or line.startswith("|")
            or current[-1].startswith("|")
        ):
            blocks.append(" ".join(current))
            current = []
        current.append(line)
    if current:
        blocks.append(" ".join(current))
    return blocks


class _Parts:
    """A text notice cut into the parts a Word template lays out differently."""

    def __init__(self, text: str) -> None:
        from bot.domain.textnorm import fold

        text = text.replace("\r\n", "\n")
        head, _, tail = text.partition("Nơi nhận:")
        lines = [line.strip() for line in head.split("\n")]
        folded = [fold(line) for line in lines]
        title_at = next(i for i, f in enumerate(folded) if f.startswith("thong bao"))
        header = [
            (line, f) for line, f in zip(lines[:title_at], folded[:title_at], strict=True) if line
        ]
        self.issuer = []

        def is_number(low: str) -> bool:
            return re.match(r"^so\s*:?\s*[\w.\-]*\s*/", low) is not None

        for line, low in header:
            if low.startswith(("cong hoa", "doc lap")) or is_number(low) or ", ngay" in low:
                break
            self.issuer.append(line)
        self.motto = next((line for line, low in header if low.startswith("cong hoa")), "")
        self.number = next(line for line, low in header if is_number(low))
        self.place_date = next(line for line, low in header if ", ngay" in low)
        blocks = _blocks("\n".join(lines[title_at:]))
        first = blocks[0]
        if fold(first) != "thong bao":  # "THÔNG BÁO Kết luận ..." joined by the block splitter
            self.title = first[len("THÔNG BÁO") :].strip()
            self.body = blocks[1:]
        else:
            self.title = blocks[1]
            self.body = blocks[2:]
        # Without blank lines the title runs into the opening "Ngày 05/9/2023, ...".
        parts = re.split(r"\s(?=(?:Sáng |Chiều |Vào )?[Nn]gày \d)", self.title, maxsplit=1)
        if len(parts) == 2:
            self.title, opening = parts
            self.body = [opening, *self.body]
        tail_lines = [line.strip() for line in tail.split("\n")]
        self.recipients = [line for line in tail_lines if line.startswith("-")]
        self.signature = [line for line in tail_lines if line and not line.startswith("-")]


def _table_rows(block_lines: list[str]) -> list[list[str]]:
    rows = []
    for line in block_lines:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if all(re.fullmatch(r":?-{3,}:?", c) for c in cells if c):
            continue
        rows.append(cells)
    return rows


def _body_items(body: list[str]) -> list[tuple[str, str]]:
    """(kind, text) with kind "table" for a run of pipe rows (joined by newlines)."""
    items: list[tuple[str, str]] = []
    for block in body:
        if block.startswith("|"):
            if items and items[-1][0] == "table":
                items[-1] = ("table", items[-1][1] + "\n" + block)
            else:
                items.append(("table", block))
        else:
            items.append(("para", block))
    return items


# --- .docx -----------------------------------------------------------------------------------


def _strip_marks(text: str) -> tuple[str, bool]:
    """Text without markdown emphasis, and whether the whole block was emphasised."""
    stripped = text.strip()
    whole = bool(re.fullmatch(r"\*\*?.+?\*\*?", stripped)) and not stripped.startswith("* ")
    return re.sub(r"\*+", "", stripped).strip(), whole


def build_docx(text: str) -> bytes:
    """A Word file as a district office would type the notice."""
    import docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    parts = _Parts(text)
    document = docx.Document()
    numbering = _NumberingBuilder(document)

    header = document.add_table(rows=1, cols=2)
    left, right = header.rows[0].cells
    left.text = ""
    for i, line in enumerate([*(parts.issuer or ["ỦY BAN NHÂN DÂN"]), parts.number]):
        para = left.paragraphs[0] if i == 0 else left.add_paragraph()
        para.alignment = WD_ALIGN_PARAGRAPH.CENTER
        para.add_run(line).bold = i < len(parts.issuer)
    motto = parts.motto or "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    for i, line in enumerate([motto, "Độc lập - Tự do - Hạnh phúc", parts.place_date]):
        para = right.paragraphs[0] if i == 0 else right.add_paragraph()
        para.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = para.add_run(line)
        run.bold = i < 2
        run.italic = i == 2

    for line, bold in (("THÔNG BÁO", True), (parts.title, True)):
        para = document.add_paragraph()
        para.alignment = WD_ALIGN_PARAGRAPH.CENTER
        para.add_run(line).bold = bold

    for kind, block in _body_items(parts.body):
        if kind == "table":
            rows = _table_rows(block.split("\n"))
            table = document.add_table(rows=len(rows), cols=len(rows[0]))
            table.style = "Table Grid"
            for r, row in enumerate(rows):
                for c, value in enumerate(row):
                    cell = table.cell(r, c)
                    cell.text = ""
                    cell.paragraphs[0].add_run(value).bold = r == 0
            continue
        label_match = _LABEL.match(block)
        bullet_match = _BULLET.match(block)
        para = document.add_paragraph()
        para.paragraph_format.first_line_indent = Pt(28)
        content = block
        if label_match:
            numbering.apply(para, label_match.group("label"))
            content = label_match.group("rest")
        elif bullet_match and bullet_match.group("bullet") in "-+":
            numbering.apply(para, bullet_match.group("bullet"))
            content = bullet_match.group("rest")
        _add_runs(para, content, heading=bool(label_match) and _is_heading(content))

    sign = document.add_table(rows=1, cols=2)
    left, right = sign.rows[0].cells
    left.text = ""
    first = left.paragraphs[0]
    first.add_run("Nơi nhận:").bold = True
    for line in parts.recipients:
        left.add_paragraph().add_run(line).italic = True
    right.text = ""
    lines = [re.sub(r"\*+", "", line) for line in parts.signature]
    for i, line in enumerate([*lines[:-1], "", "", lines[-1]]):
        para = right.paragraphs[0] if i == 0 else right.add_paragraph()
        para.alignment = WD_ALIGN_PARAGRAPH.CENTER
        para.add_run(line).bold = True

    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _is_heading(content: str) -> bool:
    return len(content) < 120 and not content.rstrip().endswith((".", ";"))


def _add_runs(para: object, content: str, *, heading: bool) -> None:
    """Runs with bold where the text marks it (**...**) and for whole headings."""
    text, whole = _strip_marks(content)
    pieces = re.split(r"(\*\*[^*]+\*\*)", content.strip())
    if whole or heading:
        run = para.add_run(text)  # type: ignore[attr-defined]
        run.bold = True
        run.italic = whole and not heading
        return
    for piece in pieces:
        if not piece:
            continue
        if piece.startswith("**"):
            para.add_run(piece.strip("*")).bold = True  # type: ignore[attr-defined]
        else:
            para.add_run(piece.replace("*", ""))  # type: ignore[attr-defined]


class _NumberingBuilder:
    """Word automatic numbering for the labels a notice uses (I., 1., 2.1., a), -, +).

    Each label kind gets its own abstract numbering whose start value is the label's own
    number, so the rendered labels equal the text's even when a list restarts.
    """

    def __init__(self, document: object) -> None:
        self._document = document
        self._numbering = document.part.numbering_part.element  # type: ignore[attr-defined]
        self._next_abstract = 100
        self._next_num = 100

    def apply(self, para: object, label: str) -> None:
        from docx.oxml import OxmlElement
        from docx.oxml.ns import qn

        fmt, text, start, level = _label_format(label)
        abstract_id = self._next_abstract
        self._next_abstract += 1
        abstract = OxmlElement("w:abstractNum")
        abstract.set(qn("w:abstractNumId"), str(abstract_id))
        for ilvl in range(level + 1):
            lvl = OxmlElement("w:lvl")
            lvl.set(qn("w:ilvl"), str(ilvl))
            start_el = OxmlElement("w:start")
            start_el.set(qn("w:val"), str(start[ilvl] if ilvl < len(start) else 1))
            fmt_el = OxmlElement("w:numFmt")
            fmt_el.set(qn("w:val"), fmt if ilvl == level else "decimal")
            text_el = OxmlElement("w:lvlText")
            text_el.set(qn("w:val"), text if ilvl == level else f"%{ilvl + 1}.")
            lvl.extend([start_el, fmt_el, text_el])
            abstract.append(lvl)
        first_num = self._numbering.find(qn("w:num"))
        if first_num is not None:
            first_num.addprevious(abstract)
        else:
            self._numbering.append(abstract)
        num_id = self._next_num
        self._next_num += 1
        num = OxmlElement("w:num")
        num.set(qn("w:numId"), str(num_id))
        ref = OxmlElement("w:abstractNumId")
        ref.set(qn("w:val"), str(abstract_id))
        num.append(ref)
        self._numbering.append(num)
        ppr = para._p.get_or_add_pPr()  # type: ignore[attr-defined]
        numpr = OxmlElement("w:numPr")
        ilvl_el = OxmlElement("w:ilvl")
        ilvl_el.set(qn("w:val"), str(level))
        numid_el = OxmlElement("w:numId")
        numid_el.set(qn("w:val"), str(num_id))
        numpr.extend([ilvl_el, numid_el])
        ppr.append(numpr)


_ROMAN = {
    "I": 1,
    "II": 2,
    "III": 3,
    "IV": 4,
    "V": 5,
    "VI": 6,
    "VII": 7,
    "VIII": 8,
    "IX": 9,
    "X": 10,
}
_LETTERS = "abcdđeghiklmnopqrstuvxy"


def _label_format(label: str) -> tuple[str, str, list[int], int]:
    """(numFmt, lvlText, start per level, level) for a written label."""
    if label in "-+":
        return "bullet", label, [1], 0
    if label.endswith(")"):
        letter = label[:-1]
        # Word's lowerLetter has no "đ": Vietnamese templates write it as a literal level.
        if letter == "đ":
            return "none", "đ)", [1], 0
        return "lowerLetter", "%1)", ["abcdefghijklmnopqrstuvwxyz".index(letter) + 1], 0
    body = label.rstrip(".")
    if body in _ROMAN:
        return "upperRoman", "%1.", [_ROMAN[body]], 0
    numbers = [int(n) for n in body.split(".")]
    level = len(numbers) - 1
    text = ".".join(f"%{i + 1}" for i in range(len(numbers))) + "."
    return "decimal", text, numbers, level


# --- .pdf ------------------------------------------------------------------------------------

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")


def pdf_font_available() -> bool:
    return (FONT_DIR / "DejaVuSerif.ttf").exists() and (FONT_DIR / "DejaVuSerif-Bold.ttf").exists()


def build_pdf(text: str) -> bytes:
    """A PDF with a text layer, laid out like a printed notice (A4, Times-like serif)."""
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    parts = _Parts(text)
    pdf = FPDF(format="A4", unit="pt")
    pdf.set_margins(72, 56, 56)
    pdf.set_auto_page_break(True, margin=60)
    pdf.add_font("Serif", "", str(FONT_DIR / "DejaVuSerif.ttf"))
    pdf.add_font("Serif", "B", str(FONT_DIR / "DejaVuSerif-Bold.ttf"))
    italic = FONT_DIR / "DejaVuSerif-Italic.ttf"
    pdf.add_font("Serif", "I", str(italic if italic.exists() else FONT_DIR / "DejaVuSerif.ttf"))

    def footer() -> None:
        pdf.set_y(-40)
        pdf.set_font("Serif", "", 9)
        pdf.cell(0, 10, str(pdf.page_no()), align="C")

    pdf.footer = footer  # type: ignore[method-assign]
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin
    half = width / 2 - 10

    y0 = pdf.get_y()
    pdf.set_font("Serif", "B", 10)
    for line in parts.issuer or ["ỦY BAN NHÂN DÂN"]:
        pdf.set_x(pdf.l_margin)
        pdf.cell(half, 14, line, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Serif", "", 10)
    pdf.set_x(pdf.l_margin)
    pdf.cell(half, 14, parts.number, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    y_left = pdf.get_y()
    pdf.set_y(y0)
    pdf.set_font("Serif", "B", 10)
    for line in (
        parts.motto or "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
    ):
        pdf.set_x(pdf.l_margin + half + 20)
        pdf.cell(half, 14, line, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Serif", "I", 10)
    pdf.set_x(pdf.l_margin + half + 20)
    pdf.cell(half, 14, parts.place_date, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_y(max(y_left, pdf.get_y()) + 14)

    pdf.set_font("Serif", "B", 12)
    pdf.cell(0, 16, "THÔNG BÁO", align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.multi_cell(0, 15, parts.title, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(8)

    for kind, block in _body_items(parts.body):
        if kind == "table":
            rows = _table_rows(block.split("\n"))
            pdf.set_font("Serif", "", 8)
            col_widths = _column_widths(len(rows[0]), width)
            with pdf.table(
                col_widths=col_widths, line_height=10, first_row_as_headings=True, text_align="LEFT"
            ) as table:
                for row in rows:
                    table_row = table.row()
                    for value in row:
                        table_row.cell(value)
            pdf.ln(6)
            continue
        content, whole = _strip_marks(block)
        label = _LABEL.match(content)
        heading = bool(label) and _is_heading(label.group("rest") if label else content)
        style = "B" if heading else ("BI" if whole else "")
        pdf.set_font("Serif", style.replace("BI", "B"), 11)
        pdf.set_x(pdf.l_margin)
        indent = "      "  # a first-line indent, as Word prints it
        pdf.multi_cell(0, 14, indent + content, align="J", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(3)

    pdf.ln(10)
    y0 = pdf.get_y()
    if y0 > pdf.h - 200:
        pdf.add_page()
        y0 = pdf.get_y()
    pdf.set_font("Serif", "B", 9)
    pdf.set_x(pdf.l_margin)
    pdf.cell(half, 12, "Nơi nhận:", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Serif", "", 8)
    for line in parts.recipients:
        pdf.set_x(pdf.l_margin)
        pdf.cell(half, 11, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_y(y0)
    pdf.set_font("Serif", "B", 10)
    lines = [re.sub(r"\*+", "", line) for line in parts.signature]
    for line in lines[:-1]:
        pdf.set_x(pdf.l_margin + half + 20)
        pdf.cell(half, 14, line, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(40)
    pdf.set_x(pdf.l_margin + half + 20)
    pdf.cell(half, 14, lines[-1], align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())


def _column_widths(count: int, width: float) -> tuple[float, ...]:
    if count == 5:
        return (6, 40, 20, 20, 14)
    return tuple(width / count for _ in range(count))
