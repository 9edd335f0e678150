"""Loading the curated seed (units + one notice's assignments) from YAML.

Validation happens in full before anything is written, so a bad file is refused with the
file, the entry and the reason, and the database is untouched. Loading is idempotent:
rows are matched by code (units, assignments) and by the notice text's sha256, and only
fields that differ are written.
"""

from __future__ import annotations

import calendar
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import seed as seed_package
from bot.clock import Clock
from bot.domain.enums import AssignmentStatus, DeadlineKind, NoticeStatus, UnitKind
from bot.domain.textnorm import nfc
from bot.domain.titles import short_title
from storage.models import Assignment, DeadlineChange, Notice, Unit
from storage.repositories import audit
from storage.repositories import registry as registry_repo
from storage.repositories import work as work_repo

PERIOD_KINDS = {DeadlineKind.MONTH, DeadlineKind.QUARTER, DeadlineKind.YEAR}
DATED_KINDS = {DeadlineKind.DATE, *PERIOD_KINDS}


def bundled_seed_path() -> Path:
    """The seed shipped in the package (works from a checkout and from an installed wheel)."""
    return Path(seed_package.__file__).resolve().parent / "cam-thuy-vhxh-2023.yaml"


class SeedError(Exception):
    """A refusal naming the file, the entry and the reason."""

    def __init__(self, path: Path, entry: str, reason: str) -> None:
        super().__init__(f"{path}: {entry}: {reason}")
        self.path = path
        self.entry = entry
        self.reason = reason


@dataclass(frozen=True, slots=True)
class SeedUnit:
    code: str
    name: str
    short_name: str
    kind: UnitKind
    aliases: tuple[str, ...]
    sectors: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SeedAssignment:
    code: str
    title: str
    section: str
    action: str
    deliverable: str
    lead: str
    cooperating: tuple[str, ...]
    deadline_kind: DeadlineKind
    due_date: date | None
    deadline_text: str
    condition: str | None
    recurrence: str | None


@dataclass(frozen=True, slots=True)
class SeedNotice:
    number: str
    issued_on: date | None
    place: str
    title: str
    issuer: str
    chaired_by: str
    signer: str
    source_name: str
    source_text: str
    source_sha256: str


@dataclass(frozen=True, slots=True)
class SeedFile:
    path: Path
    notice: SeedNotice
    units: tuple[SeedUnit, ...]
    assignments: tuple[SeedAssignment, ...]


@dataclass(slots=True)
class SeedSummary:
    units_created: list[str] = field(default_factory=list)
    units_updated: list[str] = field(default_factory=list)
    assignments_created: list[str] = field(default_factory=list)
    assignments_updated: list[str] = field(default_factory=list)
    notice_created: bool = False

    @property
    def changed(self) -> bool:
        return bool(
            self.units_created
            or self.units_updated
            or self.assignments_created
            or self.assignments_updated
            or self.notice_created
        )


def _text(raw: Mapping[str, Any], key: str, path: Path, entry: str, *, required: bool) -> str:
    value = raw.get(key)
    if value is None:
        if required:
            raise SeedError(path, entry, f"missing '{key}'")
        return ""
    if not isinstance(value, str | int):
        raise SeedError(path, entry, f"'{key}' must be text")
    return nfc(" ".join(str(value).split()))


def _strings(raw: Mapping[str, Any], key: str, path: Path, entry: str) -> tuple[str, ...]:
    value = raw.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SeedError(path, entry, f"'{key}' must be a list of text")
    return tuple(nfc(v.strip()) for v in value)


def _date(value: Any, path: Path, entry: str) -> date:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError as exc:
            raise SeedError(path, entry, f"impossible date {value!r}") from exc
    raise SeedError(path, entry, f"not a date: {value!r}")


