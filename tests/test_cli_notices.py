"""`nhacviec import-notice` and `nhacviec notices ...` as an admin runs them: real
subprocesses on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.test_notice_import_service import SMALL_NOTICE

ROOT = Path(__file__).resolve().parents[1]
SEED_NOTICE = ROOT / "seed" / "thong-bao-ket-luan-giao-ban-vhxh-6-thang-2023.txt"
SEED_YAML = ROOT / "seed" / "cam-thuy-vhxh-2023.yaml"
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf")

NEEDS_FONT = pytest.mark.skipif(not FONT.exists(), reason="no DejaVu font to write a PDF")


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _json(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _refused(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    return _flat(result.stderr)


def _flat(text: str) -> str:
    """Console output with rich's line wrapping undone."""
    return " ".join(text.split())


@pytest.fixture
def cli_env(db_url: str, tmp_path: Path, clean_env: None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": db_url,
            "ATTACHMENTS_DIR": str(tmp_path / "attachments"),
            "PYTHONPATH": str(ROOT),
            "BOT_LOCALE": "vi",
        }
    )
    return env


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
    loaded = _json(_run(["seed", "load", str(folder / "units.yaml"), "--json"], cli_env, tmp_path))
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
    _json(_run(["seed", "load", "--json"], cli_env, tmp_path))  # the registry
    document = _json(_run(["import-notice", str(SEED_NOTICE), "--json"], cli_env, tmp_path))

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
    _json(_run(["seed", "load", "--json"], cli_env, tmp_path))
    text = SEED_NOTICE.read_text(encoding="utf-8")
    as_docx = tmp_path / "thong-bao.docx"
    as_docx.write_bytes(_docx(text))
    as_pdf = tmp_path / "thong-bao.pdf"
    as_pdf.write_bytes(_pdf(text))

    from_text = _json(_run(["import-notice", str(SEED_NOTICE), "--json"], cli_env, tmp_path))
    expected = sorted(_key(item) for item in from_text["assignments"])
    for path in (as_docx, as_pdf):
        document = _json(_run(["import-notice", str(path), "--json"], cli_env, tmp_path))
        assert sorted(_key(item) for item in document["assignments"]) == expected, path.name


def test_cli_import_notice_review_table_in_vietnamese(
    cli_env: dict[str, str], tmp_path: Path, registry_only: None
) -> None:
    notice = tmp_path / "tb-45.txt"
    notice.write_text(SMALL_NOTICE, encoding="utf-8")
    result = _run(["import-notice", str(notice)], cli_env, tmp_path)
    assert result.returncode == 0, result.stderr
    out = _flat(result.stdout)
    assert "45/TB-UBND" in out and "Đơn vị chủ trì" in out and "Thời hạn" in out
    assert "Phòng GD&ĐT" in out
    assert "chưa có trong danh sách đơn vị" in out  # the unknown unit, flagged
    assert "gợi ý:" in out
    assert "15/7/2024" in out and "trước 15/7" in out  # as written, and as read
    assert "Chưa lưu gì" in out
    listed = _json(_run(["notices", "list", "--json"], cli_env, tmp_path))
    assert listed == []


# --- draft, review, confirm -------------------------------------------------------------------


def test_cli_commit_then_confirm_makes_the_seed_tasks_live(
    cli_env: dict[str, str], tmp_path: Path, registry_only: None
) -> None:
    stored = _json(
        _run(["import-notice", str(SEED_NOTICE), "--json", "--commit"], cli_env, tmp_path)
    )
    draft_id = stored["draft_id"]
    again = _json(
        _run(["import-notice", str(SEED_NOTICE), "--json", "--commit"], cli_env, tmp_path)
    )
    assert again == stored  # the same draft, not a second one
    drafts = _json(_run(["notices", "list", "--json"], cli_env, tmp_path))
    assert [d["id"] for d in drafts] == [draft_id]

    shown = _json(_run(["notices", "show", str(draft_id), "--json"], cli_env, tmp_path))
    assert len(shown["lines"]) == len(stored["assignments"])
    assert shown["missing_leads"] == []

    confirmed = _json(_run(["notices", "confirm", str(draft_id), "--json"], cli_env, tmp_path))
    assert [t["code"] for t in confirmed] == [
        f"TB0623-{n:02d}" for n in range(1, len(stored["assignments"]) + 1)
    ]

    tasks = _json(_run(["tasks", "list", "--json"], cli_env, tmp_path))
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
    refused = _refused(_run(["import-notice", str(SEED_NOTICE), "--commit"], cli_env, tmp_path))
    assert "đã được xác nhận" in refused
    assert len(_json(_run(["tasks", "list", "--json"], cli_env, tmp_path))) == len(tasks)


