"""`nhacviec run` as an admin starts it: a wrong bot token or an unreachable Bot API stops
it at once with one line naming the setting (never the token), not a traceback."""

from __future__ import annotations

import asyncio
import signal
import socket
from pathlib import Path

import pytest

from tests.cli_support import make_cli_env, start_cli
from tests.fakes.telegram_api import FakeTelegramServer, RateLimits

RUN = ("run", "--no-scheduler")
TOKEN = "123456:TEST-right-token"
WRONG = "654321:WRONG-secret-token-value"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(tmp_path: Path, token: str, api_base: str) -> dict[str, str]:
    return make_cli_env(
        f"sqlite+aiosqlite:///{tmp_path / 'run.db'}",
        tmp_path / "attachments",
        drop=("TELEGRAM_", "ZALO_", "BOT_", "ADMIN_", "DATABASE_", "WEB_"),
        TELEGRAM_BOT_TOKEN=token,
        TELEGRAM_API_BASE=api_base,
        WEB_PORT=str(_free_port()),
    )


async def _run(env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    process = await start_cli(*RUN, env=env, cwd=cwd)
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=90)
    except TimeoutError:
        process.kill()
        await process.wait()
        pytest.fail("nhacviec run did not stop")
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def _error_lines(stderr: str) -> list[str]:
    """What the admin reads, without the service's own log lines (timestamped)."""
    return [line for line in stderr.splitlines() if line.strip() and " INFO " not in line]


async def test_run_with_a_wrong_token_names_the_setting(tmp_path: Path) -> None:
    async with FakeTelegramServer(TOKEN, rate_limits=RateLimits.off()) as tg:
        # The fake answers 401 Unauthorized to any other token, as the real Bot API does.
        code, out, err = await _run(_env(tmp_path, WRONG, tg.base_url), tmp_path)
    assert code == 2
    assert "Traceback" not in err + out
    assert "WRONG-secret-token-value" not in err + out and "654321" not in err + out
    lines = _error_lines(err)
    assert len(lines) == 1, err
    assert lines[0].startswith("TELEGRAM_BOT_TOKEN:") and "từ chối" in lines[0], lines


async def test_run_with_an_unreachable_api_base_names_the_setting(tmp_path: Path) -> None:
    closed = f"http://127.0.0.1:{_free_port()}"  # nothing listens there
    code, out, err = await _run(_env(tmp_path, WRONG, closed), tmp_path)
    assert code == 2
    assert "Traceback" not in err + out
    assert "WRONG-secret-token-value" not in err + out
    lines = _error_lines(err)
    assert len(lines) == 1, err
    assert lines[0].startswith("TELEGRAM_API_BASE:") and "không kết nối được" in lines[0], lines


async def test_run_with_the_right_token_polls_and_stops_cleanly(tmp_path: Path) -> None:
    async with FakeTelegramServer(TOKEN, rate_limits=RateLimits.off()) as tg:
        process = await start_cli(*RUN, env=_env(tmp_path, TOKEN, tg.base_url), cwd=tmp_path)
        try:
            await tg.wait_for_call("getUpdates", timeout=60)
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGINT)
        out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, err
    assert "Traceback" not in err.decode() + out.decode()


async def test_run_with_the_web_port_taken_names_the_setting(tmp_path: Path) -> None:
    async with FakeTelegramServer(TOKEN, rate_limits=RateLimits.off()) as tg:
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            env = _env(tmp_path, TOKEN, tg.base_url)
            env["WEB_PORT"] = str(taken.getsockname()[1])
            code, out, err = await _run(env, tmp_path)
    assert code == 2
    assert "Traceback" not in err + out
    lines = _error_lines(err)
    assert len(lines) == 1, err
    assert lines[0].startswith("WEB_HOST/WEB_PORT:"), lines
    assert "cơ sở dữ liệu" not in lines[0]  # not mistaken for a database problem


async def test_run_with_a_wrong_zalo_token_names_the_setting(tmp_path: Path) -> None:
    from tests.fakes.zalo_bot_api import FakeZaloBotServer

    async with FakeZaloBotServer("2718281828459045235:right-zalo-token") as zb:
        env = _env(tmp_path, "", "")
        for name in ("TELEGRAM_BOT_TOKEN", "TELEGRAM_API_BASE"):
            del env[name]
        env.update(
            ZALO_BOT_TOKEN="3141592653589793238:WRONG-zalo-secret", ZALO_API_BASE=zb.base_url
        )
        code, out, err = await _run(env, tmp_path)
    assert code == 2
    assert "Traceback" not in err + out
    assert "WRONG-zalo-secret" not in err + out
    lines = _error_lines(err)
    assert len(lines) == 1, err
    assert lines[0].startswith("ZALO_BOT_TOKEN:") and "từ chối" in lines[0], lines
