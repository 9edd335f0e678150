"""`nhacviec import-notice` and `nhacviec notices ...` as an admin runs them: real
subprocesses on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cli_support import ROOT, cli_env, cli_json, run_cli
from tests.test_notice_import_service import SMALL_NOTICE

__all__ = ["cli_env"]

SEED_NOTICE = ROOT / "seed" / "thong-bao-ket-luan-giao-ban-vhxh-6-thang-2023.txt"
SEED_YAML = ROOT / "seed" / "cam-thuy-vhxh-2023.yaml"
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf")

NEEDS_FONT = pytest.mark.skipif(not FONT.exists(), reason="no DejaVu font to write a PDF")


def _refused(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    return _flat(result.stderr)


def _flat(text: str) -> str:
    """Console output with rich's line wrapping undone."""
    return " ".join(text.split())


@pytest.fixture
def registry_only(cli_env: dict[str, str], tmp_path: Path) -> None:
    """The Cẩm Thủy units without the seed's notice (loading it would make the notice live):
    a seed file with the same units, no assignments and a one-line notice of its own."""
    seed = yaml.safe_load(SEED_YAML.read_text(encoding="utf-8"))
    folder = tmp_path / "registry"
    folder.mkdir()
    (folder / "units.txt").write_text("Danh sách đơn vị.\n", encoding="utf-8")
    seed["notice"]["source"] = "units.txt"
    seed["notice"]["number"] = ""
    seed["assignments"] = []
    (folder / "units.yaml").write_text(yaml.safe_dump(seed, allow_unicode=True), "utf-8")
    loaded = cli_json(
        run_cli("seed", "load", str(folder / "units.yaml"), "--json", env=cli_env, cwd=tmp_path)
    )
    assert len(loaded["units_created"]) == 21 and not loaded["assignments_created"]


def _key(item: dict[str, Any]) -> tuple[Any, ...]:
    return (
        item["section"],
        tuple(item["lead_units"]),
        tuple(sorted(item["cooperating_units"])),
        item["deadline"]["kind"],
        item["deadline"]["date"],
    )


# --- what the notice says ---------------------------------------------------------------------


