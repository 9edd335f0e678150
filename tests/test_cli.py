"""The `nhacviec` command as an admin runs it: a real subprocess on a real database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


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


def _json(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_cli_seed_then_tasks_list_json(cli_env: dict[str, str], tmp_path: Path) -> None:
    loaded = _json(_run(["seed", "load", "--json"], cli_env, tmp_path))
    assert loaded["changed"] and len(loaded["assignments_created"]) == 20
    again = _json(_run(["seed", "load", "--json"], cli_env, tmp_path))
    assert not again["changed"]

    tasks = _json(_run(["tasks", "list", "--json"], cli_env, tmp_path))
    assert len(tasks) == 20
    first = tasks[0]
    assert set(first) >= {
        "code",
        "title",
        "lead_unit",
        "cooperating_units",
        "due_date",
        "deadline_kind",
        "deadline_text",
        "status",
        "reports",
    }
    assert (first["code"], first["lead_unit"], first["due_date"]) == (
        "VHXH23-04",
        "GDDT",
        "2023-06-30",
    )
    by_code = {t["code"]: t for t in tasks}
    assert by_code["VHXH23-18"]["cooperating_units"] == ["TTYT", "VNPT"]
    assert by_code["VHXH23-14"]["deadline_kind"] == "month"
    assert by_code["VHXH23-06"]["deadline_kind"] == "conditional"
    assert by_code["VHXH23-06"]["due_date"] is None

    gddt = _json(_run(["tasks", "list", "--unit", "GDDT", "--json"], cli_env, tmp_path))
    assert {t["code"] for t in gddt} == {"VHXH23-04", "VHXH23-05", "VHXH23-10"}
    early = _json(_run(["tasks", "list", "--due-before", "1/7/2023", "--json"], cli_env, tmp_path))
    assert [t["code"] for t in early] == ["VHXH23-04"]
    shown = _json(_run(["tasks", "show", "vhxh23-07", "--json"], cli_env, tmp_path))
    assert shown["deadline_text"] == "trước ngày 15/7/2023"

    human = _run(["tasks", "list"], cli_env, tmp_path)
    assert human.returncode == 0
    assert "30/6/2023" in human.stdout and "Phòng GD&ĐT" in human.stdout


def test_cli_units_officers_and_invite(cli_env: dict[str, str], tmp_path: Path) -> None:
    _json(_run(["seed", "load", "--json"], cli_env, tmp_path))
    cli_env["TELEGRAM_BOT_USERNAME"] = "nhacviec_bot"
    invite = _json(
        _run(["invite", "create", "GDDT", "--name", "Nguyễn Văn An", "--json"], cli_env, tmp_path)
    )
    assert set(invite) >= {"code", "telegram_link", "zalo_text"}
    assert invite["telegram_link"] == f"https://t.me/nhacviec_bot?start={invite['code']}"
    assert invite["code"] in invite["zalo_text"]
    units = _json(_run(["units", "list", "--json"], cli_env, tmp_path))
    gddt = next(u for u in units if u["code"] == "GDDT")
    assert set(gddt) >= {"code", "name", "aliases", "officers"}
    assert "Phòng GD&ĐT" in [gddt["short_name"], *gddt["aliases"]]
    added = _json(
        _run(
            ["units", "add", "XA-PHUCDO", "UBND xã Cẩm Phú", "--kind", "xa_thi_tran", "--json"],
            cli_env,
            tmp_path,
        )
    )
    assert added["code"] == "XA-PHUCDO"
    assert _json(_run(["officers", "list", "--json"], cli_env, tmp_path)) == []


def test_cli_refusals_are_polite_and_exit_non_zero(cli_env: dict[str, str], tmp_path: Path) -> None:
    unknown = _run(["tasks", "show", "KHONG-CO"], cli_env, tmp_path)
    assert unknown.returncode == 1
    assert "KHONG-CO" in unknown.stderr and "Traceback" not in unknown.stderr
    bad_status = _run(["tasks", "list", "--status", "xong"], cli_env, tmp_path)
    assert bad_status.returncode == 1 and "Traceback" not in bad_status.stderr
    bad_date = _run(["tasks", "list", "--due-before", "31/2/2023"], cli_env, tmp_path)
    assert bad_date.returncode == 1 and "31/2/2023" in bad_date.stderr


def test_cli_run_without_token_says_what_to_fill_in(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    result = _run(["run"], cli_env, tmp_path)
    assert result.returncode == 2
    assert "TELEGRAM_BOT_TOKEN" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_bad_setting_stops_with_one_line(cli_env: dict[str, str], tmp_path: Path) -> None:
    cli_env["BOT_TIMEZONE"] = "Asia/Hanoii"
    cli_env["TELEGRAM_BOT_TOKEN"] = "123456:secret-token-value"
    result = _run(["run"], cli_env, tmp_path)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[-1] == "BOT_TIMEZONE: unknown time zone 'Asia/Hanoii'"
    assert "secret-token-value" not in result.stderr + result.stdout


def test_cli_python_m_bot_is_the_same_command(tmp_path: Path, clean_env: None) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = _run(["--help"], env, tmp_path)
    assert result.returncode == 0
    assert "seed" in result.stdout and "tasks" in result.stdout
