"""The notice's own facts: number, place and date, title, who chaired, who signed, recipients.

Administrative documents follow a fixed layout (Nghị định 30/2020/NĐ-CP): issuer and number
top left, motto and "place, ngày ... tháng ... năm ..." top right, the document type
("THÔNG BÁO") and title centred, then the body, then "Nơi nhận" and the signature block.
Layout is lost in text exports and two-column PDFs, so fields are found by their words,
not their position.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from bot.domain.textnorm import fold
from bot.notice_import.cleanup import Paragraph
from bot.notice_import.model import NoticeMeta, Table
from bot.notice_import.units import level_rank

__all__ = ["Layout", "read_layout"]

_NUMBER = re.compile(r"\bS[ốốo]\s*:?\s*(?P<n>[\w.\-]*\s*/\s*[\wĐđ&.\-]+(?:\s*/\s*[\wĐđ&.\-]+)?)")
# The place may end in a number: "Phường 5, ngày 20 tháng 10 năm 2023", "Quận 8, ngày ...".
_PLACE_DATE = re.compile(
    r"(?P<place>(?:[^\W\d_][\w.]*\s+){0,3}(?:[^\W\d_][\w.]*|\d{1,2}))\s*,\s*ng[àa]y\s*"
    r"(?P<d>\d{1,2})?\s*"
    r"(?:th[áa]ng|/|-)\s*(?P<m>\d{1,2})?\s*(?:n[ăa]m|/|-)\s*(?P<y>\d{4})",
    re.IGNORECASE,
)
_MEETING_DATE = re.compile(
    r"^(?:(?:sáng|chiều|tối|vào|trưa)\s+)?(?:ngày\s+)?(?P<d>\d{1,2})\s*(?:/|-|\.|\s+tháng\s+)"
    r"(?P<m>\d{1,2})\s*(?:/|-|\.|\s+năm\s+)(?P<y>\d{4})",
    re.IGNORECASE,
)
_CAPACITY_PREFIXED = re.compile(r"^(?:tm|kt|tl|q|t/m|k/t|t/l|tuq)\.\s*\S")
_CAPACITY_TITLE = re.compile(
    r"^(?:pho\s+)?(?:chu\s+tich|giam\s+doc|chanh\s+van\s+phong|truong\s+ban|truong\s+phong"
    r"|bi\s+thu|thu\s+truong)(?:\s+[\w.&]+){0,4}$"
)
_BODY_START = re.compile(
    r"(?:ket\s+luan|chi\s+dao|y\s+kien\s+ket\s+luan)(?:[^.:]{0,80}?)(?:nhu\s+sau|sau)?\s*:\s*$"
)
# Ê Đê and M'Nông names open with a one-letter word: "Y Wai Byă", "H'Hen Niê".
_PERSON_NAME = re.compile(
    r"^(?:[A-ZĐÀ-Ỹ][a-zà-ỹđ]+|[YH]'?[A-ZĐÀ-Ỹ]?[a-zà-ỹđ]*)(?:\s+[A-ZĐÀ-Ỹ][a-zà-ỹđ]+){1,4}$"
)
_POSITION_START = re.compile(
    r"^(?:phó\s+)?(?:chủ\s+tịch|giám\s+đốc|bí\s+thư|trưởng|chánh|thủ\s+trưởng|ủy\s+viên)",
    re.IGNORECASE,
)
_CAPACITY_WORDS = {
    "chủ tịch": "Chủ tịch",
    "giám đốc": "Giám đốc",
    "chánh văn phòng": "Chánh Văn phòng",
    "văn phòng": "Văn phòng",
    "trưởng ban": "Trưởng ban",
    "trưởng phòng": "Trưởng phòng",
    "bí thư": "Bí thư",
    "ủy ban nhân dân": "Ủy ban nhân dân",
}


@dataclass(frozen=True)
class Layout:
    meta: NoticeMeta
    body_start: int  # index of the first paragraph of the conclusions
    body_end: int  # index after the last one
    issuer_rank: int  # 1 commune, 2 district, 3 province (or a provincial department)
    date_from_meeting: bool  # "ngày   tháng 6 năm 2023" left blank: the meeting's date stands in


def read_layout(paragraphs: Sequence[Paragraph | Table]) -> Layout:
    texts = [p.text if isinstance(p, Paragraph) else "" for p in paragraphs]
    folded = [fold(t) for t in texts]
    # The document type line: "THÔNG BÁO", or "KẾT LUẬN" for a /KL- document.
    head_end = next(
        (i for i, f in enumerate(folded) if f in {"thong bao", "thong bao:", "ket luan"}), None
    )
    if head_end is None:
        head_end = next((i for i, f in enumerate(folded[:25]) if f.startswith("thong bao")), None)
    # Without one (the conclusions pasted on their own) there is no header or title to skip.
    headless = head_end is None
    if head_end is None:
        head_end = 0

    number = None
    for text in texts[: head_end + 3]:
        match = _NUMBER.search(text)
        if match:
            number = re.sub(r"\s+", "", match.group("n"))
            break

    place, signed = None, None
    place_date_index = None
    for index, text in enumerate(texts[: head_end + 3]):
        match = _PLACE_DATE.search(text)
        if match:
            place = _place(match.group("place"))
            place_date_index = index
            if match.group("d") and match.group("m"):
                try:
                    signed = date(
                        int(match.group("y")), int(match.group("m")), int(match.group("d"))
                    )
                except ValueError:
                    signed = None
            break

    issuer_lines = []
    for text, low in zip(texts[:head_end], folded[:head_end], strict=False):
        if low.startswith(("cong hoa", "doc lap", "so:", "so ")) or (
            place_date_index is not None and text == texts[place_date_index]
        ):
            break
        issuer_lines.append(text.split("CỘNG HÒA")[0].strip())
    issuer = " - ".join(line for line in issuer_lines if line) or None

    title_parts: list[str] = []
    index = head_end if headless else head_end + 1
    # A title can also ride on the "THÔNG BÁO" line itself ("THÔNG BÁO Kết luận của ...").
    if (
        head_end < len(texts)
        and folded[head_end].startswith("thong bao ")
        and len(folded[head_end]) > 12
    ):
        title_parts.append(texts[head_end][len("THÔNG BÁO") :].strip(" :"))
    while not headless and index < len(paragraphs):
        paragraph = paragraphs[index]
        if not isinstance(paragraph, Paragraph):
            break
        if title_parts and not (paragraph.emphasis and _title_like(paragraph.text)):
            break
        if not title_parts and not _title_like(paragraph.text) and paragraph.text[:1].islower():
            break
        title_parts.append(paragraph.text)
        index += 1
        if not paragraph.emphasis:
            break
    title = " ".join(title_parts) or None
    after_title = index

    body_start = _body_start(folded, texts, after_title)
    body_end = _body_end(folded, texts, body_start)

    meeting = None
    chaired_by = None
    for text in texts[after_title:body_start]:
        if meeting is None:
            match = _MEETING_DATE.match(text)
            if match:
                try:
                    meeting = date(
                        int(match.group("y")), int(match.group("m")), int(match.group("d"))
                    )
                except ValueError:
                    meeting = None
        if chaired_by is None:
            chaired_by = _chair(text)
    if chaired_by is None and title:
        chaired_by = _chair_from_title(title)

    recipients, signer = _closing(paragraphs, texts, folded, body_end)
    meta = NoticeMeta(
        number=number,
        date=signed or meeting,
        place=place,
        title=title,
        chaired_by=chaired_by,
        signer=signer,
        recipients=tuple(recipients),
        issuer=issuer,
    )
    return Layout(
        meta,
        body_start,
        body_end,
        _issuer_rank(issuer_lines),
        signed is None and meeting is not None,
    )


def _title_like(text: str) -> bool:
    return not fold(text).startswith(("ngay ", "sang ", "chieu ", "can cu", "thuc hien", "vao "))


def _place(raw: str) -> str:
    words = raw.split()
    kept: list[str] = []
    for word in reversed(words):
        # A capitalised word, not a code left of it ("58/TB-BDT Điện Biên", "UBND").
        if not (word[:1].isupper() or word.isdigit()) or (
            word.isupper() and len(word) >= 2 and "." not in word and kept
        ):
            break
        kept.insert(0, word)
    return " ".join(kept) or raw.strip()


def _issuer_rank(lines: Sequence[str]) -> int:
    for line in reversed(lines):
        low = fold(line)
        if low.startswith(("so ", "so:")):
            return 3
        for word in re.findall(r"thi xa|thanh pho|thi tran|huyen|tinh|quan|xa|phuong", low):
            rank = level_rank(word)
            if rank is not None:
                return rank
    return 2


def _body_start(folded: Sequence[str], texts: Sequence[str], after_title: int) -> int:
    for index in range(after_title, min(len(folded), after_title + 12)):
        low = folded[index]
        if _BODY_START.search(low) or (low.endswith(":") and "ket luan" in low):
            return index + 1
    for index in range(after_title, len(folded)):
        if re.match(r"^(?:[ivx]+|\d{1,2})[.)]\s", folded[index]):
            return index
    return after_title


def _is_capacity(text: str, low: str) -> bool:
    """A line of the signature block: "TL. CHỦ TỊCH", "KT. CHÁNH VĂN PHÒNG", "GIÁM ĐỐC"."""
    if len(low) > 70:
        return False
    if _CAPACITY_PREFIXED.match(low):
        return True
    return bool(_CAPACITY_TITLE.match(low)) and (text.isupper() or len(low.split()) <= 4)


def _body_end(folded: Sequence[str], texts: Sequence[str], start: int) -> int:
    for index in range(start, len(folded)):
        low = folded[index]
        if low.startswith("noi nhan") or _is_capacity(texts[index], low):
            return index
    return len(folded)


def _chair(text: str) -> str | None:
    """Who chaired, from "đồng chí X, Chủ tịch UBND huyện chủ trì" and its variants."""
    match = re.search(
        r"(?:dưới sự chủ trì của|chủ trì(?: cuộc họp| hội nghị| buổi làm việc)?\s*:)\s*"
        r"(?:đồng chí|đ/c|ông|bà)?\s*([^.;]+)",
        text,
        re.IGNORECASE,
    )
    if match:
        return _person(match.group(1))
    for sentence in re.split(r"(?<=\.)\s+", text):
        verb = re.search(r"\s(?:đã\s+)?(?:chủ trì|dẫn đầu|chủ tọa)\b", sentence)
        if verb is None:
            continue
        before = sentence[: verb.start()]
        comrade = list(re.finditer(r"(?:đồng chí|Đồng chí|đ/c|ông|bà)\s+", before))
        if comrade:
            before = before[comrade[-1].end() :]
        else:
            before = re.sub(
                r"^(?:(?:sáng|chiều|tối|vào)\s+)?(?:ngày\s+)?[\d/.\-]+\s*,\s*",
                "",
                before,
                flags=re.IGNORECASE,
            )
            before = re.sub(r"^tại\s+[^,]+,\s*", "", before, flags=re.IGNORECASE)
        person = _person(before)
        if person:
            return person
    return None


def _chair_from_title(title: str) -> str | None:
    match = re.search(r"kết luận của\s+(?:đồng chí\s+)?(.+?)\s+tại\b", title, re.IGNORECASE)
    return _person(match.group(1)) if match else None


def _person(raw: str) -> str | None:
    """ "Trần Đức Hùng - Phó Chủ tịch UBND huyện" → "Phó Chủ tịch UBND huyện Trần Đức Hùng"."""
    text = " ".join(raw.strip(" ,.;").split())
    if not text or len(text) > 160:
        return None
    parts = re.split(r"\s+[-–]\s+|,\s+", text, maxsplit=1)
    if len(parts) == 2:
        first, second = parts
        if _PERSON_NAME.match(first) and not _POSITION_START.match(first):
            return f"{second} {first}"
        if _PERSON_NAME.match(second.split(",")[0]) and _POSITION_START.match(first):
            return f"{first} {second}"
        if _POSITION_START.match(first):
            return text.replace(" - ", " ")
    if _POSITION_START.match(text) or _PERSON_NAME.match(text):
        return text
    return None


def _closing(
    paragraphs: Sequence[Paragraph | Table], texts: Sequence[str], folded: Sequence[str], start: int
) -> tuple[list[str], str | None]:
    recipients: list[str] = []
    capacities: list[str] = []
    name = None
    in_recipients = False
    for index in range(start, len(texts)):
        text, low = texts[index], folded[index]
        if not text:
            continue
        if low.startswith("noi nhan"):
            in_recipients = True
            rest = text.split(":", 1)[1].strip() if ":" in text else ""
            if rest:
                recipients.append(rest)
            continue
        if _is_capacity(text, low):
            in_recipients = False
            capacities.append(_capacity(text))
            continue
        if in_recipients and text.lstrip()[:1] in "-+•":
            recipients.append(text)
            continue
        in_recipients = False
        if _PERSON_NAME.match(text.strip(" .")) or (
            capacities and re.fullmatch(r"[\w\s.]+", text) and 2 <= len(text.split()) <= 5
        ):
            name = text.strip(" .")
    cleaned = []
    for entry in recipients:
        entry = entry.lstrip("-+• ").strip().rstrip(";.,").strip()
        if entry and not fold(entry).startswith("luu"):
            cleaned.append(entry)
    signer = None
    if name:
        signer = f"{name} ({', '.join(capacities)})" if capacities else name
    return cleaned, signer


def _capacity(text: str) -> str:
    """ "KT. CHÁNH VĂN PHÒNG" → "KT. Chánh Văn phòng"."""
    match = re.match(r"^((?:TM|KT|TL|Q|T/M|K/T|T/L|TUQ)\.?)\s*(.*)$", text.strip(), re.IGNORECASE)
    prefix, rest = (match.group(1).upper(), match.group(2)) if match else ("", text.strip())
    lowered = rest.lower()
    for phrase, written in _CAPACITY_WORDS.items():
        lowered = lowered.replace(phrase, written)
    lowered = lowered.replace("ubnd", "UBND").replace("hđnd", "HĐND")
    lowered = lowered[:1].upper() + lowered[1:]
    return f"{prefix} {lowered}".strip()
