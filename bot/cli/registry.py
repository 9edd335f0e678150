"""`nhacviec units|officers|invite ...`: the registry of units and officers."""

from __future__ import annotations

import typer

from bot.app import AppContext
from bot.channels.telegram_session import fetch_bot_username
from bot.cli.common import console, print_json, run_with_context, table
from bot.config import get_settings
from bot.domain.enums import Role, UnitKind
from bot.i18n import _
from bot.presentation import role_label, unit_kind_label
from bot.services.dto import InviteView, OfficerView, UnitView
from bot.services.errors import InvalidValueError

units_app = typer.Typer(help="Units (phòng, ban, trung tâm, trường, xã).", no_args_is_help=True)
officers_app = typer.Typer(help="Officers and their chat accounts.", no_args_is_help=True)
invite_app = typer.Typer(
    help="Invites that bind a chat account to an officer.", no_args_is_help=True
)


@units_app.command("list")
def list_units(
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
    include_inactive: bool = typer.Option(False, "--all", help="Include inactive units."),
) -> None:
    """Units with their officers and who is bound."""

    async def action(ctx: AppContext) -> list[UnitView]:
        return await ctx.registry.list_units(include_inactive=include_inactive)

    units = run_with_context(action)
    if as_json:
        print_json([unit.to_json() for unit in units])
        return
    rows = []
    for unit in units:
        bound = sum(1 for o in unit.officers if o.bound)
        rows.append(
            [
                unit.code,
                unit.name,
                unit_kind_label(unit.kind),
                _("{bound}/{total} bound").format(bound=bound, total=len(unit.officers)),
            ]
        )
    table([_("Code"), _("Unit"), _("Kind"), _("Officers")], rows, title=_("Units"))


@units_app.command("add")
def add_unit(
    code: str = typer.Argument(..., help="Short code, e.g. GDDT."),
    name: str = typer.Argument(..., help="Full name, e.g. 'Phòng Giáo dục và Đào tạo'."),
    kind: UnitKind = typer.Option(UnitKind.PHONG_BAN, "--kind", help="Kind of unit."),
    short_name: str = typer.Option("", "--short-name", help="Short form, e.g. 'Phòng GD&ĐT'."),
    alias: list[str] = typer.Option([], "--alias", help="Another name the texts use (repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Register a unit."""

    async def action(ctx: AppContext) -> UnitView:
        return await ctx.registry.add_unit(
            code=code, name=name, kind=kind, short_name=short_name, aliases=alias, actor="cli"
        )

    unit = run_with_context(action)
    if as_json:
        print_json(unit.to_json())
    else:
        console.print(
            _("Unit {code} added: {name}.").format(code=unit.code, name=unit.name), markup=False
        )


@officers_app.command("list")
def list_officers(
    unit: str | None = typer.Option(None, "--unit", help="Only this unit's officers."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Officers, their role and the chat apps they are bound on."""

    async def action(ctx: AppContext) -> list[OfficerView]:
        return await ctx.registry.list_officers(unit)

    officers = run_with_context(action)
    if as_json:
        print_json([{"id": officer.id, **officer.to_json()} for officer in officers])
        return
    rows = [
        [
            str(o.id),
            o.name,
            o.unit_code or "—",
            role_label(o.role),
            ", ".join(o.channels) if o.channels else _("not bound"),
        ]
        for o in officers
    ]
    table([_("ID"), _("Name"), _("Unit"), _("Role"), _("Chat apps")], rows, title=_("Officers"))


@invite_app.command("create")
def create_invite(
    unit_code: str | None = typer.Argument(
        None, help="The unit the officer belongs to (with --officer: checked against theirs)."
    ),
    name: str | None = typer.Option(None, "--name", help="The new officer's full name."),
    role: Role = typer.Option(Role.OFFICER, "--role", help="Role given on binding."),
    officer: int | None = typer.Option(
        None,
        "--officer",
        help="An existing officer's id (see `officers list`): the code binds one more chat "
        "app to them instead of creating a new officer.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Create a single-use invite and print the code, the Telegram link and the Zalo text."""

    async def action(ctx: AppContext) -> InviteView:
        if officer is None and (not unit_code or not name):
            raise InvalidValueError(
                _(
                    "Give the unit and --name for a new officer, or --officer ID for an "
                    "existing one."
                )
            )
        ctx.registry.telegram_username = await fetch_bot_username(ctx.settings)
        return await ctx.registry.create_invite(
            unit_code=unit_code,
            officer_name=name or "",
            role=role,
            actor="cli",
            officer_id=officer,
        )

    invite = run_with_context(action)
    if as_json:
        print_json(invite.to_json())
        return
    console.print(
        _("Invite for {name} ({unit}):").format(
            name=invite.officer_name, unit=invite.unit_code or "—"
        ),
        markup=False,
    )
    console.print(_("Code: {code}").format(code=invite.code), markup=False)
    if invite.telegram_link:
        console.print(_("Telegram: {link}").format(link=invite.telegram_link), markup=False)
    else:
        console.print(
            _(
                "Telegram: send /start {code} to the bot (set TELEGRAM_BOT_USERNAME for a link)"
            ).format(code=invite.code),
            markup=False,
        )
    console.print(_("Zalo: {text}").format(text=invite.zalo_text), markup=False)
    local = invite.expires_at.astimezone(get_settings().tz)
    console.print(
        _("Valid until {when}.").format(when=local.strftime("%H:%M %d/%m/%Y")), markup=False
    )
