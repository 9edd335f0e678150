"""Vietnamese text as it still arrives: UTF-8, Windows-1258, TCVN3 (ABC) and VNI-Windows.

Offices kept typing in the 8-bit .VnTime (TCVN3) and VNI-Times fonts long after Unicode
became the standard, so a "text" file or a Word run may carry bytes that only make sense
with the font they were typed in. Nothing in the file names its encoding, so each
candidate decoding is scored by how much of it reads as common Vietnamese words and the
best one wins.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass

__all__ = [
    "DecodedText",
    "decode_bytes",
    "decode_tcvn3",
    "decode_vni",
    "legacy_font_encoding",
    "repair_legacy_text",
    "restore_tcvn3_capitals",
    "vietnamese_score",
]

# --- TCVN3 (TCVN 5712:1993, VN3) -----------------------------------------------------------
# VN3 only has lower-case toned vowels plus the seven upper-case base letters; the .VnTimeH
# fonts draw the lower-case codes as capitals. The upper-case positions of VN1 (the
# superset glibc calls TCVN5712-1) are decoded too: they never clash with VN3 text.
_TCVN3_ROWS: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("àảãáạ", (0xB5, 0xB6, 0xB7, 0xB8, 0xB9)),
    ("ằẳẵắặ", (0xBB, 0xBC, 0xBD, 0xBE, 0xC6)),
    ("ầẩẫấậ", (0xC7, 0xC8, 0xC9, 0xCA, 0xCB)),
    ("èẻẽéẹ", (0xCC, 0xCE, 0xCF, 0xD0, 0xD1)),
    ("ềểễếệ", (0xD2, 0xD3, 0xD4, 0xD5, 0xD6)),
    ("ìỉĩíị", (0xD7, 0xD8, 0xDC, 0xDD, 0xDE)),
    ("òỏõóọ", (0xDF, 0xE1, 0xE2, 0xE3, 0xE4)),
    ("ồổỗốộ", (0xE5, 0xE6, 0xE7, 0xE8, 0xE9)),
    ("ờởỡớợ", (0xEA, 0xEB, 0xEC, 0xED, 0xEE)),
    ("ùủũúụ", (0xEF, 0xF1, 0xF2, 0xF3, 0xF4)),
    ("ừửữứự", (0xF5, 0xF6, 0xF7, 0xF8, 0xF9)),
    ("ỳỷỹýỵ", (0xFA, 0xFB, 0xFC, 0xFD, 0xFE)),
    ("ĂÂÊÔƠƯĐ", (0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7)),
    ("ăâêôơưđ", (0xA8, 0xA9, 0xAA, 0xAB, 0xAC, 0xAD, 0xAE)),
    # VN1 capitals.
    ("ÀẢÃÁẠẶẬÈẺẼÉẸỆÌỈĨÍỊÒỎÕÓỌỘỜỞỠỚỢÙỦŨ", tuple(range(0x80, 0xA0))),
    ("ÚỤỪỬỮỨỰỲỶỸÝỴ", (0x01, 0x02, 0x04, 0x05, 0x06, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17)),
    (
        "ẰẲẴẮẦẨẪẤỀỂỄẾỒỔỖỐ",
        (
            0xAF,
            0xBA,
            0xBF,
            0xC0,
            0xC1,
            0xC2,
            0xC3,
            0xC4,
            0xC5,
            0xCD,
            0xD9,
            0xDA,
            0xDB,
            0xE0,
            0xF0,
            0xFF,
        ),
    ),
    ("\u0300\u0309\u0303\u0301\u0323", (0xB0, 0xB1, 0xB2, 0xB3, 0xB4)),
)


def _tcvn3_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for chars, codes in _TCVN3_ROWS:
        if len(chars) != len(codes):  # pragma: no cover - guards the table above
            raise AssertionError(f"TCVN3 row {chars!r} has {len(codes)} codes")
        table.update(zip(codes, chars, strict=True))
    return table


_TCVN3 = _tcvn3_table()


def decode_tcvn3(data: bytes) -> str:
    """Bytes typed in a .VnTime font, as Unicode (NFC)."""
    return unicodedata.normalize("NFC", "".join(_TCVN3.get(byte) or chr(byte) for byte in data))


_ASCII_LETTERS = re.compile(r"[A-Za-z]")


def restore_tcvn3_capitals(text: str) -> str:
    """Capitalise what was typed in an upper-case .VnTimeH font.

    Those fonts draw VN3's lower-case toned vowels as capitals, so "HUYỆN" arrives as the
    bytes of "HUYệN": a line (or word) whose plain letters are all capitals was written in
    capitals throughout. Matching folds case, but the header's issuer, the title and the
    signature block are read by their capitals.
    """
    lines = []
    for line in text.split("\n"):
        # Codes ("97/TB-UBND") are capitals in any font: only words count.
        words_only = " ".join(w for w in line.split() if not re.search(r"[\d/\-]", w))
        letters = _ASCII_LETTERS.findall(words_only)
        if len(letters) >= 4 and all(char.isupper() for char in letters):
            lines.append(line.upper())
            continue
        words = []
        for word in line.split(" "):
            plain = _ASCII_LETTERS.findall(word)
            if (
                len(plain) >= 2
                and all(c.isupper() for c in plain)
                and word != word.upper()
                and not re.search(r"[\d/\-]", word)
            ):
                word = word.upper()
            words.append(word)
        lines.append(" ".join(words))
    return "\n".join(lines)


# --- VNI-Windows ---------------------------------------------------------------------------
# VNI writes a base letter followed by a "mark" character (the mark glyphs sit on Latin-1
# code points), except for a few letters that have a code of their own.
_VNI_MARKS: dict[str, str] = {}
for _lower, _upper, _combining in (
    ("ù", "Ù", "\u0301"),  # sắc
    ("ø", "Ø", "\u0300"),  # huyền
    ("û", "Û", "\u0309"),  # hỏi
    ("õ", "Õ", "\u0303"),  # ngã
    ("ï", "Ï", "\u0323"),  # nặng
    ("â", "Â", "\u0302"),  # mũ (â, ê, ô)
    ("ê", "Ê", "\u0306"),  # trăng (ă)
    ("á", "Á", "\u0302\u0301"),
    ("à", "À", "\u0302\u0300"),
    ("å", "Å", "\u0302\u0309"),
    ("ã", "Ã", "\u0302\u0303"),
    ("ä", "Ä", "\u0302\u0323"),
    ("é", "É", "\u0306\u0301"),
    ("è", "È", "\u0306\u0300"),
    ("ú", "Ú", "\u0306\u0309"),
    ("ü", "Ü", "\u0306\u0303"),
    ("ë", "Ë", "\u0306\u0323"),
):
    _VNI_MARKS[_lower] = _combining
    _VNI_MARKS[_upper] = _combining

_VNI_LETTERS: dict[str, str] = {
    "ô": "ơ", "Ô": "Ơ", "ö": "ư", "Ö": "Ư", "ñ": "đ", "Ñ": "Đ",
    "æ": "ỉ", "Æ": "Ỉ", "ó": "ĩ", "Ó": "Ĩ", "ò": "ị", "Ò": "Ị", "î": "ỵ", "Î": "Ỵ",
}  # fmt: skip
_VNI_BASES = frozenset("aeouyAEOUYơƠưƯ")
_CIRCUMFLEX_BASES = frozenset("aeoAEO")
_BREVE_BASES = frozenset("aA")


def decode_vni(text: str) -> str:
    """Text typed in a VNI font (read as Windows-1252), as Unicode (NFC)."""
    out: list[str] = []
    for char in text:
        mark = _VNI_MARKS.get(char)
        if mark is not None and out and _takes_vni_mark(out[-1], mark):
            out[-1] += mark
            continue
        out.append(_VNI_LETTERS.get(char, char))
    return unicodedata.normalize("NFC", "".join(out))


def _takes_vni_mark(previous: str, mark: str) -> bool:
    """A mark only follows a bare vowel; anything else means the byte was not VNI."""
    if len(previous) != 1 or previous not in _VNI_BASES:
        return False
    if mark.startswith("\u0302"):
        return previous in _CIRCUMFLEX_BASES
    if mark.startswith("\u0306"):
        return previous in _BREVE_BASES
    return True


# --- detection -----------------------------------------------------------------------------
# Frequent syllables of administrative Vietnamese; a wrong decoding turns them to noise.
def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


_COMMON_WORDS = _wordset(
    """
    của và các được ngày tháng năm huyện tỉnh xã thực hiện phòng trước thông báo kết luận
    chủ trì phối hợp đơn vị giao yêu cầu đề nghị tổ chức công tác những trong với để có
    người việc về theo quy định văn bản hội đồng nhân dân ủy ban tế xây dựng kế hoạch
    triển khai đảm bảo nhiệm vụ hoàn thành tham mưu tài chính nông nghiệp giáo dục đào
    tạo sở cộng hòa chủ nghĩa việt độc lập tự hạnh phúc số nơi nhận lưu tịch phó trên
    địa bàn thị trấn trường trung tâm quý định kỳ hằng chỉ đạo rà soát báo cáo tiến độ
    cơ quan
    """
)
_WORD = re.compile(r"\w+")


def vietnamese_score(text: str) -> int:
    """How many words of `text` are common Vietnamese syllables (higher reads better)."""
    return sum(1 for word in _WORD.findall(text.lower()) if word in _COMMON_WORDS)


@dataclass(frozen=True)
class DecodedText:
    text: str
    encoding: str  # "utf-8", "utf-8-sig", "utf-16", "cp1258", "tcvn3" or "vni"


_CP1252_HOLES = frozenset({0x81, 0x8D, 0x8F, 0x90, 0x9D})


def _latin1_view(data: bytes) -> str:
    """Windows-1252 where defined, Latin-1 for its five holes: the view VNI fonts assume."""
    return "".join(
        chr(byte) if byte in _CP1252_HOLES else bytes([byte]).decode("cp1252") for byte in data
    )


def decode_bytes(data: bytes) -> DecodedText:
    """Decode a plain-text notice whatever encoding it was saved in; the result is NFC."""
    if data.startswith(codecs.BOM_UTF8):
        return DecodedText(
            _nfc(data[len(codecs.BOM_UTF8) :].decode("utf-8", "replace")), "utf-8-sig"
        )
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return DecodedText(_nfc(data.decode("utf-16", "replace")), "utf-16")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        repaired, encoding = repair_legacy_text(_nfc(text))
        return DecodedText(repaired, encoding or "utf-8")
    candidates = [
        DecodedText(_nfc(data.decode("cp1258", "replace")), "cp1258"),
        DecodedText(decode_tcvn3(data), "tcvn3"),
        DecodedText(decode_vni(_latin1_view(data)), "vni"),
    ]
    # max() keeps the first of equal scores: the order above is the tie-break.
    best = max(candidates, key=lambda candidate: vietnamese_score(candidate.text))
    if best.encoding == "tcvn3":
        return DecodedText(restore_tcvn3_capitals(best.text), best.encoding)
    return best


def repair_legacy_text(text: str) -> tuple[str, str | None]:
    """Undo legacy-font text that reached us as Unicode ("Th«ng b¸o" is TCVN3 read as Latin-1).

    Returns the text unchanged with `None` unless a legacy reading scores clearly better.
    """
    if not any("\u00a0" <= char <= "\u00ff" for char in text):
        return text, None
    best, best_encoding = text, None
    best_score = vietnamese_score(text)
    for encoding in ("tcvn3", "vni"):
        candidate = _convert(text, encoding)
        score = vietnamese_score(candidate)
        if score > best_score * 2 + 2:
            best, best_encoding, best_score = candidate, encoding, score
    if best_encoding == "tcvn3":
        best = restore_tcvn3_capitals(best)
    return best, best_encoding


def legacy_font_encoding(font_name: str | None) -> str | None:
    """The legacy encoding a Word font implies: ".VnTime" is TCVN3, "VNI-Times" is VNI."""
    if not font_name:
        return None
    name = font_name.strip().lower()
    if name.startswith(".vn"):
        return "tcvn3"
    if name.startswith("vni"):
        return "vni"
    return None


def convert_legacy(text: str, encoding: str) -> str:
    """Re-read Unicode text that was typed in a legacy font of `encoding`."""
    return _convert(text, encoding)


def _convert(text: str, encoding: str) -> str:
    if encoding == "vni":
        return decode_vni(text)
    raw = bytearray()
    for char in text:
        try:
            raw += char.encode("cp1252")
        except UnicodeEncodeError:
            if ord(char) < 0x100:
                raw.append(ord(char))
            else:
                return text  # real Unicode Vietnamese: not legacy text
    return decode_tcvn3(bytes(raw))


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)
