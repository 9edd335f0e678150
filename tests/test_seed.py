"""The curated seed: faithful to the notice, idempotent, and strict about bad files."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from bot.app import AppContext
from bot.services.seed import SeedError, bundled_seed_path, parse_seed
from storage.models import Assignment, AuditEntry, Notice, Unit

NOTICE = (
    Path(__file__).resolve().parents[1]
    / "seed"
    / "thong-bao-ket-luan-giao-ban-vhxh-6-thang-2023.txt"
)

# Every dated assignment of the notice: (lead unit, cooperating units, kind, due date).
DATED = {
    "VHXH23-04": ("GDDT", [], "date", date(2023, 6, 30)),
    "VHXH23-05": ("GDDT", [], "date", date(2023, 7, 30)),
    "VHXH23-07": ("TTYT", ["VP"], "date", date(2023, 7, 15)),
    "VHXH23-13": ("NHCSXH", [], "date", date(2023, 7, 15)),
    "VHXH23-18": ("VP", ["TTYT", "VNPT"], "date", date(2023, 7, 15)),
    "VHXH23-14": ("VHTT", [], "month", date(2023, 9, 30)),
}


def test_seed_bundled_file_is_the_shipped_one(seed_path: Path) -> None:
    assert bundled_seed_path() == seed_path.resolve()


def test_seed_pins_every_dated_assignment(seed_path: Path) -> None:
    seed = parse_seed(seed_path)
    by_code = {a.code: a for a in seed.assignments}
    for code, (lead, cooperating, kind, due) in DATED.items():
        item = by_code[code]
        assert (item.lead, list(item.cooperating), item.deadline_kind.value, item.due_date) == (
            lead,
            cooperating,
            kind,
            due,
        ), code
    dated = {a.code for a in seed.assignments if a.due_date is not None}
    assert dated == set(DATED)


def test_seed_deadlines_are_those_the_notice_writes(seed_path: Path) -> None:
    text = NOTICE.read_text(encoding="utf-8")
    seed = parse_seed(seed_path)
    kinds = sorted(a.deadline_kind.value for a in seed.assignments)
    assert kinds.count("date") == 5  # 30/6, 30/7 and 15/7 three times
    assert sorted(a.due_date for a in seed.assignments if a.deadline_kind.value == "date") == [
        date(2023, 6, 30),
        date(2023, 7, 15),
        date(2023, 7, 15),
        date(2023, 7, 15),
        date(2023, 7, 30),
    ]
    assert text.count("trước ngày 15/7/2023") == 3
    conditional = [a for a in seed.assignments if a.deadline_kind.value == "conditional"]
    assert [a.deadline_text for a in conditional] == ["ngay sau khi UBND tỉnh ban hành kế hoạch"]
    assert {a.deadline_text for a in seed.assignments if a.deadline_kind.value == "recurring"} == {
        "thường xuyên"
    }
    # Every deadline phrase is quoted from the notice itself.
    for item in seed.assignments:
        assert item.deadline_text in text, item.code


def test_seed_units_cover_the_short_forms_the_notice_uses(seed_path: Path) -> None:
    seed = parse_seed(seed_path)
    gddt = next(u for u in seed.units if u.code == "GDDT")
    assert gddt.short_name == "Phòng GD&ĐT"
    assert "phòng Giáo dục và đào tạo" in gddt.aliases
    attending = [
        "GDDT",
        "LDTBXH",
        "VHTT",
        "NV",
        "DT",
        "TTVHTTTTDL",
        "TTYT",
        "BVDK",
        "BHXH",
        "VIETTEL",
        "TTGDNN",
        "THPT1",
        "THPT2",
        "THPT3",
        "VP",
    ]
    assert set(attending) <= {u.code for u in seed.units}


async def _counts(ctx: AppContext) -> tuple[int, int, int, int]:
    async with ctx.sessionmaker() as session:
        return (
            await session.scalar(select(func.count()).select_from(Unit)) or 0,
            await session.scalar(select(func.count()).select_from(Assignment)) or 0,
            await session.scalar(select(func.count()).select_from(Notice)) or 0,
            await session.scalar(select(func.count()).select_from(AuditEntry)) or 0,
        )


async def test_seed_load_stores_the_notice(ctx: AppContext) -> None:
    summary = await ctx.seed.load()
    assert summary.notice_created
    assert len(summary.assignments_created) == 20
    tasks = {t.code: t for t in await ctx.tasks.list_tasks()}
    for code, (lead, cooperating, kind, due) in DATED.items():
        task = tasks[code]
        assert task.lead_unit.code == lead
        assert [u.code for u in task.cooperating_units] == sorted(cooperating)
        assert (task.deadline_kind, task.due_date) == (kind, due)
    assert tasks["VHXH23-06"].deadline_condition


async def test_seed_load_twice_changes_nothing(ctx: AppContext) -> None:
    await ctx.seed.load()
    before = await _counts(ctx)
    summary = await ctx.seed.load()
    assert not summary.changed
    assert await _counts(ctx) == before


async def test_seed_load_updates_a_corrected_entry(
    ctx: AppContext, tmp_path: Path, seed_path: Path
) -> None:
    await ctx.seed.load()
    data = yaml.safe_load(seed_path.read_text(encoding="utf-8"))
    data["assignments"][0]["title"] = "Thẩm định đề xuất thiết bị (sửa)"
    fixed = _write(tmp_path, data)
    summary = await ctx.seed.load(fixed)
    assert summary.assignments_updated == ["VHXH23-01"]
    assert (await ctx.tasks.get_task("VHXH23-01")).title == "Thẩm định đề xuất thiết bị (sửa)"


def _write(tmp_path: Path, data: dict[str, object]) -> Path:
    path = tmp_path / "seed.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    (tmp_path / "thong-bao-ket-luan-giao-ban-vhxh-6-thang-2023.txt").write_bytes(
        NOTICE.read_bytes()
    )
    return path


def _broken(seed_path: Path, how: str) -> dict[str, object]:
    data = yaml.safe_load(seed_path.read_text(encoding="utf-8"))
    assignments = data["assignments"]
    if how == "unknown unit":
        assignments[3]["lead"] = "PHONG-MA"
    elif how == "duplicate code":
        assignments[5]["code"] = assignments[4]["code"]
    elif how == "impossible date":
        assignments[3]["deadline"]["date"] = "2023-06-31"
    elif how == "duplicate unit":
        data["units"].append(dict(data["units"][0]))
    return data


@pytest.mark.parametrize(
    ("how", "entry", "reason"),
    [
        ("unknown unit", "assignment VHXH23-04", "unknown unit 'PHONG-MA'"),
        ("duplicate code", "assignment VHXH23-05", "duplicate code"),
        ("impossible date", "assignment VHXH23-04", "impossible date '2023-06-31'"),
        ("duplicate unit", "unit VP", "duplicate code"),
    ],
)
async def test_seed_bad_file_is_refused_and_writes_nothing(
    ctx: AppContext, tmp_path: Path, seed_path: Path, how: str, entry: str, reason: str
) -> None:
    path = _write(tmp_path, _broken(seed_path, how))
    before = await _counts(ctx)
    with pytest.raises(SeedError) as error:
        await ctx.seed.load(path)
    assert error.value.path == path
    assert error.value.entry == entry
    assert error.value.reason == reason
    assert str(path) in str(error.value)
    assert await _counts(ctx) == before == (0, 0, 0, 0)
