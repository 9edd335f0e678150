"""The notice importer against hand-curated notices, in every format it reads.

tests/data/notices/*.expected.yaml hold the truth for each notice (written by hand, before
or independently of the importer); seed/cam-thuy-vhxh-2023.yaml is the truth for the seed.
The `blind-*` and `blind2-*` notices were written and curated before the importer ever ran
on them; they measure it (bench/import_accuracy.py) rather than pin it, so they are not held
to an exact match here, only to well-formed truth and to an import that does not fail.
"""

from __future__ import annotations

import importlib.util
import io
import json
import shutil
import subprocess
import zipfile
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from bot.domain.enums import DeadlineKind, UnitKind
from bot.domain.textnorm import fold
from bot.notice_import import (
    EmptyNoticeError,
    ImportResult,
    NoTextLayerError,
    NoticeImportError,
    NoticeTooLargeError,
    ReviewFlag,
    UnitRef,
    UnsupportedFormatError,
    import_notice,
    load_unit_refs,
)
from bot.notice_import.api import MAX_FILE_BYTES
from bot.notice_import.cleanup import Paragraph, build_paragraphs
from bot.notice_import.encodings import (
    decode_bytes,
    decode_tcvn3,
    decode_vni,
    repair_legacy_text,
)
from bot.notice_import.model import Line
from bot.notice_import.readers import read_text
from bot.notice_import.units import Category, UnitResolver

ROOT = Path(__file__).resolve().parent.parent
NOTICES = ROOT / "tests" / "data" / "notices"
SEED_NOTICE = ROOT / "seed" / "thong-bao-ket-luan-giao-ban-vhxh-6-thang-2023.txt"
SEED_TRUTH = ROOT / "seed" / "cam-thuy-vhxh-2023.yaml"