def test_cli_import_notice_json_matches_the_curated_seed(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    cli_json(run_cli("seed", "load", "--json", env=cli_env, cwd=tmp_path))  # the registry
    document = cli_json(
        run_cli("import-notice", str(SEED_NOTICE), "--json", env=cli_env, cwd=tmp_path)
    )

    assert set(document) >= {"notice", "assignments"}
    assert document["notice"]["date"] == "2023-06-16"
    assert set(document["notice"]) >= {"number", "date", "place", "title", "signer"}
    for item in document["assignments"]:
        assert set(item) >= {
            "section",
            "action",
            "lead_units",
            "cooperating_units",
            "deliverable",
            "deadline",
            "unresolved_units",
            "source",
        }
        assert set(item["deadline"]) >= {"kind", "date", "text"}

    truth = yaml.safe_load(SEED_YAML.read_text(encoding="utf-8"))["assignments"]
    dated = [a for a in truth if a["deadline"].get("date") is not None]
    read = [_key(item) for item in document["assignments"] if item["deadline"]["date"]]
    for item in dated:
        wanted = (
            str(item["section"]),
            (item["lead"],),
            tuple(sorted(item["cooperating"])),
            item["deadline"]["kind"],
            item["deadline"]["date"].isoformat(),
        )
        assert wanted in read, f"{item['code']} not reproduced"
    assert len(read) == len(dated)  # and no dated assignment the curators did not write


def _docx(text: str) -> bytes:
    """The notice as Word writes it: one paragraph per paragraph, numbered headings bold."""
    import docx

    document = docx.Document()
    for paragraph in text.split("\n\n"):
        paragraph = " ".join(paragraph.split())
        if not paragraph:
            continue
        para = document.add_paragraph()
        run = para.add_run(paragraph)
        run.bold = paragraph[:1].isdigit() and len(paragraph) < 200
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _pdf(text: str) -> bytes:
    """The notice printed to PDF (a text layer, Vietnamese through a Unicode font)."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_margins(25, 20, 20)
    pdf.add_page()
    pdf.add_font("Serif", "", str(FONT))
    pdf.set_font("Serif", size=12)
    for paragraph in text.split("\n\n"):
        paragraph = " ".join(paragraph.split())
        if paragraph:
            pdf.multi_cell(0, 6, paragraph, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(3)
    return bytes(pdf.output())


@NEEDS_FONT
def test_cli_import_notice_docx_and_pdf_give_the_same_assignments(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    cli_json(run_cli("seed", "load", "--json", env=cli_env, cwd=tmp_path))
    text = SEED_NOTICE.read_text(encoding="utf-8")
    as_docx = tmp_path / "thong-bao.docx"
    as_docx.write_bytes(_docx(text))
    as_pdf = tmp_path / "thong-bao.pdf"
    as_pdf.write_bytes(_pdf(text))

    from_text = cli_json(
        run_cli("import-notice", str(SEED_NOTICE), "--json", env=cli_env, cwd=tmp_path)
    )
    expected = sorted(_key(item) for item in from_text["assignments"])
    for path in (as_docx, as_pdf):
        document = cli_json(
            run_cli("import-notice", str(path), "--json", env=cli_env, cwd=tmp_path)
        )
        assert sorted(_key(item) for item in document["assignments"]) == expected, path.name


def test_cli_import_notice_review_table_in_vietnamese(
    cli_env: dict[str, str], tmp_path: Path, registry_only: None
) -> None:
    notice = tmp_path / "tb-45.txt"
    notice.write_text(SMALL_NOTICE, encoding="utf-8")
    result = run_cli("import-notice", str(notice), env=cli_env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = _flat(result.stdout)
    assert "45/TB-UBND" in out and "Đơn vị chủ trì" in out and "Thời hạn" in out
    assert "Phòng GD&ĐT" in out
    assert "chưa có trong danh sách đơn vị" in out  # the unknown unit, flagged
    assert "gợi ý:" in out
    assert "15/7/2024" in out and "trước 15/7" in out  # as written, and as read
    assert "Chưa lưu gì" in out
    listed = cli_json(run_cli("notices", "list", "--json", env=cli_env, cwd=tmp_path))
    assert listed == []


# --- draft, review, confirm -------------------------------------------------------------------


def test_cli_commit_then_confirm_makes_the_seed_tasks_live(
    cli_env: dict[str, str], tmp_path: Path, registry_only: None
) -> None:
    stored = cli_json(
        run_cli("import-notice", str(SEED_NOTICE), "--json", "--commit", env=cli_env, cwd=tmp_path)
    )
    draft_id = stored["draft_id"]
    again = cli_json(
        run_cli("import-notice", str(SEED_NOTICE), "--json", "--commit", env=cli_env, cwd=tmp_path)
    )
    assert again == stored  # the same draft, not a second one
    drafts = cli_json(run_cli("notices", "list", "--json", env=cli_env, cwd=tmp_path))
    assert [d["id"] for d in drafts] == [draft_id]

    shown = cli_json(run_cli("notices", "show", str(draft_id), "--json", env=cli_env, cwd=tmp_path))
    assert len(shown["lines"]) == len(stored["assignments"])
    assert shown["missing_leads"] == []

    confirmed = cli_json(
        run_cli("notices", "confirm", str(draft_id), "--json", env=cli_env, cwd=tmp_path)
    )
    assert [t["code"] for t in confirmed] == [
        f"TB0623-{n:02d}" for n in range(1, len(stored["assignments"]) + 1)
    ]

    tasks = cli_json(run_cli("tasks", "list", "--json", env=cli_env, cwd=tmp_path))
    assert len(tasks) == len(stored["assignments"])
    assert {t["status"] for t in tasks} == {"not_started"}
    truth = yaml.safe_load(SEED_YAML.read_text(encoding="utf-8"))["assignments"]
    live = {(t["lead_unit"], tuple(t["cooperating_units"]), t["due_date"]) for t in tasks}
    for item in truth:
        if item["deadline"].get("date") is not None:
            wanted = (
                item["lead"],
                tuple(sorted(item["cooperating"])),
                item["deadline"]["date"].isoformat(),
            )
            assert wanted in live, item["code"]
    first = tasks[0]
    assert (first["lead_unit"], first["due_date"], first["deadline_kind"]) == (
        "GDDT",
        "2023-06-30",
        "date",
    )

    # Confirmed: the same file again is refused, politely, and nothing is duplicated.
    refused = _refused(
        run_cli("import-notice", str(SEED_NOTICE), "--commit", env=cli_env, cwd=tmp_path)
    )
    assert "đã được xác nhận" in refused
    assert len(cli_json(run_cli("tasks", "list", "--json", env=cli_env, cwd=tmp_path))) == len(
        tasks
    )


def test_cli_fix_unit_and_deadline_before_confirming(
    cli_env: dict[str, str], tmp_path: Path, registry_only: None
) -> None:
    notice = tmp_path / "tb-45.txt"
    notice.write_text(SMALL_NOTICE, encoding="utf-8")
    committed = run_cli("import-notice", str(notice), "--commit", env=cli_env, cwd=tmp_path)
    assert committed.returncode == 0, committed.stderr
    assert "notices set-unit" in _flat(committed.stdout)  # tells the admin what to do next
    draft_id = cli_json(run_cli("notices", "list", "--json", env=cli_env, cwd=tmp_path))[0]["id"]

    # Line 2's unit is not in the registry: confirmation is refused and names the line.
    refused = _refused(run_cli("notices", "confirm", str(draft_id), env=cli_env, cwd=tmp_path))
    assert "dòng 2" in refused
    assert cli_json(run_cli("tasks", "list", "--json", env=cli_env, cwd=tmp_path)) == []

    draft = cli_json(
        run_cli(
            "notices", "set-unit", str(draft_id), "2", "VP", "--json", env=cli_env, cwd=tmp_path
        )
    )
    assert draft["lines"][1]["lead_unit"] == "VP" and draft["missing_leads"] == []
    fixed = run_cli(
        "notices", "set-deadline", str(draft_id), "1", "30/6/2024", env=cli_env, cwd=tmp_path
    )
    assert fixed.returncode == 0, fixed.stderr
    bad = _refused(
        run_cli("notices", "set-deadline", str(draft_id), "3", "sớm", env=cli_env, cwd=tmp_path)
    )
    assert "30/6/2023" in bad  # says how to write it
    _refused(
        run_cli("notices", "set-unit", str(draft_id), "1", "KHONG-CO", env=cli_env, cwd=tmp_path)
    )

    confirmed = cli_json(
        run_cli("notices", "confirm", str(draft_id), "--json", env=cli_env, cwd=tmp_path)
    )
    by_code = {t["code"]: t for t in confirmed}
    assert set(by_code) == {"TB45-01", "TB45-02", "TB45-03"}
    assert by_code["TB45-01"]["due_date"] == date(2024, 6, 30).isoformat()
    assert by_code["TB45-01"]["cooperating_units"] == ["TTYT"]
    assert by_code["TB45-02"]["lead_unit"] == "VP"
    assert by_code["TB45-03"]["deadline_kind"] == "month"
    shown = cli_json(run_cli("tasks", "show", "TB45-02", "--json", env=cli_env, cwd=tmp_path))
    assert shown["status"] == "not_started" and shown["due_date"] == "2024-07-30"


def test_cli_drop_and_cancel(cli_env: dict[str, str], tmp_path: Path, registry_only: None) -> None:
    notice = tmp_path / "tb-45.txt"
    notice.write_text(SMALL_NOTICE, encoding="utf-8")
    draft_id = cli_json(
        run_cli("import-notice", str(notice), "--commit", "--json", env=cli_env, cwd=tmp_path)
    )["draft_id"]
    dropped = cli_json(
        run_cli("notices", "drop", str(draft_id), "2", "--json", env=cli_env, cwd=tmp_path)
    )
    assert [line["no"] for line in dropped["lines"]] == [1, 3]

    cancelled = run_cli("notices", "cancel", str(draft_id), env=cli_env, cwd=tmp_path)
    assert cancelled.returncode == 0, cancelled.stderr
    assert cli_json(run_cli("notices", "list", "--json", env=cli_env, cwd=tmp_path)) == []
    assert str(draft_id) in _refused(
        run_cli("notices", "cancel", str(draft_id), env=cli_env, cwd=tmp_path)
    )


# --- files that cannot be read ----------------------------------------------------------------


@NEEDS_FONT
def test_cli_bad_files_are_refused_without_a_traceback(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    from fpdf import FPDF

    scan = FPDF()
    scan.add_page()
    scan.rect(20, 20, 150, 200, style="F")  # a page that is only a picture
    (tmp_path / "scan.pdf").write_bytes(bytes(scan.output()))
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "bang.xlsx").write_bytes(b"PK\x03\x04 spreadsheet")

    cli_env["BOT_LOCALE"] = "en"
    scanned = _refused(run_cli("import-notice", "scan.pdf", "--commit", env=cli_env, cwd=tmp_path))
    assert "scan.pdf" in scanned and "no text layer" in scanned
    assert "empty.txt" in _refused(run_cli("import-notice", "empty.txt", env=cli_env, cwd=tmp_path))
    assert ".docx, .pdf or .txt" in _refused(
        run_cli("import-notice", "bang.xlsx", env=cli_env, cwd=tmp_path)
    )
    assert "absent.docx" in _refused(
        run_cli("import-notice", "absent.docx", env=cli_env, cwd=tmp_path)
    )

    cli_env["BOT_LOCALE"] = "vi"
    assert "lớp chữ" in _refused(
        run_cli("import-notice", "scan.pdf", "--json", env=cli_env, cwd=tmp_path)
    )
    assert cli_json(run_cli("notices", "list", "--json", env=cli_env, cwd=tmp_path)) == []
