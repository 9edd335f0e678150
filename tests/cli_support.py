"""Running `nhacviec` as an admin does: a real `python -m bot` subprocess on the test's
database, in Vietnamese, with no setting from the developer's environment but those given.

`run_cli` blocks (for tests with nothing else to serve); `run_cli_async` lets the event loop
keep serving the fake chat servers the subprocess talks to."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 120


def make_cli_env(
    database_url: str,
    attachments_dir: Path | str,
    *,
    drop: tuple[str, ...] = (),
    **settings: str,
) -> dict[str, str]:
    """This process's environment without the variables starting with `drop`, pointed at
    `database_url`, plus `settings` (environment variable names)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.update(
        {
            "DATABASE_URL": database_url,
            "ATTACHMENTS_DIR": str(attachments_dir),
            "PYTHONPATH": str(ROOT),
            "BOT_LOCALE": "vi",
        }
    )
    env.update(settings)
    return env


@pytest.fixture
def cli_env(db_url: str, tmp_path: Path, clean_env: None) -> dict[str, str]:
    """The environment for `nhacviec` on this test's database (no Nhắc việc setting else)."""
    return make_cli_env(db_url, tmp_path / "attachments")


def run_cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """`nhacviec ARGS`, to its end; its exit code and output, whatever they are."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


async def start_cli(*args: str, env: dict[str, str], cwd: Path) -> asyncio.subprocess.Process:
    """`nhacviec ARGS` started, its output piped, while this event loop goes on."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def run_cli_async(
    *args: str, env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    """`run_cli` without blocking the loop, which also serves the fakes."""
    process = await start_cli(*args, env=env, cwd=cwd)
    out, err = await asyncio.wait_for(process.communicate(), timeout=TIMEOUT)
    return subprocess.CompletedProcess(
        list(args), process.returncode or 0, out.decode(), err.decode()
    )


def cli_json(result: subprocess.CompletedProcess[str]) -> Any:
    """The JSON a successful command printed."""
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


async def run_beside(
    settings: Settings, *args: str, **env: str
) -> subprocess.CompletedProcess[str]:
    """`nhacviec` on a running service's database and attachments, with only the chat
    settings in `env` (none from this environment), as an admin runs it; it succeeds."""
    result = await run_cli_async(
        *args,
        env=make_cli_env(
            settings.database_url, settings.attachments_dir, drop=("TELEGRAM_", "ZALO_"), **env
        ),
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    return result