def _load_render() -> ModuleType:
    """The .docx/.pdf renderers and legacy encoders that live beside the test notices."""
    spec = importlib.util.spec_from_file_location("notice_render", NOTICES / "render.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


render = _load_render()
build_docx = render.build_docx
build_pdf = render.build_pdf
encode_cp1258 = render.encode_cp1258
encode_tcvn3 = render.encode_tcvn3
encode_vni = render.encode_vni
pdf_font_available = render.pdf_font_available

NEEDS_PDF_FONT = pytest.mark.skipif(
    not pdf_font_available(), reason="no Unicode TTF font (DejaVu) to render a Vietnamese PDF"
)

# Notices the importer is known to get wrong (xfail, strict: fixing one must remove it).
KNOWN_MISSES: set[str] = set()


# --- helpers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    source: Path
    units: tuple[UnitRef, ...]
    truth: dict[str, Any]


def _cases(*, blind: bool = False) -> list[Case]:
    cases = []
    for path in sorted(NOTICES.glob("*.expected.yaml")):
        if path.name.startswith(("blind-", "blind2-")) != blind:
            continue
        truth = yaml.safe_load(path.read_text(encoding="utf-8"))
        cases.append(
            Case(
                path.name.removesuffix(".expected.yaml"),
                NOTICES / truth["source"],
                tuple(load_unit_refs(NOTICES / truth["registry"])),
                truth,
            )
        )
    return cases


CASES = _cases()
BLIND_CASES = _cases(blind=True)
SEED_UNITS = tuple(load_unit_refs(SEED_TRUTH))


def _due(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, date) else str(value)


def _expected_keys(assignments: list[dict[str, Any]]) -> Counter[tuple[Any, ...]]:
    keys = []
    for item in assignments:
        lead = item.get("lead") or "?" + fold(item.get("unresolved_lead", ""))
        deadline = item["deadline"]
        keys.append(
            (
                str(item["section"]),
                lead,
                tuple(sorted(item.get("cooperating") or ())),
                deadline["kind"],
                _due(deadline.get("date")),
            )
        )
    return Counter(keys)


def _result_keys(result: ImportResult) -> Counter[tuple[Any, ...]]:
    keys = []
    for a in result.assignments:
        unresolved = next((u.text for u in a.unresolved_units if u.role == "lead"), "")
        lead = a.lead_units[0] if a.lead_units else "?" + fold(unresolved)
        keys.append(
            (
                a.section,
                lead,
                tuple(sorted(a.cooperating_units)),
                a.deadline.kind.value,
                _due(a.deadline.due),
            )
        )
    return Counter(keys)


def _notice_text(case: Case) -> str:
    return decode_bytes(case.source.read_bytes()).text


def _case_id(case: Case) -> str:
    return case.name


def _with_known_misses(cases: list[Case]) -> list[Any]:
    return [
        pytest.param(
            case,
            id=case.name,
            marks=pytest.mark.xfail(strict=True, reason="known weakness, see KNOWN_MISSES")
            if case.name in KNOWN_MISSES
            else (),
        )
        for case in cases
    ]


# --- the curated notices ---------------------------------------------------------------------


@pytest.mark.parametrize("case", BLIND_CASES, ids=_case_id)
def test_blind_truth_is_well_formed_and_the_notice_reads(case: Case) -> None:
    codes = {unit.code for unit in case.units}
    for item in case.truth["assignments"]:
        assert item.get("lead") in codes or item.get("unresolved_lead"), item
        assert set(item.get("cooperating") or ()) <= codes, item
        kind = DeadlineKind(item["deadline"]["kind"])
        dated = kind in {DeadlineKind.DATE, DeadlineKind.MONTH, DeadlineKind.QUARTER}
        assert ("date" in item["deadline"]) == (dated or kind is DeadlineKind.YEAR), item
    result = import_notice(case.source, units=case.units)
    assert result.encoding == case.truth["encoding"]
    assert result.assignments


def test_there_are_enough_curated_notices() -> None:
    assert len(CASES) >= 12
    encodings = {case.truth["encoding"] for case in CASES}
    assert {"tcvn3", "vni", "cp1258", "utf-8", "utf-8-sig"} <= encodings


@pytest.mark.parametrize("case", _with_known_misses(CASES))
def test_text_notice_matches_truth(case: Case) -> None:
    result = import_notice(case.source, units=case.units)
    assert _result_keys(result) == _expected_keys(case.truth["assignments"])
    assert result.encoding == case.truth["encoding"]


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_metadata_matches_truth(case: Case) -> None:
    notice = import_notice(case.source, units=case.units).notice
    truth = case.truth["notice"]
    assert notice.number == truth["number"]
    assert notice.date == truth["date"]
    for field in ("place", "title", "chaired_by", "signer"):
        assert fold(getattr(notice, field) or "") == fold(str(truth[field])), field
    assert [fold(r) for r in notice.recipients] == [fold(r) for r in truth["recipients"]]


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_docx_rendering_gives_the_same_notice(case: Case) -> None:
    text_result = import_notice(case.source, units=case.units)
    docx_result = import_notice(build_docx(_notice_text(case)), "notice.docx", case.units)
    assert _result_keys(docx_result) == _result_keys(text_result)
    assert docx_result.notice.number == text_result.notice.number
    assert docx_result.notice.date == text_result.notice.date
    assert fold(docx_result.notice.signer or "") == fold(text_result.notice.signer or "")


@NEEDS_PDF_FONT
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_pdf_rendering_gives_the_same_notice(case: Case) -> None:
    text_result = import_notice(case.source, units=case.units)
    pdf_result = import_notice(build_pdf(_notice_text(case)), "notice.pdf", case.units)
    assert _result_keys(pdf_result) == _result_keys(text_result)
    assert pdf_result.notice.number == text_result.notice.number
    assert pdf_result.notice.date == text_result.notice.date
    assert fold(pdf_result.notice.title or "") == fold(text_result.notice.title or "")


# --- the seed notice -------------------------------------------------------------------------


def _seed_truth() -> list[dict[str, Any]]:
    document = yaml.safe_load(SEED_TRUTH.read_text(encoding="utf-8"))
    return list(document["assignments"])


def _key(section: str, lead: str, kind: str, due: str | None) -> tuple[str, str, str, str | None]:
    return (section, lead, kind, due)


def test_seed_reproduces_every_dated_assignment_and_invents_none() -> None:
    result = import_notice(SEED_NOTICE, units=SEED_UNITS)
    truth = _seed_truth()
    got = [
        (
            a.section,
            a.lead_units[0] if a.lead_units else None,
            frozenset(a.cooperating_units),
            a.deadline.kind.value,
            _due(a.deadline.due),
        )
        for a in result.assignments
    ]
    # Every assignment with a deadline: right lead, cooperating units and date.
    for item in truth:
        kind = item["deadline"]["kind"]
        if kind == "none":
            continue
        wanted = (
            str(item["section"]),
            item["lead"],
            frozenset(item["cooperating"]),
            kind,
            _due(item["deadline"].get("date")),
        )
        assert wanted in got, f"{item['code']} not reproduced"
    # Nothing that the curators did not write down (lead + deadline + section).
    allowed = Counter(
        _key(str(i["section"]), i["lead"], i["deadline"]["kind"], _due(i["deadline"].get("date")))
        for i in truth
    )
    produced = Counter(_key(s, lead or "", kind, due) for s, lead, _, kind, due in got)
    assert produced - allowed == Counter()
    assert produced == allowed  # and, in fact, all 20 of them


def test_seed_conditional_keeps_condition_and_words() -> None:
    result = import_notice(SEED_NOTICE, units=SEED_UNITS)
    conditional = [a for a in result.assignments if a.deadline.kind is DeadlineKind.CONDITIONAL]
    assert len(conditional) == 1
    assert conditional[0].deadline.text == "ngay sau khi UBND tỉnh ban hành kế hoạch"
    assert conditional[0].deadline.condition == "UBND tỉnh ban hành kế hoạch"


def test_seed_deliverables_and_sources() -> None:
    result = import_notice(SEED_NOTICE, units=SEED_UNITS)
    by_due = {a.deadline.due: a for a in result.assignments if a.lead_units == ("GDDT",)}
    first = by_due[date(2023, 6, 30)]
    assert "trình Chủ tịch UBND huyện ký ban hành" in first.deliverable
    # The sentence was broken by a page break ("tiêu / chỉ", sic): the source is whole again.
    assert "đáp ứng tiêu chỉ trường chuẩn quốc gia" in first.source
    assert "**" not in first.source


def _seed_docx() -> bytes:
    data: bytes = build_docx(SEED_NOTICE.read_text(encoding="utf-8"))
    return data


def test_seed_as_docx_gives_the_same_assignments() -> None:
    text = import_notice(SEED_NOTICE, units=SEED_UNITS)
    docx = import_notice(_seed_docx(), "thong-bao.docx", SEED_UNITS)
    assert _result_keys(docx) == _result_keys(text)


@NEEDS_PDF_FONT
def test_seed_as_pdf_gives_the_same_assignments() -> None:
    text = import_notice(SEED_NOTICE, units=SEED_UNITS)
    pdf = import_notice(build_pdf(SEED_NOTICE.read_text(encoding="utf-8")), "tb.pdf", SEED_UNITS)
    assert _result_keys(pdf) == _result_keys(text)


# --- the JSON the CLI will print -------------------------------------------------------------


def test_json_shape() -> None:
    document = json.loads(import_notice(SEED_NOTICE, units=SEED_UNITS).to_json())
    assert set(document) == {"notice", "assignments", "warnings"}
    assert set(document["notice"]) == {
        "number",
        "date",
        "place",
        "title",
        "chaired_by",
        "signer",
        "recipients",
    }
    assert document["notice"]["date"] == "2023-06-16"
    assert document["warnings"] == ["date_from_meeting"]  # "ngày   tháng 6 năm 2023" is blank
    assignment = document["assignments"][3]
    assert set(assignment) == {
        "section",
        "action",
        "lead_units",
        "cooperating_units",
        "deliverable",
        "deadline",
        "unresolved_units",
        "source",
    }
    assert set(assignment["deadline"]) == {"kind", "date", "text", "condition", "recurrence"}
    assert assignment["deadline"] == {
        "kind": "date",
        "date": "2023-06-30",
        "text": "trước ngày 30/6/2023",
        "condition": None,
        "recurrence": None,
    }


def test_unknown_units_are_reported_with_suggestions() -> None:
    case = next(c for c in CASES if c.name.startswith("thach-thanh-giao-ban"))
    result = import_notice(case.source, units=case.units)
    unresolved = [a for a in result.assignments if not a.lead_units]
    assert len(unresolved) == 1
    unit = unresolved[0].unresolved_units[0]
    assert unit.text == "Văn phòng Điều phối nông thôn mới huyện"
    assert unit.role == "lead"
    assert "NNPTNT" in unit.suggestions  # nearest registry entries, never a guess
    as_json = unresolved[0].to_dict()["unresolved_units"][0]
    assert as_json["text"] == unit.text
    assert as_json["suggestions"] == list(unit.suggestions)


# --- encodings -------------------------------------------------------------------------------

SAMPLE = "Cộng hòa xã hội chủ nghĩa Việt Nam. Độc lập - Tự do - Hạnh phúc. Ủy ban nhân dân huyện"


def test_vni_known_strings() -> None:
    # As VNI documents look when opened without the VNI fonts.
    assert decode_vni("Coäng hoøa xaõ hoäi chuû nghóa Vieät Nam") == (
        "Cộng hòa xã hội chủ nghĩa Việt Nam"
    )
    assert decode_vni("Ñoäc laäp - Töï do - Haïnh phuùc") == "Độc lập - Tự do - Hạnh phúc"
    assert decode_vni("UÛY BAN NHAÂN DAÂN") == "ỦY BAN NHÂN DÂN"
    assert decode_vni("ñöôïc") == "được"


@pytest.mark.parametrize(
    ("encode", "name"), [(encode_tcvn3, "tcvn3"), (encode_vni, "vni"), (encode_cp1258, "cp1258")]
)
def test_legacy_encodings_are_detected_and_decoded(encode: Any, name: str) -> None:
    text = SAMPLE + ". Giao Phòng Tài chính - Kế hoạch chủ trì, phối hợp thực hiện trước ngày 30/6."
    decoded = decode_bytes(encode(text))
    assert decoded.encoding == name
    if name == "tcvn3":  # TCVN3 has no toned capitals: the .VnTimeH font draws them
        assert decoded.text.lower() == text.lower()
    else:
        assert decoded.text == text


@pytest.mark.skipif(shutil.which("iconv") is None, reason="iconv is not installed")
def test_tcvn3_table_agrees_with_iconv() -> None:
    probe = subprocess.run(
        ["iconv", "-f", "TCVN5712-1", "-t", "UTF-8"], input=b"a", capture_output=True, check=False
    )
    if probe.returncode != 0:
        pytest.skip("this iconv has no TCVN5712-1")
    for byte in range(0xA1, 0x100):
        expected = subprocess.run(
            ["iconv", "-f", "TCVN5712-1", "-t", "UTF-8"],
            input=bytes([byte]),
            capture_output=True,
            check=True,
        ).stdout.decode("utf-8")
        assert decode_tcvn3(bytes([byte])) == expected, hex(byte)


@pytest.mark.skipif(shutil.which("iconv") is None, reason="iconv is not installed")
def test_cp1258_file_agrees_with_iconv() -> None:
    source = NOTICES / "tp-ha-tinh-chinh-trang-do-thi-2023.cp1258.txt"
    converted = subprocess.run(
        ["iconv", "-f", "CP1258", "-t", "UTF-8", str(source)], capture_output=True, check=False
    )
    if converted.returncode != 0:
        pytest.skip("this iconv has no CP1258")
    import unicodedata

    expected = unicodedata.normalize("NFC", converted.stdout.decode("utf-8"))
    assert decode_bytes(source.read_bytes()).text == expected


def test_utf8_bom_and_crlf() -> None:
    data = b"\xef\xbb\xbf" + "Thông báo\r\nkết luận".encode()
    decoded = decode_bytes(data)
    assert decoded.encoding == "utf-8-sig"
    assert decoded.text.startswith("Thông báo")


def test_legacy_text_inside_unicode_is_repaired() -> None:
    # TCVN3 bytes that went through a Latin-1 viewer and were saved as UTF-8.
    garbled = encode_tcvn3("Thông báo kết luận của Chủ tịch UBND huyện").decode("latin-1")
    repaired, encoding = repair_legacy_text(garbled)
    assert encoding == "tcvn3"
    assert repaired == "Thông báo kết luận của Chủ tịch UBND huyện"
    untouched, none = repair_legacy_text("Thông báo kết luận của Chủ tịch")
    assert none is None
    assert untouched == "Thông báo kết luận của Chủ tịch"


def test_docx_runs_in_legacy_fonts_are_converted() -> None:
    import docx

    document = docx.Document()
    for line in (
        "Giao Phßng Tµi chÝnh - KÕ ho¹ch tham m­u tr­íc ngµy 30/6/2023.",  # .VnTime (TCVN3)
    ):
        run = document.add_paragraph().add_run(line)
        run.font.name = ".VnTime"
    vni = document.add_paragraph().add_run(
        "Giao Phoøng Noäi vuï thöïc hieän tröôùc ngaøy 15/7/2023."
    )
    vni.font.name = "VNI-Times"
    out = io.BytesIO()
    document.save(out)
    from bot.notice_import.readers import read_docx

    texts = [b.text for b in read_docx(out.getvalue()) if isinstance(b, Line)]
    assert texts == [
        "Giao Phòng Tài chính - Kế hoạch tham mưu trước ngày 30/6/2023.",
        "Giao Phòng Nội vụ thực hiện trước ngày 15/7/2023.",
    ]


# --- files that cannot be read ---------------------------------------------------------------


@NEEDS_PDF_FONT
def test_scanned_pdf_has_no_text_layer() -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 100, 60, style="F")  # a page that is only a picture
    with pytest.raises(NoTextLayerError, match="no text layer") as raised:
        import_notice(bytes(pdf.output()), "scan.pdf", SEED_UNITS)
    assert raised.value.code == "no_text_layer"


