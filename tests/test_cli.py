"""The `nhacviec` command as an admin runs it: a real subprocess on a real database."""

from __future__ import annotations

import os
from pathlib import Path

from tests.cli_support import ROOT, cli_env, cli_json, run_cli

__all__ = ["cli_env"]


def test_cli_seed_then_tasks_list_json(cli_env: dict[str, str], tmp_path: Path) -> None:
    loaded = cli_json(run_cli("seed", "load", "--json", env=cli_env, cwd=tmp_path))
    assert loaded["changed"] and len(loaded["assignments_created"]) == 20
    again = cli_json(run_cli("seed", "load", "--json", env=cli_env, cwd=tmp_path))
    assert not again["changed"]

    tasks = cli_json(run_cli("tasks", "list", "--json", env=cli_env, cwd=tmp_path))
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

    gddt = cli_json(run_cli("tasks", "list", "--unit", "GDDT", "--json", env=cli_env, cwd=tmp_path))
    assert {t["code"] for t in gddt} == {"VHXH23-04", "VHXH23-05", "VHXH23-10"}
    early = cli_json(
        run_cli("tasks", "list", "--due-before", "1/7/2023", "--json", env=cli_env, cwd=tmp_path)
    )
    assert [t["code"] for t in early] == ["VHXH23-04"]
    shown = cli_json(run_cli("tasks", "show", "vhxh23-07", "--json", env=cli_env, cwd=tmp_path))
    assert shown["deadline_text"] == "trước ngày 15/7/2023"

    human = run_cli("tasks", "list", env=cli_env, cwd=tmp_path)
    assert human.returncode == 0
    assert "30/6/2023" in human.stdout and "Phòng GD&ĐT" in human.stdout


def test_cli_units_officers_and_invite(cli_env: dict[str, str], tmp_path: Path) -> None:
    cli_json(run_cli("seed", "load", "--json", env=cli_env, cwd=tmp_path))
    cli_env["TELEGRAM_BOT_USERNAME"] = "nhacviec_bot"
    invite = cli_json(
        run_cli(
            "invite",
            "create",
            "GDDT",
            "--name",
            "Nguyễn Văn An",
            "--json",
            env=cli_env,
            cwd=tmp_path,
        )
    )
    assert set(invite) >= {"code", "telegram_link", "zalo_text"}
    assert invite["telegram_link"] == f"https://t.me/nhacviec_bot?start={invite['code']}"
    assert invite["code"] in invite["zalo_text"]
    units = cli_json(run_cli("units", "list", "--json", env=cli_env, cwd=tmp_path))
    gddt = next(u for u in units if u["code"] == "GDDT")
    assert set(gddt) >= {"code", "name", "aliases", "officers"}
    assert "Phòng GD&ĐT" in [gddt["short_name"], *gddt["aliases"]]
    added = cli_json(
        run_cli(
            "units",
            "add",
            "XA-PHUCDO",
            "UBND xã Cẩm Phú",
            "--kind",
            "xa_thi_tran",
            "--json",
            env=cli_env,
            cwd=tmp_path,
        )
    )
    assert added["code"] == "XA-PHUCDO"
    assert cli_json(run_cli("officers", "list", "--json", env=cli_env, cwd=tmp_path)) == []


def test_cli_refusals_are_polite_and_exit_non_zero(cli_env: dict[str, str], tmp_path: Path) -> None:
    unknown = run_cli("tasks", "show", "KHONG-CO", env=cli_env, cwd=tmp_path)
    assert unknown.returncode == 1
    assert "KHONG-CO" in unknown.stderr and "Traceback" not in unknown.stderr
    bad_status = run_cli("tasks", "list", "--status", "xong", env=cli_env, cwd=tmp_path)
    assert bad_status.returncode == 1 and "Traceback" not in bad_status.stderr
    bad_date = run_cli("tasks", "list", "--due-before", "31/2/2023", env=cli_env, cwd=tmp_path)
    assert bad_date.returncode == 1 and "31/2/2023" in bad_date.stderr


def test_cli_run_without_token_says_what_to_fill_in(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    result = run_cli("run", env=cli_env, cwd=tmp_path)
    assert result.returncode == 2
    assert "TELEGRAM_BOT_TOKEN" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_bad_setting_stops_with_one_line(cli_env: dict[str, str], tmp_path: Path) -> None:
    cli_env["BOT_TIMEZONE"] = "Asia/Hanoii"
    cli_env["TELEGRAM_BOT_TOKEN"] = "123456:secret-token-value"
    result = run_cli("run", env=cli_env, cwd=tmp_path)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[-1] == "BOT_TIMEZONE: unknown time zone 'Asia/Hanoii'"
    assert "secret-token-value" not in result.stderr + result.stdout


def test_cli_python_m_bot_is_the_same_command(tmp_path: Path, clean_env: None) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = run_cli("--help", env=env, cwd=tmp_path)
    assert result.returncode == 0
    assert "seed" in result.stdout and "tasks" in result.stdout
