"""The service's aiohttp server: the health check, and the webhooks the channels mount."""

from __future__ import annotations

import logging

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from bot.app import AppContext
from bot.i18n import _
from storage.db import check_database

log = logging.getLogger(__name__)

CONTEXT_KEY = web.AppKey("context", AppContext)


async def healthz(request: web.Request) -> web.Response:
    """200 when the database answers; load balancers and `docker healthcheck` poll this."""
    ctx = request.app[CONTEXT_KEY]
    try:
        await check_database(ctx.engine)
    except (SQLAlchemyError, OSError):
        return web.json_response({"status": "error", "database": "unreachable"}, status=503)
    return web.json_response({"status": "ok"})


def build_web_app(ctx: AppContext) -> web.Application:
    app = web.Application(client_max_size=25 * 1024 * 1024)
    app[CONTEXT_KEY] = ctx
    app.router.add_get("/healthz", healthz)
    return app


class WebStartupError(Exception):
    """The server cannot listen where WEB_HOST/WEB_PORT say (port taken, unknown host)."""


class WebServer:
    """Start/stop wrapper so the runtime treats the server like any other component."""

    def __init__(self, app: web.Application, host: str, port: int) -> None:
        self._app = app
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None

    @property
    def app(self) -> web.Application:
        return self._app

    async def start(self) -> None:
        self._runner = web.AppRunner(self._app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        try:
            await site.start()
        except OSError as exc:
            await self._runner.cleanup()
            self._runner = None
            # Said here, not left to `run`'s generic OSError ("cannot reach the database").
            raise WebStartupError(
                _("WEB_HOST/WEB_PORT: cannot listen on {host}:{port} ({error})").format(
                    host=self._host, port=self._port, error=exc.strerror or exc
                )
            ) from exc
        log.info("web server listening on %s:%s", self._host, self._port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