@pytest.mark.parametrize(
    ("data", "name", "error"),
    [
        (b"", "x.txt", NoticeImportError),
        (b"not a zip", "x.docx", NoticeImportError),
        (b"%PDF-1.4 broken", "x.pdf", NoticeImportError),
        (b"\xd0\xcf\x11\xe0", "x.doc", UnsupportedFormatError),
        (b"GIF89a", "x.gif", UnsupportedFormatError),
    ],
)
def test_unreadable_files_get_a_clear_error(data: bytes, name: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        import_notice(data, name, SEED_UNITS)


def test_missing_file_is_a_notice_error(tmp_path: Path) -> None:
    with pytest.raises(NoticeImportError, match="cannot read"):
        import_notice(tmp_path / "absent.txt", units=SEED_UNITS)


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


_GARBAGE = bytes((i * 7919 + 13) % 256 for i in range(4000))  # deterministic noise


@pytest.mark.parametrize(
    ("data", "name", "code"),
    [
        (b"", "x.txt", "empty"),
        (b"  \r\n\t\n   ", "x.txt", "empty"),
        (_GARBAGE, "x.txt", "unsupported_format"),
        (b"abc\x00\x00\x00def" * 50, "x.txt", "unsupported_format"),
        (_GARBAGE, "x.docx", "unreadable"),
        (_zip({"hello.txt": b"not a Word document"}), "x.docx", "unreadable"),
        (
            _zip({"[Content_Types].xml": b"<Types", "word/document.xml": b"<<<"}),
            "x.docx",
            "unreadable",
        ),
        (_zip({"a": b"x" * 100})[:40], "x.docx", "unreadable"),
        (b"%PDF-1.7\n" + _GARBAGE, "x.pdf", "unreadable"),
        (b"%PDF-1.4\n1 0 obj\n<<", "x.pdf", "unreadable"),
        (_GARBAGE, "x.bin", "unsupported_format"),
    ],
)
def test_odd_files_get_a_stable_code(data: bytes, name: str, code: str) -> None:
    with pytest.raises(NoticeImportError) as raised:
        import_notice(data, name, SEED_UNITS)
    assert raised.value.code == code


def test_a_huge_file_is_refused_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    with big.open("wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)  # sparse: no 30 MB written
    with pytest.raises(NoticeTooLargeError) as raised:
        import_notice(big, units=SEED_UNITS)
    assert raised.value.code == "too_large"
    with pytest.raises(NoticeTooLargeError):
        import_notice(b"a" * (MAX_FILE_BYTES + 1), "x.txt", SEED_UNITS)


def test_far_more_text_than_a_notice_is_refused() -> None:
    text = ("Giao Phòng Nội vụ rà soát biên chế, xong trước 30/6. " * 8000).encode()
    with pytest.raises(NoticeTooLargeError):
        import_notice(text, "x.txt", SEED_UNITS)


def test_a_docx_that_unpacks_too_far_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.notice_import.readers as readers

    data = build_docx(SEED_NOTICE.read_text(encoding="utf-8"))
    monkeypatch.setattr(readers, "_MAX_DOCX_UNPACKED", 10_000)  # instead of a real zip bomb
    with pytest.raises(NoticeTooLargeError):
        import_notice(data, "notice.docx", SEED_UNITS)


def test_a_docx_without_words_is_empty() -> None:
    import docx

    buffer = io.BytesIO()
    docx.Document().save(buffer)
    with pytest.raises(EmptyNoticeError) as raised:
        import_notice(buffer.getvalue(), "blank.docx", SEED_UNITS)
    assert raised.value.code == "empty"


def test_a_pdf_of_too_many_pages_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from fpdf import FPDF

    import bot.notice_import.readers as readers

    pdf = FPDF()
    for page in range(3):
        pdf.add_page()
        pdf.set_font("helvetica", size=12)
        pdf.cell(text=f"page {page}")
    monkeypatch.setattr(readers, "MAX_PDF_PAGES", 2)
    with pytest.raises(NoticeTooLargeError):
        import_notice(bytes(pdf.output()), "long.pdf", SEED_UNITS)


# --- cleanup of conversion debris -------------------------------------------------------------


def _paragraph_texts(lines: list[str], *, wrap: int | None = None) -> list[str]:
    blocks = []
    blank = True
    for line in lines:
        if not line:
            blank = True
            continue
        blocks.append(Line(line, new_paragraph=blank))
        blank = False
    return [p.text for p in build_paragraphs(blocks, wrap_width=wrap) if isinstance(p, Paragraph)]


def test_sentence_broken_by_a_page_break_is_joined() -> None:
    texts = _paragraph_texts(
        [
            "- Giao Phòng A chủ trì, tham mưu văn bản đáp ứng tiêu",
            "",
            "- 2 -",
            "",
            "chí trường chuẩn.",
        ]
    )
    assert texts == ["- Giao Phòng A chủ trì, tham mưu văn bản đáp ứng tiêu chí trường chuẩn."]


def test_markdown_marks_and_hyphenation_are_removed() -> None:
    texts = _paragraph_texts(
        ["Yêu cầu hoàn thành **trước ngày 30/6/2023**, bố trí nguồn vốn sản xu-", "ất kinh doanh."]
    )
    assert texts == [
        "Yêu cầu hoàn thành trước ngày 30/6/2023, bố trí nguồn vốn sản xuất kinh doanh."
    ]


def test_emphasised_markdown_line_is_a_heading() -> None:
    blocks = [Line("** Về y tế, vệ sinh an toàn thực phẩm:*"), Line("- Giao Trung tâm Y tế ...")]
    paragraphs = build_paragraphs(blocks)
    assert [(p.text, p.emphasis) for p in paragraphs if isinstance(p, Paragraph)] == [
        ("Về y tế, vệ sinh an toàn thực phẩm:", True),
        ("- Giao Trung tâm Y tế ...", False),
    ]


def test_a_bold_label_does_not_make_the_task_a_heading() -> None:
    blocks = [
        Line("**2. Nhiệm vụ trong thời gian tới**"),
        Line("**2.1.** Tổ Quản lý trật tự đô thị chủ trì ra quân."),
        Line("**Văn phòng Sở:**"),
    ]
    paragraphs = build_paragraphs(blocks)
    assert [(p.text, p.emphasis) for p in paragraphs if isinstance(p, Paragraph)] == [
        ("2. Nhiệm vụ trong thời gian tới", True),
        ("2.1. Tổ Quản lý trật tự đô thị chủ trì ra quân.", False),
        ("Văn phòng Sở:", True),
    ]


def test_word_plain_text_tables_and_columns_are_split_on_tabs() -> None:
    data = (
        "Số: 58/TB-BDT\tĐiện Biên, ngày 29 tháng 9 năm 2023\r\n"
        "TT\tNội dung công việc\tĐơn vị chủ trì\tĐơn vị phối hợp\tThời gian hoàn thành\r\n"
        "1\tRà soát biên chế\tPhòng Nội vụ\tPhòng TC-KH\tTrước 05/10/2023\r\n"
        "2\tTổng hợp số liệu\tPhòng TC-KH\t\tThường xuyên\r\n"
    ).encode()
    blocks, _ = read_text(data)
    assert [b.text for b in blocks if isinstance(b, Line)] == [
        "Số: 58/TB-BDT",
        "Điện Biên, ngày 29 tháng 9 năm 2023",
    ]
    tables = [b for b in blocks if not isinstance(b, Line)]
    assert len(tables) == 1
    assert tables[0].rows[2] == ("2", "Tổng hợp số liệu", "Phòng TC-KH", "", "Thường xuyên")


def test_a_task_table_saved_as_plain_text_gives_its_rows() -> None:
    table = "\n".join(
        [
            "TT\tNội dung công việc\tĐơn vị chủ trì\tĐơn vị phối hợp\tThời gian hoàn thành",
            "1\tRà soát biên chế\tPhòng Nội vụ\tPhòng TC-KH\tTrước 05/10/2023",
            "2\tTổng hợp số liệu\tPhòng TC-KH\t\tThường xuyên",
        ]
    )
    assert _body("1. Các nhiệm vụ cụ thể:", table) == [
        ("B", ("A",), "date", "2023-10-05"),
        ("A", (), "recurring", None),
    ]


def test_tcvn3_capitals_come_back() -> None:
    text = "ỦY BAN NHÂN DÂN XÃ HÒA TIẾN\nSố: 97/TB-UBND\nXã Hòa Tiến, ngày 26 tháng 12 năm 2023"
    decoded = decode_bytes(encode_tcvn3(text + "\nGiao công chức Văn hóa - Xã hội thực hiện."))
    assert decoded.encoding == "tcvn3"
    assert decoded.text.splitlines()[:3] == text.splitlines()


def test_page_numbers_are_dropped() -> None:
    assert _paragraph_texts(["Điều một.", "", "3", "", "Trang 2/5", "", "Điều hai."]) == [
        "Điều một.",
        "Điều hai.",
    ]


# --- units -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def resolver() -> UnitResolver:
    return UnitResolver(SEED_UNITS)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Phòng GD&ĐT", "GDDT"),
        ("phòng GD-ĐT", "GDDT"),
        ("PHÒNG GIÁO DỤC VÀ ĐÀO TẠO", "GDDT"),
        ("phong giao duc va dao tao", "GDDT"),
        ("Phòng LĐ-TB&XH", "LDTBXH"),
        ("Phòng Lao động, Thương binh và Xã hội", "LDTBXH"),
        ("Phòng VH&TT", "VHTT"),
        ("Phòng TC-KH", "TCKH"),
        ("TTYT huyện", "TTYT"),
        ("BHXH huyện", "BHXH"),
        ("NHCSXH huyện", "NHCSXH"),
        ("Văn phòng HĐND-UBND huyện", "VP"),
        ("Văn phòng HĐND và UBND huyện", "VP"),
        ("Trường THPT Cẩm Thủy 1", "THPT1"),
        ("Trường Trung học phổ thông Cẩm Thủy 2", "THPT2"),
        ("Trung tâm Văn hóa, Thông tin, Thể thao và Du lịch huyện", "TTVHTTTTDL"),
        ("các đơn vị thuộc ngành Giáo dục và Đào tạo", "NGANH-GD"),  # longest match wins
        ("UBND các xã, thị trấn", "XA-TT"),
        ("các xã, thị trấn trên địa bàn huyện", "XA-TT"),
        ("Chủ tịch UBND các xã, thị trấn", "XA-TT"),
        ("các phòng, ngành, đơn vị có liên quan", "DV-LQ"),
        ("các cơ quan, đơn vị liên quan", "DV-LQ"),
    ],
)
def test_units_resolve(resolver: UnitResolver, text: str, code: str) -> None:
    mention = resolver.match_at(text, 0)
    assert mention is not None
    assert [t.code for t in mention.targets] == [code]
    assert mention.end == len(text)


