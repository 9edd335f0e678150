"""`import_notice`: a conclusion notice file in, reviewed-ready assignments out."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from bot.domain.enums import UnitKind
from bot.notice_import.cleanup import Paragraph, build_paragraphs
from bot.notice_import.extract import extract_assignments
from bot.notice_import.metadata import read_layout
from bot.notice_import.model import (
    EmptyNoticeError,
    ImportResult,
    NoticeImportError,
    NoticeTooLargeError,
    ReviewFlag,
    Table,
    UnsupportedFormatError,
)
from bot.notice_import.readers import Block, read_docx, read_pdf, read_text, wrap_width
from bot.notice_import.structure import outline
from bot.notice_import.units import UnitRef, UnitResolver

__all__ = ["MAX_FILE_BYTES", "MAX_TEXT_CHARS", "import_notice", "load_unit_refs"]

_log = logging.getLogger(__name__)

_TEXT_SUFFIXES = {".txt", ".text", ".md", ""}
# A notice is a few pages (10-100 kB of text, a few MB as a PDF with a scanned signature);
# reading runs at roughly 40 kB of text a second, so these keep the worst case near 10 s.
MAX_FILE_BYTES = 30 * 1024 * 1024
MAX_TEXT_CHARS = 400_000


def import_notice(
    path_or_bytes: str | Path | bytes,
    file_name: str | None = None,
    units: Sequence[UnitRef] = (),
    *,
    reference_date: date | None = None,
) -> ImportResult:
    """Read a notice (.txt in any Vietnamese encoding, .docx, .pdf) into assignments.

    `file_name` chooses the reader by its suffix (defaults to the path's name).
    `reference_date` stands in for the notice's date when the notice carries none; a
    deadline without a year ("trước 15/7") takes its year from that date.
    Raises `NoticeImportError` (or its `NoTextLayerError`) with a message for the sender.
    """
    if isinstance(path_or_bytes, (str, Path)):
        path = Path(path_or_bytes)
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                raise NoticeTooLargeError(f"{path.name} is larger than 30 MB")
            data = path.read_bytes()
        except OSError as exc:
            raise NoticeImportError(f"cannot read {path.name}: {exc.strerror}") from exc
        name = file_name or path.name
    else:
        data = path_or_bytes
        name = file_name or ""
    if not data:
        raise EmptyNoticeError("the file is empty")
    if len(data) > MAX_FILE_BYTES:
        raise NoticeTooLargeError("the file is larger than 30 MB")
    try:
        return _import(data, name, units, reference_date)
    except NoticeImportError:
        raise
    except RecursionError as exc:
        raise NoticeImportError("the notice is nested too deeply to read") from exc
    except Exception as exc:
        # A bug met on an odd file: the sender gets the usual polite answer (a stable
        # code), the log keeps the traceback for us.
        _log.exception("notice import failed on %r", name)
        raise NoticeImportError("the notice could not be read") from exc


def _import(
    data: bytes, name: str, units: Sequence[UnitRef], reference_date: date | None
) -> ImportResult:
    suffix = Path(name).suffix.lower()
    encoding: str | None = None
    blocks: list[Block]
    width = None
    if suffix == ".docx" or (not suffix and data[:2] == b"PK"):
        blocks = read_docx(data)
    elif suffix == ".pdf" or (not suffix and data[:5] == b"%PDF-"):
        blocks = read_pdf(data)
    elif suffix in _TEXT_SUFFIXES:
        blocks, encoding = read_text(data)
        width = wrap_width(blocks)
    elif suffix == ".doc":
        raise UnsupportedFormatError("old Word .doc files are not supported: save it as .docx")
    else:
        raise UnsupportedFormatError(f"cannot read {suffix} files: send .docx, .pdf or .txt")
    size = sum(len(b.text) if not isinstance(b, Table) else sum(map(len, b.rows)) for b in blocks)
    if size > MAX_TEXT_CHARS:
        raise NoticeTooLargeError(f"the file holds {size} characters of text; a notice is shorter")
    if not any(not isinstance(b, Table) and b.text.strip() for b in blocks) and not any(
        isinstance(b, Table) for b in blocks
    ):
        raise EmptyNoticeError("the document holds no text")
    paragraphs = build_paragraphs(blocks, wrap_width=width)
    return _interpret(paragraphs, units, encoding, reference_date)


def _interpret(
    paragraphs: list[Paragraph | Table],
    units: Sequence[UnitRef],
    encoding: str | None,
    reference_date: date | None,
) -> ImportResult:
    warnings: list[ReviewFlag] = []
    layout = read_layout(paragraphs)
    meta = layout.meta
    reference = meta.date or reference_date or _any_date(paragraphs)
    if meta.date is None:
        warnings.append(ReviewFlag.NO_NOTICE_DATE)
    elif layout.date_from_meeting:
        warnings.append(ReviewFlag.DATE_FROM_MEETING)
    if reference is None:
        reference = date(2000, 1, 1)  # nothing to go by; yearless deadlines will look odd
    resolver = UnitResolver(units, issuer_rank=layout.issuer_rank, place=meta.place)
    body = paragraphs[layout.body_start : layout.body_end]
    items = outline(
        [(p.text, p.emphasis) if isinstance(p, Paragraph) else ("", False) for p in body]
    )
    tables = {i: p for i, p in enumerate(body) if isinstance(p, Table)}
    assignments = extract_assignments(items, tables, resolver, reference)
    if not assignments:
        warnings.append(ReviewFlag.NO_ASSIGNMENTS)
    if any(a.unresolved_units for a in assignments):
        warnings.append(ReviewFlag.UNRESOLVED_UNITS)
    return ImportResult(meta, tuple(assignments), encoding, tuple(warnings))


def _any_date(paragraphs: Sequence[Paragraph | Table]) -> date | None:
    """The first full date written anywhere: a better year for "trước 15/7" than none."""
    for paragraph in paragraphs:
        if isinstance(paragraph, Paragraph):
            match = re.search(r"(?<!\d)(\d{1,2})/(\d{1,2})/(\d{4})(?!\d)", paragraph.text)
            if match:
                try:
                    return date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
                except ValueError:
                    continue
    return None


def load_unit_refs(yaml_path: str | Path) -> list[UnitRef]:
    """Units from a registry YAML shaped like seed/cam-thuy-vhxh-2023.yaml (`units:` list)."""
    with Path(yaml_path).open(encoding="utf-8") as handle:
        document: Any = yaml.safe_load(handle)
    raw_units = document.get("units", []) if isinstance(document, dict) else []
    refs = []
    for raw in raw_units:
        try:
            kind = UnitKind(raw.get("kind", UnitKind.KHAC))
        except ValueError:
            kind = UnitKind.KHAC
        refs.append(
            UnitRef(
                code=str(raw["code"]),
                name=str(raw["name"]),
                short_name=str(raw.get("short_name") or ""),
                aliases=tuple(str(a) for a in raw.get("aliases") or ()),
                kind=kind,
                sectors=tuple(str(s) for s in raw.get("sectors") or ()),
            )
        )
    return refs
