"""Precision and recall of the notice importer against hand-curated truth.

Runs `import_notice` over every tests/data/notices/*.expected.yaml (each names its source
file and unit registry) and over the seed notice, matches predicted assignments to
expected ones within a section, and prints, overall and per notice:

- detected: an expected assignment has a predicted counterpart (same section, same lead
  or clearly the same words);
- lead: the counterpart has the right lead unit (registry code, or the same unresolved text);
- cooperating: cooperating units, counted unit by unit;
- deadline: the counterpart has the right deadline kind and date;
- section: the counterpart is filed under the right section ("1" for "III.1" counts, as
  numbering conventions differ; a coarser "III" does not).

Sections only have to be compatible for a match (equal, one empty, or one a prefix or
suffix of the other: "III.1" ~ "1" ~ "III"), so a numbering convention does not hide an
otherwise right assignment; the section column says how often the section itself is right.
Notice metadata (number, date) is counted per notice.

Precision divides by what the importer produced, recall by what the curator expects.
Notices named `blind-*` were written and curated before the importer ever ran on them
(see their headers) and are totalled apart from the development set the importer was tuned
on. The importer was then improved while looking at them, so `blind2-*`, written and curated
after those changes and before the importer ran on them, is the fresh held-out set.
`--set dev|blind|blind2` scores one group only.
`--variants` also renders each notice to .docx and .pdf (tests/data/notices/render.py)
and scores those (development set only: the blind notices keep their own debris).

    .venv/bin/python -m bench.import_accuracy [--set dev|blind|blind2] [--variants] [--verbose]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from bot.domain.textnorm import fold
from bot.notice_import import ImportResult, import_notice, load_unit_refs

ROOT = Path(__file__).resolve().parent.parent
NOTICES = ROOT / "tests" / "data" / "notices"
SEED_NOTICE = ROOT / "seed" / "thong-bao-ket-luan-giao-ban-vhxh-6-thang-2023.txt"
SEED_TRUTH = ROOT / "seed" / "cam-thuy-vhxh-2023.yaml"


@dataclass(frozen=True)
class Row:
    """One assignment reduced to what is scored."""

    section: str
    lead: str  # registry code, or "?<folded text>" for an unresolved lead
    cooperating: frozenset[str]
    kind: str
    due: str | None
    action: str


@dataclass
class Case:
    name: str
    source: Path
    registry: Path
    expected: list[Row]
    number: str | None = None
    date: str | None = None

    @property
    def blind(self) -> bool:
        return self.name.startswith(("blind-", "blind2-"))

    @property
    def group(self) -> str:
        """dev (tuned on), blind (held out, then fixed against), blind2 (held out after)."""
        return self.name.split("-", 1)[0] if self.blind else "dev"


@dataclass
class Tally:
    expected: int = 0
    predicted: int = 0
    detected: int = 0
    lead: int = 0
    deadline: int = 0
    coop_tp: int = 0
    coop_fp: int = 0
    coop_fn: int = 0
    section: int = 0
    notices: int = 0
    meta_number: int = 0
    meta_date: int = 0
    misses: list[str] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        for name in ("expected", "predicted", "detected", "lead", "deadline", "coop_tp",
                     "coop_fp", "coop_fn", "section", "notices", "meta_number",
                     "meta_date"):  # fmt: skip
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _lead_key(code: str | None, text: str | None) -> str:
    return code if code else "?" + fold(text or "")


def _expected_rows(raw: list[dict[str, Any]]) -> list[Row]:
    rows = []
    for item in raw:
        deadline = item.get("deadline") or {}
        due = deadline.get("date")
        rows.append(
            Row(
                section=str(item.get("section", "")),
                lead=_lead_key(item.get("lead"), item.get("unresolved_lead")),
                cooperating=frozenset(item.get("cooperating") or ()),
                kind=str(deadline.get("kind", "none")),
                due=due.isoformat() if isinstance(due, date) else (str(due) if due else None),
                action=str(item.get("action", "")),
            )
        )
    return rows


def _predicted_rows(result: ImportResult) -> list[Row]:
    rows = []
    for assignment in result.assignments:
        unresolved_lead = next(
            (u.text for u in assignment.unresolved_units if u.role == "lead"), None
        )
        code = assignment.lead_units[0] if assignment.lead_units else None
        rows.append(
            Row(
                section=assignment.section,
                lead=_lead_key(code, unresolved_lead),
                cooperating=frozenset(assignment.cooperating_units),
                kind=assignment.deadline.kind.value,
                due=assignment.deadline.due.isoformat() if assignment.deadline.due else None,
                action=f"{assignment.action} {assignment.source}",
            )
        )
    return rows


def load_cases() -> list[Case]:
    cases = []
    for path in sorted(NOTICES.glob("*.expected.yaml")):
        truth = yaml.safe_load(path.read_text(encoding="utf-8"))
        meta = truth.get("notice") or {}
        cases.append(
            Case(
                name=path.name.removesuffix(".expected.yaml"),
                source=NOTICES / truth["source"],
                registry=NOTICES / truth["registry"],
                expected=_expected_rows(truth["assignments"]),
                number=meta.get("number"),
                date=_iso(meta.get("date")),
            )
        )
    seed = yaml.safe_load(SEED_TRUTH.read_text(encoding="utf-8"))
    seed_rows = [
        {**a, "lead": a["lead"], "cooperating": a.get("cooperating")} for a in seed["assignments"]
    ]
    cases.append(
        Case(
            "seed: cam-thuy-vhxh-2023",
            SEED_NOTICE,
            SEED_TRUTH,
            _expected_rows(seed_rows),
            number=seed["notice"]["number"],
            date=_iso(seed["notice"]["date"]),
        )
    )
    return cases


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, date) else str(value)


def _section_parts(section: str) -> tuple[str, ...]:
    return tuple(part for part in fold(section).replace(")", ".").split(".") if part)


def sections_compatible(expected: str, predicted: str) -> bool:
    """Equal, one unknown, or one path a prefix or suffix of the other ("III.1" ~ "1")."""
    e, p = _section_parts(expected), _section_parts(predicted)
    if not e or not p:
        return True
    short, long = (e, p) if len(e) <= len(p) else (p, e)
    return long[: len(short)] == short or long[-len(short) :] == short


def section_right(expected: str, predicted: str) -> bool:
    """The same section, allowing a path written without its parents ("1" for "III.1")."""
    e, p = _section_parts(expected), _section_parts(predicted)
    if e == p:
        return True
    if not e or not p:
        return False
    short, long = (e, p) if len(e) <= len(p) else (p, e)
    return short == p and long[-len(short) :] == short


def _words(text: str) -> set[str]:
    return set(fold(text).replace(",", " ").replace(";", " ").split())


def score(expected: list[Row], predicted: list[Row]) -> Tally:
    """Greedy matching within a section: same lead first, then the same deadline and words."""
    tally = Tally(expected=len(expected), predicted=len(predicted))
    candidates = []
    for i, e in enumerate(expected):
        e_words = _words(e.action)
        for j, p in enumerate(predicted):
            if not sections_compatible(e.section, p.section):
                continue
            overlap = len(e_words & _words(p.action)) / max(1, len(e_words))
            same_lead = e.lead == p.lead
            if not same_lead and overlap < 0.5:
                continue
            same_deadline = (e.kind, e.due) == (p.kind, p.due)
            candidates.append((3 * same_lead + 2 * same_deadline + overlap, i, j))
    used_e: set[int] = set()
    used_p: set[int] = set()
    for _, i, j in sorted(candidates, reverse=True):
        if i in used_e or j in used_p:
            continue
        used_e.add(i)
        used_p.add(j)
        e, p = expected[i], predicted[j]
        tally.detected += 1
        tally.lead += e.lead == p.lead
        tally.deadline += (e.kind, e.due) == (p.kind, p.due)
        tally.section += section_right(e.section, p.section)
        tally.coop_tp += len(e.cooperating & p.cooperating)
        tally.coop_fp += len(p.cooperating - e.cooperating)
        tally.coop_fn += len(e.cooperating - p.cooperating)
        if (
            e.lead != p.lead
            or (e.kind, e.due) != (p.kind, p.due)
            or e.cooperating != p.cooperating
            or not section_right(e.section, p.section)
        ):
            tally.misses.append(
                f"  ~ {e.section} expected {e.lead} {sorted(e.cooperating)} {e.kind} {e.due}; "
                f"got [{p.section}] {p.lead} {sorted(p.cooperating)} {p.kind} {p.due}"
            )
    for i, e in enumerate(expected):
        if i not in used_e:
            tally.coop_fn += len(e.cooperating)
            tally.misses.append(
                f"  - {e.section} missed {e.lead} {e.kind} {e.due}: {e.action[:60]}"
            )
    for j, p in enumerate(predicted):
        if j not in used_p:
            tally.coop_fp += len(p.cooperating)
            tally.misses.append(
                f"  + {p.section} invented {p.lead} {p.kind} {p.due}: {p.action[:60]}"
            )
    return tally


def _ratio(numerator: int, denominator: int) -> str:
    return f"{numerator / denominator:6.1%}" if denominator else "   n/a"


def _line(name: str, t: Tally) -> str:
    return (
        f"{name[:44]:44} {t.expected:3} {t.predicted:3}  "
        f"{_ratio(t.detected, t.predicted)} {_ratio(t.detected, t.expected)}  "
        f"{_ratio(t.lead, t.predicted)} {_ratio(t.lead, t.expected)}  "
        f"{_ratio(t.coop_tp, t.coop_tp + t.coop_fp)} {_ratio(t.coop_tp, t.coop_tp + t.coop_fn)}  "
        f"{_ratio(t.deadline, t.predicted)} {_ratio(t.deadline, t.expected)}  "
        f"{_ratio(t.section, t.predicted)} {_ratio(t.section, t.expected)}  "
        f"{t.meta_number}/{t.notices} {t.meta_date}/{t.notices}"
    )


def _score_case(case: Case, result: ImportResult | None, error: str | None) -> Tally:
    if result is None:
        tally = score(case.expected, [])
        tally.misses.insert(0, f"  ! import failed: {error}")
    else:
        tally = score(case.expected, _predicted_rows(result))
        number = result.notice.number
        tally.meta_number = int(fold(number or "").replace(" ", "") == fold(case.number or ""))
        due = result.notice.date.isoformat() if result.notice.date else None
        tally.meta_date = int(due == case.date)
    tally.notices = 1
    return tally


def _variants(case: Case) -> list[tuple[str, bytes, str]]:
    import importlib.util

    from bot.notice_import.encodings import decode_bytes

    spec = importlib.util.spec_from_file_location("notice_render", NOTICES / "render.py")
    assert spec is not None
    assert spec.loader is not None
    render = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(render)
    text = decode_bytes(case.source.read_bytes()).text
    out = [("docx", render.build_docx(text), "notice.docx")]
    if render.pdf_font_available():
        out.append(("pdf", render.build_pdf(text), "notice.pdf"))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--variants", action="store_true", help="also score .docx and .pdf renderings"
    )
    parser.add_argument("--verbose", action="store_true", help="list every miss")
    parser.add_argument("--only", default="", help="score only notices whose name contains this")
    parser.add_argument(
        "--set", choices=("all", "dev", "blind", "blind2"), default="all", dest="which",
        help="dev: the development notices and the seed; blind, blind2: a held-out set",
    )  # fmt: skip
    args = parser.parse_args(argv)

    header = (
        f"{'notice':44} {'exp':>3} {'got':>3}  {'detected P/R':>13}  {'lead P/R':>13}  "
        f"{'cooperating P/R':>13}  {'deadline P/R':>13}  {'section P/R':>13}  number date"
    )
    formats = ["txt", "docx", "pdf"] if args.variants else ["txt"]
    cases = [
        case
        for case in load_cases()
        if args.only in case.name and args.which in ("all", case.group)
    ]
    for fmt in formats:
        totals = {"dev": Tally(), "blind": Tally(), "blind2": Tally()}
        print(f"\n== {fmt} ==")
        print(header)
        for case in cases:
            units = load_unit_refs(case.registry)
            result: ImportResult | None = None
            error: str | None = None
            try:
                if fmt == "txt":
                    result = import_notice(case.source, units=units)
                elif case.blind:
                    continue
                else:
                    rendered = {name: (data, file) for name, data, file in _variants(case)}
                    if fmt not in rendered:
                        print(f"{case.name[:44]:44} skipped: no Unicode TTF font for PDF")
                        continue
                    data, file_name = rendered[fmt]
                    result = import_notice(data, file_name, units)
            except Exception as exc:  # a crash is scored as nothing found, and shown
                error = f"{type(exc).__name__}: {exc}"
            tally = _score_case(case, result, error)
            totals[case.group].add(tally)
            print(_line(case.name, tally))
            if args.verbose:
                for miss in tally.misses:
                    print(miss)
        overall = Tally()
        for name, tally in totals.items():
            if tally.notices:
                print(_line(f"TOTAL {name}", tally))
                overall.add(tally)
        print(_line("OVERALL", overall))
    return 0


if __name__ == "__main__":
    sys.exit(main())