def test_issuer_and_vague_collectives_are_nobody(resolver: UnitResolver) -> None:
    for text in ("UBND huyện", "Chủ tịch UBND huyện", "UBND tỉnh", "Ban Thường vụ Huyện ủy"):
        mention = resolver.match_at(text, 0)
        assert mention is not None
        assert mention.category is Category.AUTHORITY, text
    vague = resolver.match_at("các phòng, ngành, đơn vị trong khối tiến hành", 0)
    assert vague is not None
    assert vague.category is Category.VAGUE


def test_unknown_unit_is_kept_with_suggestions(resolver: UnitResolver) -> None:
    mention = resolver.match_at("Phòng Tư pháp chủ trì", 0)
    assert mention is not None
    assert mention.text == "Phòng Tư pháp"
    assert mention.targets[0].code is None
    assert mention.targets[0].suggestions  # nearest registry entries


def test_schools_collective_and_ellipsis() -> None:
    units = [
        UnitRef("TRUONG", "Các trường mầm non, tiểu học", kind=UnitKind.TRUONG),
        UnitRef("X-A", "UBND xã An Lạc", aliases=("xã An Lạc",), kind=UnitKind.XA_THI_TRAN),
        UnitRef("X-B", "UBND xã Bình Minh", kind=UnitKind.XA_THI_TRAN),
    ]
    resolver = UnitResolver(units)
    schools = resolver.match_at("các trường trên địa bàn", 0)
    assert schools is not None
    assert [t.code for t in schools.targets] == ["TRUONG"]
    several = resolver.match_at("UBND các xã An Lạc, Bình Minh và Cẩm Tân chịu trách nhiệm", 0)
    assert several is not None
    assert [t.code for t in several.targets] == ["X-A", "X-B", None]
    assert several.targets[2].text == "UBND xã Cẩm Tân"