def _period_end(kind: DeadlineKind, due: date) -> date:
    if kind is DeadlineKind.MONTH:
        return due.replace(day=calendar.monthrange(due.year, due.month)[1])
    if kind is DeadlineKind.QUARTER:
        month = ((due.month - 1) // 3 + 1) * 3
        return date(due.year, month, calendar.monthrange(due.year, month)[1])
    return date(due.year, 12, 31)


def _parse_unit(raw: Any, path: Path, index: int) -> SeedUnit:
    entry = f"units[{index}]"
    if not isinstance(raw, dict):
        raise SeedError(path, entry, "must be a mapping")
    code = _text(raw, "code", path, entry, required=True).upper()
    entry = f"unit {code}"
    kind_text = _text(raw, "kind", path, entry, required=True)
    try:
        kind = UnitKind(kind_text)
    except ValueError as exc:
        allowed = ", ".join(k.value for k in UnitKind)
        raise SeedError(path, entry, f"unknown kind {kind_text!r} (one of {allowed})") from exc
    name = _text(raw, "name", path, entry, required=True)
    return SeedUnit(
        code=code,
        name=name,
        short_name=_text(raw, "short_name", path, entry, required=False) or name,
        kind=kind,
        aliases=_strings(raw, "aliases", path, entry),
        sectors=_strings(raw, "sectors", path, entry),
    )


def _parse_assignment(raw: Any, path: Path, index: int, known_units: set[str]) -> SeedAssignment:
    entry = f"assignments[{index}]"
    if not isinstance(raw, dict):
        raise SeedError(path, entry, "must be a mapping")
    code = _text(raw, "code", path, entry, required=True).upper()
    entry = f"assignment {code}"
    action = _text(raw, "action", path, entry, required=True)
    lead = _text(raw, "lead", path, entry, required=True).upper()
    if lead not in known_units:
        raise SeedError(path, entry, f"unknown unit {lead!r}")
    cooperating = tuple(c.upper() for c in _strings(raw, "cooperating", path, entry))
    for unit in cooperating:
        if unit not in known_units:
            raise SeedError(path, entry, f"unknown unit {unit!r}")
    deadline = raw.get("deadline") or {"kind": "none"}
    if not isinstance(deadline, dict):
        raise SeedError(path, entry, "'deadline' must be a mapping")
    kind_text = str(deadline.get("kind", "none"))
    try:
        kind = DeadlineKind(kind_text)
    except ValueError as exc:
        raise SeedError(path, entry, f"unknown deadline kind {kind_text!r}") from exc
    due: date | None = None
    if kind in DATED_KINDS:
        if deadline.get("date") is None:
            raise SeedError(path, entry, f"a '{kind.value}' deadline needs a date")
        due = _date(deadline["date"], path, entry)
        if kind in PERIOD_KINDS and due != _period_end(kind, due):
            raise SeedError(
                path, entry, f"a '{kind.value}' deadline's date must be the period's last day"
            )
    elif deadline.get("date") is not None:
        raise SeedError(path, entry, f"a '{kind.value}' deadline has no date")
    condition = _text(deadline, "condition", path, entry, required=False) or None
    if kind is DeadlineKind.CONDITIONAL and not condition:
        condition = _text(deadline, "text", path, entry, required=False) or None
    return SeedAssignment(
        code=code,
        title=_text(raw, "title", path, entry, required=False) or short_title(action),
        section=_text(raw, "section", path, entry, required=False),
        action=action,
        deliverable=_text(raw, "deliverable", path, entry, required=False),
        lead=lead,
        cooperating=cooperating,
        deadline_kind=kind,
        due_date=due,
        deadline_text=_text(deadline, "text", path, entry, required=False),
        condition=condition,
        recurrence=_text(deadline, "recurrence", path, entry, required=False) or None,
    )


def parse_seed(path: Path, registry_codes: Sequence[str] = ()) -> SeedFile:
    """Read and check a whole seed file; `registry_codes` are units already stored."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SeedError(path, "file", exc.strerror or str(exc)) from exc
    except yaml.YAMLError as exc:
        raise SeedError(path, "file", f"not valid YAML ({exc})") from exc
    if not isinstance(raw, dict):
        raise SeedError(path, "file", "must be a mapping with notice, units and assignments")

    units: list[SeedUnit] = []
    seen: set[str] = set()
    for index, item in enumerate(raw.get("units") or []):
        unit = _parse_unit(item, path, index)
        if unit.code in seen:
            raise SeedError(path, f"unit {unit.code}", "duplicate code")
        seen.add(unit.code)
        units.append(unit)

    known = seen | {code.upper() for code in registry_codes}
    assignments: list[SeedAssignment] = []
    seen_tasks: set[str] = set()
    for index, item in enumerate(raw.get("assignments") or []):
        assignment = _parse_assignment(item, path, index, known)
        if assignment.code in seen_tasks:
            raise SeedError(path, f"assignment {assignment.code}", "duplicate code")
        seen_tasks.add(assignment.code)
        assignments.append(assignment)

    notice_raw = raw.get("notice")
    if not isinstance(notice_raw, dict):
        raise SeedError(path, "notice", "missing")
    source_name = _text(notice_raw, "source", path, "notice", required=True)
    source_path = path.parent / source_name
    try:
        source_bytes = source_path.read_bytes()
    except OSError as exc:
        raise SeedError(path, "notice", f"cannot read source {source_name!r}") from exc
    issued = notice_raw.get("date")
    notice = SeedNotice(
        number=_text(notice_raw, "number", path, "notice", required=False),
        issued_on=_date(issued, path, "notice") if issued is not None else None,
        place=_text(notice_raw, "place", path, "notice", required=False),
        title=_text(notice_raw, "title", path, "notice", required=True),
        issuer=_text(notice_raw, "issuer", path, "notice", required=False),
        chaired_by=_text(notice_raw, "chaired_by", path, "notice", required=False),
        signer=_text(notice_raw, "signer", path, "notice", required=False),
        source_name=source_name,
        source_text=source_bytes.decode("utf-8"),
        source_sha256=hashlib.sha256(source_bytes).hexdigest(),
    )
    return SeedFile(path=path, notice=notice, units=tuple(units), assignments=tuple(assignments))


def _assign(row: Any, values: Mapping[str, Any]) -> dict[str, Any]:
    """Set only the fields that differ; return the old values of those that changed."""
    before: dict[str, Any] = {}
    for key, value in values.items():
        current = getattr(row, key)
        if current != value:
            before[key] = current.isoformat() if isinstance(current, date) else current
            setattr(row, key, value)
    return before


class SeedService:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self._sessionmaker = sessionmaker
        self._clock = clock

    async def load(self, path: Path | None = None, *, actor: str = "cli") -> SeedSummary:
        path = path or bundled_seed_path()
        now = self._clock.now()
        summary = SeedSummary()
        async with self._sessionmaker() as session, session.begin():
            registry = [
                u.code for u in await registry_repo.list_units(session, include_inactive=True)
            ]
            seed = parse_seed(path, registry)
            units = await self._load_units(session, seed, summary, actor)
            notice = await self._load_notice(session, seed, summary)
            await self._load_assignments(session, seed, units, notice, summary, actor)
            if summary.changed:
                audit.record(
                    session,
                    at=now,
                    actor=actor,
                    action="seed.load",
                    entity="notice",
                    entity_id=notice.id,
                    after={
                        "file": path.name,
                        "units_created": summary.units_created,
                        "units_updated": summary.units_updated,
                        "assignments_created": summary.assignments_created,
                        "assignments_updated": summary.assignments_updated,
                    },
                )
        return summary

    async def _load_units(
        self, session: AsyncSession, seed: SeedFile, summary: SeedSummary, actor: str
    ) -> dict[str, Unit]:
        now = self._clock.now()
        existing = await registry_repo.units_by_codes(session, [u.code for u in seed.units])
        for item in seed.units:
            values = {
                "name": item.name,
                "short_name": item.short_name,
                "kind": item.kind.value,
                "aliases": list(item.aliases),
                "sectors": list(item.sectors),
            }
            unit = existing.get(item.code)
            if unit is None:
                unit = Unit(code=item.code, active=True, created_at=now, updated_at=now, **values)
                session.add(unit)
                existing[item.code] = unit
                summary.units_created.append(item.code)
            elif _assign(unit, values):
                unit.updated_at = now
                summary.units_updated.append(item.code)
        await session.flush()
        referenced = {a.lead for a in seed.assignments} | {
            c for a in seed.assignments for c in a.cooperating
        }
        missing = sorted(referenced - existing.keys())
        existing.update(await registry_repo.units_by_codes(session, missing))
        return existing

    async def _load_notice(
        self, session: AsyncSession, seed: SeedFile, summary: SeedSummary
    ) -> Notice:
        item = seed.notice
        notice = await work_repo.notice_by_sha(session, item.source_sha256)
        if notice is None:
            notice = Notice(
                number=item.number,
                issued_on=item.issued_on,
                place=item.place,
                title=item.title,
                issuer=item.issuer,
                chaired_by=item.chaired_by,
                signer=item.signer,
                recipients=[],
                source_name=item.source_name,
                source_text=item.source_text,
                source_sha256=item.source_sha256,
                status=NoticeStatus.LIVE.value,
                created_at=self._clock.now(),
            )
            session.add(notice)
            await session.flush()
            summary.notice_created = True
        return notice

    async def _load_assignments(
        self,
        session: AsyncSession,
        seed: SeedFile,
        units: dict[str, Unit],
        notice: Notice,
        summary: SeedSummary,
        actor: str,
    ) -> None:
        now = self._clock.now()
        for item in seed.assignments:
            row = await work_repo.assignment_by_code(session, item.code)
            values: dict[str, Any] = {
                "notice_id": notice.id,
                "section": item.section,
                "title": item.title,
                "action": item.action,
                "deliverable": item.deliverable,
                "lead_unit_id": units[item.lead].id,
            }
            deadline = {
                "deadline_kind": item.deadline_kind.value,
                "due_date": item.due_date,
                "deadline_text": item.deadline_text,
                "deadline_condition": item.condition,
                "recurrence": item.recurrence,
            }
            cooperating = [units[code] for code in item.cooperating]
            if row is None:
                row = Assignment(
                    code=item.code,
                    status=AssignmentStatus.NOT_STARTED.value,
                    source_text="",
                    created_at=now,
                    updated_at=now,
                    **values,
                    **deadline,
                )
                row.cooperating_units = cooperating
                session.add(row)
                summary.assignments_created.append(item.code)
                continue
            # A deadline an admin has since changed (extension, date set) is theirs to keep.
            before = _assign(row, values)
            if not await self._deadline_was_changed(session, row.id):
                before |= _assign(row, deadline)
            if sorted(u.code for u in row.cooperating_units) != sorted(item.cooperating):
                before["cooperating_units"] = [u.code for u in row.cooperating_units]
                row.cooperating_units = cooperating
            if before:
                row.updated_at = now
                summary.assignments_updated.append(item.code)
                audit.record(
                    session,
                    at=now,
                    actor=actor,
                    action="assignment.seed_update",
                    entity="assignment",
                    entity_id=item.code,
                    before=before,
                )
        await session.flush()

    @staticmethod
    async def _deadline_was_changed(session: AsyncSession, assignment_id: int) -> bool:
        return bool(
            await session.scalar(
                select(exists().where(DeadlineChange.assignment_id == assignment_id))
            )
        )
