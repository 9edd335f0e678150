"""Precision and recall of the notice importer against hand-curated truth.

Runs `import_notice` over every tests/data/notices/*.expected.yaml (each names its source
file and unit registry) and over the seed notice, matches predicted assignments to
expected ones within a section, and prints, overall and per notice:

- detected: an expected assignment has a predicted counterpart (same section, same lead
  or clearly the same words);
- lead: the counterpart has the right lead unit (registry code, or the same unresolved text);
- cooperating: cooperating units, counted unit by unit;
- deadline: the counterpart has the right deadline kind and date.

Precision divides by what the importer produced, recall by what the curator expects.
`--variants` also renders each notice to .docx and .pdf (tests/data/notices/render.py)
and scores those.

    .venv/bin/python -m bench.import_accuracy [--variants] [--verbose]
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
    misses: list[str] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        for name in ("expected", "predicted", "detected", "lead", "deadline", "coop_tp",
                     "coop_fp", "coop_fn"):  # fmt: skip
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
        cases.append(
            Case(
                name=path.name.removesuffix(".expected.yaml"),
                source=NOTICES / truth["source"],
                registry=NOTICES / truth["registry"],
                expected=_expected_rows(truth["assignments"]),
            )
        )
    seed = yaml.safe_load(SEED_TRUTH.read_text(encoding="utf-8"))
    seed_rows = [
        {**a, "lead": a["lead"], "cooperating": a.get("cooperating")} for a in seed["assignments"]
    ]
    cases.append(
        Case("seed: cam-thuy-vhxh-2023", SEED_NOTICE, SEED_TRUTH, _expected_rows(seed_rows))
    )
    return cases


def _words(text: str) -> set[str]:
    return set(fold(text).replace(",", " ").replace(";", " ").split())


def score(expected: list[Row], predicted: list[Row]) -> Tally:
    """Greedy matching within a section: same lead first, then the same deadline and words."""
    tally = Tally(expected=len(expected), predicted=len(predicted))
    candidates = []
    for i, e in enumerate(expected):
        e_words = _words(e.action)
        for j, p in enumerate(predicted):
            if e.section != p.section:
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
        tally.coop_tp += len(e.cooperating & p.cooperating)
        tally.coop_fp += len(p.cooperating - e.cooperating)
        tally.coop_fn += len(e.cooperating - p.cooperating)
        if e.lead != p.lead or (e.kind, e.due) != (p.kind, p.due) or e.cooperating != p.cooperating:
            tally.misses.append(
                f"  ~ {e.section} expected {e.lead} {sorted(e.cooperating)} {e.kind} {e.due}; "
                f"got {p.lead} {sorted(p.cooperating)} {p.kind} {p.due}"
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
        f"{_ratio(t.deadline, t.predicted)} {_ratio(t.deadline, t.expected)}"
    )


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
    args = parser.parse_args(argv)

    header = (
        f"{'notice':44} {'exp':>3} {'got':>3}  {'detected P/R':>13}  {'lead P/R':>13}  "
        f"{'cooperating P/R':>13}  {'deadline P/R':>13}"
    )
    formats = ["txt", "docx", "pdf"] if args.variants else ["txt"]
    for fmt in formats:
        total = Tally()
        print(f"\n== {fmt} ==")
        print(header)
        for case in load_cases():
            if args.only not in case.name:
                continue
            units = load_unit_refs(case.registry)
            if fmt == "txt":
                result = import_notice(case.source, units=units)
            else:
                rendered = {name: (data, file) for name, data, file in _variants(case)}
                if fmt not in rendered:
                    print(f"{case.name[:44]:44} skipped: no Unicode TTF font for PDF")
                    continue
                data, file_name = rendered[fmt]
                result = import_notice(data, file_name, units)
            tally = score(case.expected, _predicted_rows(result))
            total.add(tally)
            print(_line(case.name, tally))
            if args.verbose:
                for miss in tally.misses:
                    print(miss)
        print(_line("OVERALL", total))
    return 0


if __name__ == "__main__":
    sys.exit(main())