# --- sentence patterns, one at a time --------------------------------------------------------

UNITS = (
    UnitRef("A", "Phòng Tài chính - Kế hoạch", "Phòng TC-KH"),
    UnitRef("B", "Phòng Nội vụ"),
    UnitRef("C", "Trung tâm Y tế huyện", aliases=("Trung tâm Y tế",), sectors=("y tế",)),
    UnitRef(
        "XA", "UBND các xã, thị trấn", aliases=("các xã, thị trấn",), kind=UnitKind.XA_THI_TRAN
    ),
    UnitRef("LQ", "Các đơn vị có liên quan", aliases=("các đơn vị liên quan",)),
)


def _body(*paragraphs: str, units: tuple[UnitRef, ...] = UNITS) -> list[tuple[Any, ...]]:
    text = "\n\n".join(
        [
            "UBND HUYỆN THỬ NGHIỆM",
            "Số: 1/TB-UBND",
            "Thử Nghiệm, ngày 01 tháng 6 năm 2023",
            "THÔNG BÁO",
            "Kết luận của Chủ tịch UBND huyện tại cuộc họp",
            "Chủ tịch UBND huyện kết luận như sau:",
            *paragraphs,
            "Nơi nhận:\n- Lưu: VT.",
        ]
    )
    result = import_notice(text.encode(), "tb.txt", units)
    return [
        (
            a.lead_units[0] if a.lead_units else None,
            a.cooperating_units,
            a.deadline.kind.value,
            _due(a.deadline.due),
        )
        for a in result.assignments
    ]