def test_cli_fix_unit_and_deadline_before_confirming(
    cli_env: dict[str, str], tmp_path: Path, registry_only: None
) -> None:
    notice = tmp_path / "tb-45.txt"
    notice.write_text(SMALL_NOTICE, encoding="utf-8")
    committed = _run(["import-notice", str(notice), "--commit"], cli_env, tmp_path)
    assert committed.returncode == 0, committed.stderr
    assert "notices set-unit" in _flat(committed.stdout)  # tells the admin what to do next
    draft_id = _json(_run(["notices", "list", "--json"], cli_env, tmp_path))[0]["id"]

    # Line 2's unit is not in the registry: confirmation is refused and names the line.
    refused = _refused(_run(["notices", "confirm", str(draft_id)], cli_env, tmp_path))
    assert "dòng 2" in refused
    assert _json(_run(["tasks", "list", "--json"], cli_env, tmp_path)) == []

    draft = _json(
        _run(["notices", "set-unit", str(draft_id), "2", "VP", "--json"], cli_env, tmp_path)
    )
    assert draft["lines"][1]["lead_unit"] == "VP" and draft["missing_leads"] == []
    fixed = _run(["notices", "set-deadline", str(draft_id), "1", "30/6/2024"], cli_env, tmp_path)
    assert fixed.returncode == 0, fixed.stderr
    bad = _refused(_run(["notices", "set-deadline", str(draft_id), "3", "sớm"], cli_env, tmp_path))
    assert "30/6/2023" in bad  # says how to write it
    _refused(_run(["notices", "set-unit", str(draft_id), "1", "KHONG-CO"], cli_env, tmp_path))

    confirmed = _json(_run(["notices", "confirm", str(draft_id), "--json"], cli_env, tmp_path))
    by_code = {t["code"]: t for t in confirmed}
    assert set(by_code) == {"TB45-01", "TB45-02", "TB45-03"}
    assert by_code["TB45-01"]["due_date"] == date(2024, 6, 30).isoformat()
    assert by_code["TB45-01"]["cooperating_units"] == ["TTYT"]
    assert by_code["TB45-02"]["lead_unit"] == "VP"
    assert by_code["TB45-03"]["deadline_kind"] == "month"
    shown = _json(_run(["tasks", "show", "TB45-02", "--json"], cli_env, tmp_path))
    assert shown["status"] == "not_started" and shown["due_date"] == "2024-07-30"


def test_cli_drop_and_cancel(cli_env: dict[str, str], tmp_path: Path, registry_only: None) -> None:
    notice = tmp_path / "tb-45.txt"
    notice.write_text(SMALL_NOTICE, encoding="utf-8")
    draft_id = _json(_run(["import-notice", str(notice), "--commit", "--json"], cli_env, tmp_path))[
        "draft_id"
    ]
    dropped = _json(_run(["notices", "drop", str(draft_id), "2", "--json"], cli_env, tmp_path))
    assert [line["no"] for line in dropped["lines"]] == [1, 3]

    cancelled = _run(["notices", "cancel", str(draft_id)], cli_env, tmp_path)
    assert cancelled.returncode == 0, cancelled.stderr
    assert _json(_run(["notices", "list", "--json"], cli_env, tmp_path)) == []
    assert str(draft_id) in _refused(_run(["notices", "cancel", str(draft_id)], cli_env, tmp_path))


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
    scanned = _refused(_run(["import-notice", "scan.pdf", "--commit"], cli_env, tmp_path))
    assert "scan.pdf" in scanned and "no text layer" in scanned
    assert "empty.txt" in _refused(_run(["import-notice", "empty.txt"], cli_env, tmp_path))
    assert ".docx, .pdf or .txt" in _refused(
        _run(["import-notice", "bang.xlsx"], cli_env, tmp_path)
    )
    assert "absent.docx" in _refused(_run(["import-notice", "absent.docx"], cli_env, tmp_path))

    cli_env["BOT_LOCALE"] = "vi"
    assert "lớp chữ" in _refused(_run(["import-notice", "scan.pdf", "--json"], cli_env, tmp_path))
    assert _json(_run(["notices", "list", "--json"], cli_env, tmp_path)) == []