@pytest.mark.parametrize(
    ("paragraph", "expected"),
    [
        (
            "1. Giao Phòng TC-KH chủ trì, Phòng Nội vụ phối hợp, rà soát biên chế, "
            "xong trước 30/6.",
            [("A", ("B",), "date", "2023-06-30")],
        ),
        (
            "1. Phòng Tài chính - Kế hoạch chủ trì, phối hợp với Phòng Nội vụ và các đơn vị liên "
            "quan tham mưu phân bổ vốn trong tháng 7/2023.",
            [("A", ("B", "LQ"), "month", "2023-07-31")],
        ),
        (
            "1. Đề nghị Trung tâm Y tế huyện tăng cường phòng, chống dịch; thực hiện thường xuyên.",
            [("C", (), "recurring", None)],
        ),
        (
            "1. Yêu cầu Phòng Nội vụ hướng dẫn các xã, thị trấn kiện toàn bộ máy "
            "trong quý III/2023.",
            [("B", (), "quarter", "2023-09-30")],  # the communes are the target, not partners
        ),
        (
            "1. Phòng Nội vụ có trách nhiệm tham mưu ngay sau khi có hướng dẫn của Sở Nội vụ.",
            [("B", (), "conditional", None)],
        ),
        (
            "1. Giao Phòng TC-KH, Phòng Nội vụ và các đơn vị liên quan, theo chức năng, nhiệm vụ "
            "được giao, thường xuyên theo dõi, đôn đốc.",
            [("A", ("LQ",), "recurring", None), ("B", ("LQ",), "recurring", None)],
        ),
        ("1. UBND huyện tiếp thu ý kiến, sẽ cân đối hỗ trợ khi có nguồn lực.", []),
        ("1. Đề nghị các cơ quan, đơn vị nghiêm túc triển khai thực hiện.", []),
        ("1. Thực hiện tốt công tác phòng, chống dịch bệnh.", []),
        (
            "1. Về y tế\n\n- Xây dựng kế hoạch tiêm chủng, trình UBND huyện trong tháng 8/2023.",
            [("C", (), "month", "2023-08-31")],  # no unit: the sector heading names one
        ),
        (
            "1. Phòng Nội vụ:\n\n- Chủ trì, phối hợp với Phòng TC-KH rà soát, xong trước 15/7.\n\n"
            "- Tổng hợp báo cáo hằng quý.",
            [("B", ("A",), "date", "2023-07-15"), ("B", (), "recurring", None)],
        ),
    ],
)
def test_sentence_patterns(paragraph: str, expected: list[tuple[Any, ...]]) -> None:
    assert _body(*paragraph.split("\n\n")) == expected


def test_a_lead_in_gives_its_unit_to_the_items_after_it() -> None:
    assert _body(
        "II. Nhiệm vụ thời gian tới",
        "Đề nghị Phòng Nội vụ tập trung thực hiện tốt các nội dung sau:",
        "1. Rà soát biên chế các cơ quan, xong trước 30/6.",
        "2. Thường xuyên kiểm tra công vụ.",
        "III. Kiến nghị",
        "1. Thực hiện tốt công tác phòng, chống dịch.",
    ) == [("B", (), "date", "2023-06-30"), ("B", (), "recurring", None)]


COMMUNE_UNITS = (
    *UNITS,
    UnitRef("SL", "UBND xã Song Lãng", "Xã Song Lãng", kind=UnitKind.XA_THI_TRAN),
)


def test_a_heading_naming_a_unit_and_a_reference_back_to_it() -> None:
    # "UBND xã" in the lead-in is the commune of the heading, not an unknown unit.
    assert _body(
        "**1. Đối với UBND xã Song Lãng**",
        "Ghi nhận kết quả đạt được; để về đích đúng hạn, yêu cầu UBND xã:",
        "- Hoàn thiện hồ sơ đề nghị công nhận, xong trước 30/6.",
        "- Chỉ đạo các thôn tổng vệ sinh môi trường hằng tuần.",
        units=COMMUNE_UNITS,
    ) == [("SL", (), "date", "2023-06-30"), ("SL", (), "recurring", None)]


@pytest.mark.parametrize(
    ("paragraph", "expected"),
    [
        # A dated clause after an undated task of the same sentence is the next task ...
        (
            "1. Phòng Nội vụ chịu trách nhiệm về cải cách hành chính; kiện toàn bộ phận một "
            "cửa, xong trước 30/6; duy trì chế độ báo cáo định kỳ hằng quý.",
            [
                ("B", (), "none", None),
                ("B", (), "date", "2023-06-30"),
                ("B", (), "recurring", None),
            ],
        ),
        # ... a recurring one says how the same task goes on ...
        (
            "1. Phòng Nội vụ chịu trách nhiệm về cải cách hành chính; kiểm tra 100% đơn vị, "
            "báo cáo kết quả hằng tháng.",
            [("B", (), "recurring", None)],
        ),
        # ... and "phối hợp với ..." adds partners to it.
        (
            "1. Giao Phòng TC-KH rà soát các nguồn vốn; phối hợp với Phòng Nội vụ tổng hợp, "
            "xong trước 30/6.",
            [("A", ("B",), "date", "2023-06-30")],
        ),
    ],
)
def test_clauses_of_one_unit(paragraph: str, expected: list[tuple[Any, ...]]) -> None:
    assert _body(paragraph) == expected


def test_southern_slash_numbering_and_partners_without_voi() -> None:
    assert _body(
        "2/ Nhiệm vụ thời gian tới:",
        "a/ Giao Phòng Nội vụ phối hợp Phòng TC-KH rà soát biên chế, báo cáo trước 15/6.",
        "b/ Phòng TC-KH chủ trì cùng Phòng Nội vụ cân đối kinh phí; xong trong tháng 7.",
    ) == [("B", ("A",), "date", "2023-06-15"), ("A", ("B",), "month", "2023-07-31")]


def test_a_verb_that_folds_like_a_particle_still_assigns() -> None:
    # "vận động" folds to "van dong", like "vẫn" ("still ...", a report of the past).
    assert _body("1. Phòng Nội vụ vận động công chức tham gia hiến máu, xong trước 30/6.") == [
        ("B", (), "date", "2023-06-30")
    ]
    assert _body("1. Phòng Nội vụ vẫn chưa hoàn thành việc rà soát biên chế.") == []


def test_a_long_topic_before_the_unit() -> None:
    assert _body(
        "1. Về đề nghị hỗ trợ kinh phí sửa chữa các tuyến đường giao thông nông thôn bị hư hỏng "
        "nặng do mưa lũ kéo dài năm 2022 của các xã vùng cao: Phòng Tài chính - Kế hoạch chủ "
        "trì, phối hợp với Phòng Nội vụ kiểm tra thực tế, đề xuất mức hỗ trợ trước 30/6."
    ) == [("A", ("B",), "date", "2023-06-30")]


def test_a_report_with_a_cycle_is_a_duty_a_report_of_the_meeting_is_not() -> None:
    assert _body("1. Các xã, thị trấn báo cáo kết quả về UBND huyện trước ngày 25 hằng tháng.") == [
        ("XA", (), "recurring", None)
    ]
    assert _body("1. Phòng Nội vụ báo cáo tình hình biên chế năm 2023.") == []


def test_a_registry_name_with_the_notices_own_place() -> None:
    units = (*UNITS, UnitRef("DK", "Chi nhánh Văn phòng Đăng ký đất đai huyện Thử Nghiệm"))
    assert _body(
        "1. Phòng Nội vụ chủ trì, phối hợp với Chi nhánh Văn phòng Đăng ký đất đai huyện rà "
        "soát hồ sơ.",
        units=units,
    ) == [("B", ("DK",), "none", None)]


def test_a_ward_with_a_number_dates_its_notice() -> None:
    text = "Số: 214/TB-UBND\n\nPhường 5, ngày 20 tháng 10 năm 2023\n\nTHÔNG BÁO\n\nKết luận\n"
    notice = import_notice(text.encode(), "tb.txt", UNITS).notice
    assert (notice.place, notice.date) == ("Phường 5", date(2023, 10, 20))


@pytest.mark.parametrize(
    ("opening", "chair"),
    [
        (
            "Ngày 03/10/2023, đồng chí Y Wai Byă - Chủ tịch UBND huyện chủ trì phiên họp.",
            "Chủ tịch UBND huyện Y Wai Byă",
        ),
        (
            "Chủ trì cuộc họp: ông Trần Minh Tâm - Chủ tịch UBND phường. Dự họp có ...",
            "Chủ tịch UBND phường Trần Minh Tâm",
        ),
    ],
)
def test_who_chaired(opening: str, chair: str) -> None:
    text = (
        "Số: 1/TB-UBND\n\nThử Nghiệm, ngày 05 tháng 10 năm 2023\n\nTHÔNG BÁO\n\n"
        f"Kết luận tại phiên họp\n\n{opening}\n\nkết luận như sau:\n\n"
        "1. Giao Phòng Nội vụ rà soát.\n"
    )
    assert import_notice(text.encode(), "tb.txt", UNITS).notice.chaired_by == chair


def test_conclusions_pasted_without_a_header_are_read() -> None:
    text = "1. Giao Phòng Nội vụ rà soát biên chế, xong trước 15/7/2023.\n"
    result = import_notice(text.encode(), "tb.txt", UNITS)
    assert [(a.lead_units, a.deadline.due) for a in result.assignments] == [
        (("B",), date(2023, 7, 15))
    ]


def test_reference_date_fills_in_a_dateless_notice() -> None:
    text = (
        "THÔNG BÁO\n\nKết luận của Chủ tịch UBND huyện\n\nkết luận như sau:\n\n"
        "1. Giao Phòng Nội vụ rà soát, xong trước 15/7.\n"
    )
    result = import_notice(text.encode(), "tb.txt", UNITS, reference_date=date(2024, 6, 1))
    assert result.assignments[0].deadline.due == date(2024, 7, 15)
    assert result.warnings == (ReviewFlag.NO_NOTICE_DATE,)
