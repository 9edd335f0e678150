"""Finding the assignments in a notice's conclusions.

A sentence hands out work when it names who does it: after "Giao", "Yêu cầu", "Đề nghị"
("Giao Phòng A chủ trì, phối hợp với Phòng B tham mưu ..."), as its subject ("Phòng A chủ
trì, phối hợp với B ...", "Phòng A có trách nhiệm ...", "Phòng A: ..."), through a heading
it sits under ("a) Phòng Kinh tế:" then bullets; "1. Đối với UBND xã Song Lãng"), or
through a lead-in paragraph before it ("Đề nghị UBND huyện Bình Sơn tập trung thực hiện tốt
các nội dung sau:" then 1., 2., 3.). Rules that keep false
assignments out, as the curators of the seed notice applied them:
- the issuing committee and those above it receive nothing ("UBND huyện tiếp thu ...");
- "các cơ quan, đơn vị", "các phòng, ngành trong khối" name nobody: an exhortation;
- "các đơn vị có liên quan" next to a named lead cooperates, it does not lead;
- units after "chỉ đạo", "hướng dẫn", "đề nghị" inside the action are targets, not
  cooperating units; only "phối hợp (với)", "cùng (với)" and "X phối hợp" make cooperation;
- a task without a unit goes to the unit whose sectors its heading names ("Về y tế" →
  Trung tâm Y tế) only when it carries a real deadline; and a task that restates an
  earlier one (same unit, same deadline, similar words) is not a second assignment.
Sentences after an assignment in the same paragraph that name no unit ("Yêu cầu hoàn thành
dự thảo trước ngày 30/6/2023") continue it: its deadline and deliverable may live there;
but one assignment holds one deadline, so a clause with a deadline of its own after a task
that has another ("...; hướng dẫn các địa phương ..., báo cáo trước 15/12"), or a dated
clause of the same sentence after an undated task ("chịu trách nhiệm ...; kiện toàn ...,
xong trước 30/11"), is the same units' next task.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from bot.domain.deadlines import (
    NO_DEADLINE,
    Deadline,
    DeadlineMatch,
    find_deadline,
    fold_keep_length,
    parse_deadline,
)
from bot.domain.enums import DeadlineKind
from bot.domain.textnorm import fold
from bot.notice_import.model import Assignment, Table, UnresolvedUnit
from bot.notice_import.structure import Item
from bot.notice_import.tables import task_columns
from bot.notice_import.units import Category, Mention, Target, UnitResolver, canonical_words

__all__ = ["extract_assignments"]

_CONCRETE = frozenset(
    {
        DeadlineKind.DATE,
        DeadlineKind.MONTH,
        DeadlineKind.QUARTER,
        DeadlineKind.YEAR,
        DeadlineKind.CONDITIONAL,
    }
)
_TRIGGER = re.compile(
    r"(?<!\w)(?P<t>giao(?:\s+nhiem\s+vu)?(?:\s+cho)?|yeu\s+cau|de\s+nghi)\s+(?=\S)"
)
_NOT_BEFORE_TRIGGER = frozenset({"duoc", "da", "ban", "tu", "theo", "cua", "viec", "nhung", "cac"})
# "giao ban" (a briefing), "giao thông", "giao dịch", ... are not "giao" (assign); checked on
# the original text so "Giao Ban Quản lý dự án" still assigns.
_NOT_AFTER_GIAO = ("ban ", "thông", "dịch", "lưu", "nhận ", "khoán", "đất ", "kết", "ca ")
_ADVERBIAL = re.compile(
    r"^(?:truoc\s+mat|dong\s+thoi|ngoai\s+ra|ben\s+canh\s+do|sau\s+do|mat\s+khac|tiep\s+theo"
    r"|cu\s+the)\s*[,:]\s*"
)
# "phối hợp với X", "phối hợp chặt chẽ với X", and as often "phối hợp X": a unit must follow.
_COOP_WITH = re.compile(
    r"\s*[,:]?\s*(?:va\s+)?(?:dong\s+thoi\s+)?(?:(?:co|chiu)\s+trach\s+nhiem\s+)?"
    r"phoi\s+hop\s+(?:chat\s+che\s+)?(?:(?:voi|cung)\s+)?(?=\S)"
)
_SUBJECT_TOPIC = re.compile(r"^(?:doi\s+voi|ve\s+phia|rieng|rieng\s+doi\s+voi)\s+")
_COOP_ALONG = re.compile(
    r"\s*,?\s*(?:cung\s+voi|cung|voi\s+su\s+phoi\s+hop\s+cua|co\s+su\s+phoi\s+hop\s+cua)\s+"
)
_COOP_AFTER = re.compile(r"\s*phoi\s+hop(?:\s+thuc\s+hien)?(?!\s+(?:voi|cung))")
_LEAD_ROLE = re.compile(r"\s*[,:]?\s*(?:la\s+(?:co\s+quan|don\s+vi)\s+)?chu\s+tri\b")
# "X là cơ quan thường trực, chủ trì ...": the standing role adds nothing to the task.
_STANDING_ROLE = re.compile(
    r"\s*[,:]?\s*(?:la|lam)\s+(?:co\s+quan|don\s+vi)\s+(?:thuong\s+truc|dau\s+moi)"
    r"(?:\s+[^,;:]{0,60})?\s*,?"
)
_FILLER = re.compile(
    r"\s*,?\s*(?:theo\s+(?:dung\s+)?chuc\s+nang,?\s+nhiem\s+vu(?:\s+duoc\s+giao)?"
    r"|thuc\s+hien)\s*,\s*"
)
_HEADING_PREFIX = re.compile(
    r"^(?:giao(?:\s+nhiem\s+vu)?(?:\s+cho)?|yeu\s+cau|de\s+nghi|doi\s+voi|ve\s+phia"
    r"|nhiem\s+vu\s+(?:cua|giao\s+cho))\s+"
)
_HEADING_TAIL = re.compile(
    r"^\s*(?:(?:thuc\s+hien|trien\s+khai|tap\s+trung(?:\s+thuc\s+hien)?)(?:\s+tot)?\s+)?"
    r"(?:(?:cac|mot\s+so|nhung)\s+)?(?:noi\s+dung|nhiem\s+vu|cong\s+viec|viec)?"
    r"(?:\s+(?:cu\s+the|trong\s+tam|chu\s+yeu))?(?:\s+(?:sau|nhu\s+sau|sau\s+day))?\s*:?\s*$"
)
_RECIPIENT = (
    r"\s+(?:(?:pho\s+)?chu\s+tich|ubnd|uy\s+ban|ban\s+thuong\s+vu|thuong\s+truc|giam\s+doc"
    r"|hoi\s+dong|so\b|bo\b)"
)
# What the work produces, most telling first: "trình ... ký ban hành", "báo cáo UBND huyện",
# then "tham mưu cho Chủ tịch UBND huyện xem xét, quyết định".
_DELIVERABLES = (
    re.compile(r"(?<!\w)trinh" + _RECIPIENT),
    re.compile(r"(?<!\w)bao\s+cao(?:\s+ket\s+qua)?(?:\s+ve)?" + _RECIPIENT),
    re.compile(r"(?<!\w)tham\s+muu\s+cho" + _RECIPIENT),
)
_DELIVERABLE_STOP = re.compile(r"[;.]|,\s*(?:trong\s+do|dong\s+thoi|de\s|nham\s|dam\s+bao)")
# Clauses that finish the task in hand rather than start another one.
_COMPLETES = re.compile(
    r"\s*(?:(?:va|dong\s+thoi|sau\s+do)\s*,?\s*)?(?:bao\s+cao|trinh|hoan\s+thanh|xong|tong\s+hop"
    r"|thoi\s+(?:gian|han)|gui|nop|ket\s+qua|thuc\s+hien|thuong\s+xuyen|dinh\s+ky|hang\s|truoc"
    r"|phan\s+dau|de\s+xuat"
    r"|cham\s+nhat|trong\s+(?:thang|quy|nam|ngay)|tren\s+co\s+so)"
)
_MASKED_WORDS = ("thuong xuyen", "hang", "dinh ky", "trong", "truoc")


@dataclass
class _Group:
    """One assignment clause and what continues it; shared by its leads."""

    texts: list[str]
    sources: list[str]
    action: str
    action_offset: int  # where the action starts inside texts[0]


@dataclass
class _Draft:
    order: int
    section: str
    lead: Target
    cooperating: list[Target]
    group: _Group
    implicit: bool = False
    fixed_deadline: Deadline | None = None
    inherited_deadline: Deadline | None = None


@dataclass
class _Parsed:
    leads: list[Mention]
    cooperating: list[Mention]
    start: int
    action_pos: int


@dataclass
class _Context:
    leads: list[Mention]
    cooperating: list[Mention]
    deadline: Deadline | None


_REJECT = object()


@dataclass
class _Extractor:
    resolver: UnitResolver
    reference: date
    drafts: list[_Draft] = field(default_factory=list)
    contexts: dict[int, _Context] = field(default_factory=dict)
    # Lead-in paragraphs ("Đề nghị UBND huyện X tập trung thực hiện các nội dung sau:") by
    # the index of their parent in the outline (-1 at the top): they give their unit to
    # the numbered items that follow them as siblings, not as children.
    leadins: dict[int, list[tuple[int, _Context]]] = field(default_factory=dict)

    # -- entry ---------------------------------------------------------------------------

    def run(self, items: Sequence[Item], tables: dict[int, Table]) -> list[Assignment]:
        for item in items:
            if item.index in tables:
                self._table(item, tables[item.index])
                continue
            if fold(item.text).startswith(("tren day la", "noi nhan")):
                continue
            context = self._heading_context(item)
            if context is not None:
                if item.kind == "plain":
                    parent = item.parent.index if item.parent is not None else -1
                    self.leadins.setdefault(parent, []).append((item.index, context))
                else:
                    self.contexts[item.index] = context
                continue
            if item.emphasis and not fold(item.text).startswith(("giao ",)):
                continue
            self._paragraph(item)
        return self._finish()

    # -- paragraphs ----------------------------------------------------------------------

    def _inherited(self, item: Item) -> _Context | None:
        """The unit a heading or a lead-in gives this item, nearest in the outline first."""
        node: Item | None = item
        while node is not None:
            if node is not item and node.index in self.contexts:
                return self.contexts[node.index]
            parent = node.parent.index if node.parent is not None else -1
            before = [c for index, c in self.leadins.get(parent, []) if index < node.index]
            if before:
                return before[-1]
            node = node.parent
        return None

    def _paragraph(self, item: Item) -> None:
        context = self._inherited(item)
        group_drafts: list[_Draft] = []
        made_any = False
        for s_index, sentence in enumerate(_sentences(item.text)):
            sentence_orphan = True
            for c_index, clause in enumerate(_clauses(sentence)):
                allow_context = (
                    context is not None and not made_any and s_index == 0 and c_index == 0
                )
                parsed = self._parse_clause(clause, context if allow_context else None)
                if parsed is _REJECT:
                    group_drafts = []
                    sentence_orphan = False
                    continue
                if parsed is None:
                    if group_drafts:
                        group_drafts = self._continue(item, group_drafts, clause, sentence)
                        sentence_orphan = False
                    continue
                assert isinstance(parsed, _Parsed)
                group_drafts = self._drafts(
                    item, clause, sentence, parsed, context if allow_context else None
                )
                made_any = made_any or bool(group_drafts)
                sentence_orphan = False
            if sentence_orphan and not made_any and context is None:
                self._sector_task(item, sentence)

    def _continue(
        self, item: Item, drafts: list[_Draft], clause: str, sentence: str
    ) -> list[_Draft]:
        """A clause naming no unit: more of the same task, or the same units' next task.

        "...; báo cáo kết quả trước ngày 15/7" completes the task; "...; hướng dẫn các địa
        phương ..., báo cáo trước 15/12" after a task that already has its own deadline is
        a second task of the same units (one assignment per unit and action).
        """
        group = drafts[0].group
        folded = fold_keep_length(clause)
        own = self._deadline(clause)
        so_far = self._deadline(" ".join(group.texts))
        # One assignment holds one deadline: a clause that brings a deadline different from
        # the task's so far is the next task - unless it only finishes or extends this one
        # ("...; báo cáo kết quả trước ngày 15/7", "...; phối hợp với ...", "...; phấn đấu
        # ..."). After an undated task only a due date or period of the same sentence
        # starts another ("chịu trách nhiệm ...; kiện toàn ..., xong trước 30/11"); a
        # recurring or conditional clause says how the same task is carried on, and
        # "Yêu cầu hoàn thành trước ..." in a sentence of its own is its deadline.
        starts_own_task = (
            own is not None
            and own.start > 0
            and _COMPLETES.match(folded) is None
            and _COOP_WITH.match(folded) is None
            and (
                (
                    so_far is not None
                    and (own.deadline.kind, own.deadline.due)
                    != (so_far.deadline.kind, so_far.deadline.due)
                )
                or (
                    so_far is None
                    and own.deadline.due is not None
                    and own.deadline.kind is not DeadlineKind.CONDITIONAL
                    and sentence in group.sources
                )
            )
        )
        if starts_own_task:
            new_group = _Group([clause], [sentence], "", 0)
            fresh = []
            for draft in drafts:
                fresh.append(_Draft(len(self.drafts), item.section, draft.lead, [], new_group))
                self.drafts.append(fresh[-1])
            return fresh
        coop = _COOP_WITH.match(folded)
        if coop and coop.start() == 0:
            found, _ = self.resolver.parse_list(clause, coop.end(), role="cooperating")
            extra = [t for m in found if m.category is not Category.AUTHORITY for t in m.targets]
            for draft in drafts:
                draft.cooperating = _unique(
                    [*draft.cooperating, *(t for t in extra if t.code != draft.lead.code)]
                )
        group.texts.append(clause)
        if sentence not in group.sources:
            group.sources.append(sentence)
        return drafts

    def _parse_clause(self, clause: str, context: _Context | None) -> _Parsed | object | None:
        folded = fold_keep_length(clause)
        for match in _TRIGGER.finditer(folded):
            before = folded[: match.start()].split()
            if before and before[-1] in _NOT_BEFORE_TRIGGER:
                continue
            after = folded[match.end() :]
            if match.group("t").startswith("giao"):
                if clause[match.start() : match.start() + 4].lower() != "giao":
                    continue  # "giáo dục", not "giao"
                if clause[match.end() :].startswith(_NOT_AFTER_GIAO):
                    continue
            if after.startswith("cua "):
                continue
            mentions, end = self.resolver.parse_list(clause, match.end(), role="lead")
            if mentions:
                return self._build(clause, mentions, end, match.start(), via="trigger")
        for position in self._subject_positions(clause, folded):
            mentions, end = self.resolver.parse_list(clause, position, role="lead")
            if not mentions:
                continue
            if self.resolver.subject_follows(clause, end) and not _reports(folded[end:]):
                return self._build(clause, mentions, end, position, via="subject")
            if position == 0 or any(m.category is not Category.AUTHORITY for m in mentions):
                return _REJECT
        if context is not None:
            start = 0
            adverbial = _ADVERBIAL.match(folded)
            if adverbial:
                start = adverbial.end()
            cooperating, action_pos = self._roles(clause, folded, start)
            if not clause[action_pos:].strip(" .;:,"):
                return None  # nothing to do in it: not a task of its own
            return _Parsed(list(context.leads), [*context.cooperating, *cooperating], 0, action_pos)
        return None

    def _subject_positions(self, clause: str, folded: str) -> list[int]:
        positions = [0]
        adverbial = _ADVERBIAL.match(folded)
        if adverbial:
            positions = [adverbial.end()]
        topic = _SUBJECT_TOPIC.match(folded)
        if topic:
            positions.insert(0, topic.end())
        colon = folded.find(": ")
        # "Về đề nghị hỗ trợ kinh phí sửa chữa các tuyến đường ... năm 2022: Sở Giao thông
        # vận tải chủ trì ...": a topic can run long before the unit that answers it.
        limit = 250 if re.match(r"(?:ve|doi\s+voi)\s", folded) else 80
        if 0 < colon < limit:
            positions.append(colon + 2)
        comma = folded.find(", ")
        if 0 < comma < 120 and not self.resolver.find_all(clause[:comma]):
            positions.append(comma + 2)
        return positions

    def _build(
        self, clause: str, mentions: list[Mention], end: int, start: int, *, via: str
    ) -> _Parsed | object:
        folded = fold_keep_length(clause)
        leads = [m for m in mentions if m.category is not Category.AUTHORITY]
        if not leads:
            return _REJECT
        cooperating, action_pos = self._roles(clause, folded, end)
        deadline = self._deadline(clause[start:])
        concrete = deadline is not None and deadline.deadline.kind in _CONCRETE
        named = [m for m in leads if m.category is Category.UNIT]
        related = [m for m in leads if m.category is Category.RELATED]
        vague = [m for m in leads if m.category is Category.VAGUE]
        if vague and not (named and concrete):
            return _REJECT
        if named:
            cooperating = [*related, *cooperating]
            leads = named
        elif related and concrete:
            leads = related
        else:
            return _REJECT
        # "Phòng Tài chính - Kế hoạch báo cáo tình hình thu ngân sách" tells what was said at
        # the meeting; a report with a due date or a cycle ("báo cáo ... trước ngày 28 hằng
        # tháng") is a duty.
        if (
            via == "subject"
            and folded[action_pos:].lstrip(" ,:").startswith("bao cao")
            and not concrete
            and (deadline is None or deadline.deadline.kind is not DeadlineKind.RECURRING)
        ):
            return _REJECT
        return _Parsed(leads, cooperating, start, action_pos)

    def _roles(self, clause: str, folded: str, pos: int) -> tuple[list[Mention], int]:
        """Cooperating units around "chủ trì" / "phối hợp với"; returns where the action starts."""
        cooperating: list[Mention] = []
        paren = re.match(r"\s*\([^()]{0,120}\)", clause[pos:])
        if paren:
            pos += paren.end()
        standing = _STANDING_ROLE.match(folded, pos)
        if standing:
            pos = standing.end()
        lead_role = _LEAD_ROLE.match(folded, pos)
        if lead_role:
            pos = lead_role.end()
            if folded.startswith(" thuc hien", pos) and not folded.startswith(
                " thuc hien tot", pos
            ):
                pos += len(" thuc hien")
        for pattern in (_COOP_WITH, _COOP_ALONG):
            match = pattern.match(folded, pos)
            if match:
                found, end = self.resolver.parse_list(clause, match.end(), role="cooperating")
                if found:
                    cooperating.extend(found)
                    pos = end
                    break
        else:
            comma = re.match(r"\s*,\s*", folded[pos:])
            if comma and lead_role:
                found, end = self.resolver.parse_list(clause, pos + comma.end(), role="cooperating")
                after = _COOP_AFTER.match(folded, end) if found else None
                if found and after:
                    cooperating.extend(found)
                    pos = after.end()
        filler = _FILLER.match(folded, pos)
        while filler:
            pos = filler.end()
            filler = _FILLER.match(folded, pos)
        while pos < len(clause) and clause[pos] in " ,:;-–":
            pos += 1
        return [m for m in cooperating if m.category is not Category.AUTHORITY], pos

    def _drafts(
        self,
        item: Item,
        clause: str,
        sentence: str,
        parsed: _Parsed,
        context: _Context | None,
    ) -> list[_Draft]:
        text = clause[parsed.start :]
        group = _Group([text], [sentence], "", parsed.action_pos - parsed.start)
        cooperating = [t for m in parsed.cooperating for t in m.targets]
        drafts = []
        for target in (t for m in parsed.leads for t in m.targets):
            others = [c for c in cooperating if c.code is None or c.code != target.code]
            drafts.append(
                _Draft(
                    len(self.drafts),
                    item.section,
                    target,
                    _unique(others),
                    group,
                    inherited_deadline=context.deadline if context else None,
                )
            )
            self.drafts.append(drafts[-1])
        return drafts

    def _sector_task(self, item: Item, sentence: str) -> None:
        """A task with no unit but a real deadline, under a heading that names a sector."""
        found = self._deadline(sentence)
        if found is None or found.deadline.kind not in _CONCRETE or found.start == 0:
            return
        due = found.deadline.due
        if due is not None and due < self.reference:
            return  # a report of the past, not a task
        for ancestor in item.ancestors()[:3]:
            code = self.resolver.sector_unit(ancestor.text, sentence)
            if code is not None:
                group = _Group([sentence], [sentence], "", 0)
                self.drafts.append(
                    _Draft(
                        len(self.drafts), item.section, Target(code, ""), [], group, implicit=True
                    )
                )
                return

    def _heading_context(self, item: Item) -> _Context | None:
        """The unit a heading hands its items to.

        "a) Phòng Kinh tế (...):", "Giao Sở Tài nguyên và Môi trường:", a lead-in ending a
        longer paragraph ("..., yêu cầu UBND xã:", "Đề nghị UBND huyện Bình Sơn tập trung
        thực hiện tốt các nội dung sau:") and a heading that only names a unit ("1. Đối
        với UBND xã Song Lãng").
        """
        text = item.text.strip()
        folded = fold_keep_length(text)
        prefix = _HEADING_PREFIX.match(folded)
        if not text.endswith(":"):
            topic = prefix is not None and not prefix.group(0).startswith(("giao", "yeu", "de"))
            if not topic or (not item.emphasis and item.kind == "plain"):
                return None
        starts = [prefix.end() if prefix else 0]
        if text.endswith(":"):
            last_sentence = max(text.rfind(". "), text.rfind("; "), 0)
            starts += [
                m.end()
                for m in _TRIGGER.finditer(folded)
                if m.start() >= last_sentence and m.end() > starts[0]
            ]
        for start in reversed(starts):
            context = self._context_at(item, text, folded, start)
            if context is not None:
                return context
        return None

    def _context_at(self, item: Item, text: str, folded: str, start: int) -> _Context | None:
        mentions, end = self.resolver.parse_list(text, start, role="lead")
        leads = [m for m in mentions if m.category is not Category.AUTHORITY]
        if not leads or any(m.category is Category.VAGUE for m in leads):
            return None
        cooperating, action_pos = self._roles(text, folded, end)
        rest = text[action_pos:]
        deadline = self._deadline(rest)
        if deadline is not None:
            rest = rest[: deadline.start] + rest[deadline.end :]
        if not _HEADING_TAIL.match(fold_keep_length(rest).strip(" ,")):
            return None
        named = [m for m in leads if m.category is Category.UNIT] or leads
        named = self._anaphora(named, self._inherited(item))
        return _Context(named, cooperating, deadline.deadline if deadline else None)

    def _anaphora(self, mentions: list[Mention], outer: _Context | None) -> list[Mention]:
        """ "UBND xã" under "Đối với UBND xã Song Lãng" is that commune, not an unknown unit.

        Only an unresolved mention whose words begin the name of the one unit the enclosing
        heading names is taken for it: a reference back, never a guess in the registry.
        """
        if outer is None:
            return mentions
        outer_targets = [t for m in outer.leads for t in m.targets if t.code is not None]
        if len(outer_targets) != 1:
            return mentions
        target = outer_targets[0]
        unit = self.resolver.units.get(target.code or "")
        if unit is None:
            return mentions
        out = []
        for mention in mentions:
            unresolved = [t for t in mention.targets if t.code is None]
            if len(mention.targets) == 1 and unresolved:
                words = canonical_words(unresolved[0].text)
                names = [canonical_words(f) for f in (unit.name, unit.short_name, *unit.aliases)]
                if words and any(name[: len(words)] == words for name in names if name):
                    mention = Mention(
                        mention.start, mention.end, mention.text, Category.UNIT, (target,)
                    )
            out.append(mention)
        return out

    # -- tables --------------------------------------------------------------------------

    def _table(self, item: Item, table: Table) -> None:
        columns = task_columns(table.rows)
        if columns is None:
            return
        for row in table.rows[columns.header_row + 1 :]:

            def cell(index: int | None, row: tuple[str, ...] = row) -> str:
                return row[index].strip() if index is not None and index < len(row) else ""

            lead_text = cell(columns.lead)
            if not lead_text or len({c for c in row if c.strip()}) <= 1:
                continue  # a group row ("I. Lĩnh vực kinh tế") or an empty one
            leads = self._cell_units(lead_text, "lead")
            cooperating = self._cell_units(cell(columns.cooperating), "cooperating")
            deadline = parse_deadline(cell(columns.deadline), self.reference)
            action = cell(columns.action)
            group = _Group([action], [" | ".join(c for c in row if c)], action, 0)
            for target in leads:
                others = [c for c in cooperating if c.code is None or c.code != target.code]
                self.drafts.append(
                    _Draft(
                        len(self.drafts),
                        item.section,
                        target,
                        _unique(others),
                        group,
                        fixed_deadline=deadline,
                    )
                )

    def _cell_units(self, text: str, role: str) -> list[Target]:
        if not text:
            return []
        targets: list[Target] = []
        for part in re.split(r"\s*[;\n]\s*", text):
            if not part:
                continue
            mentions, end = self.resolver.parse_list(part, 0, role=role)
            for mention in mentions:
                if mention.category is Category.AUTHORITY:
                    continue
                targets.extend(mention.targets or (Target(None, mention.text),))
            rest = part[end:].strip(" ,.")
            if rest and not mentions:
                targets.append(Target(None, part, self.resolver.suggestions(part)))
        return targets

    # -- finishing -----------------------------------------------------------------------

    def _deadline(self, text: str) -> DeadlineMatch | None:
        ignore = [
            (m.start, m.end)
            for m in self.resolver.find_all(text)
            if any(word in fold(m.text) for word in _MASKED_WORDS)
        ]
        return find_deadline(text, self.reference, ignore=ignore)

    def _finish(self) -> list[Assignment]:
        resolved: list[tuple[_Draft, Deadline, str, str]] = []
        for draft in self.drafts:
            group = draft.group
            combined = " ".join(group.texts)
            found = None
            if draft.fixed_deadline is not None:
                deadline = draft.fixed_deadline
            else:
                found = self._deadline(combined)
                deadline = found.deadline if found else (draft.inherited_deadline or NO_DEADLINE)
            first = group.texts[0]
            if draft.implicit or group.action:
                action = group.action or first
            else:
                action = first[group.action_offset :]
            if found is not None and found.end <= len(first):
                cut_start = max(found.start - (len(first) - len(action)), 0)
                cut_end = found.end - (len(first) - len(action))
                if cut_end > 0:
                    action = action[:cut_start] + action[cut_end:]
            resolved.append((draft, deadline, _tidy(action), _deliverable(combined, found)))
        kept = _drop_restatements(resolved)
        out = []
        for draft, deadline, action, deliverable in kept:
            unresolved = []
            if draft.lead.code is None:
                unresolved.append(
                    UnresolvedUnit(draft.lead.text, self._suggest(draft.lead), "lead")
                )
            for target in draft.cooperating:
                if target.code is None:
                    unresolved.append(
                        UnresolvedUnit(target.text, self._suggest(target), "cooperating")
                    )
            out.append(
                Assignment(
                    section=draft.section,
                    action=action,
                    lead_units=(draft.lead.code,) if draft.lead.code else (),
                    cooperating_units=tuple(t.code for t in draft.cooperating if t.code),
                    deliverable=deliverable,
                    deadline=deadline,
                    unresolved_units=tuple(unresolved),
                    source=" ".join(draft.group.sources),
                )
            )
        return out

    def _suggest(self, target: Target) -> tuple[str, ...]:
        return target.suggestions or self.resolver.suggestions(target.text)


def _reports(rest: str) -> bool:
    """ "các xã đăng ký cơ bản đã hoàn thành": a past-tense report, not a task."""
    return re.match(r"\s*(?:[\w]+\s+){0,3}(?:da|dang|chua)\s", rest) is not None and not re.match(
        r"\s*(?:co|chiu)\s+trach\s+nhiem", rest
    )


def _unique(targets: list[Target]) -> list[Target]:
    seen: set[str] = set()
    out = []
    for target in targets:
        key = target.code or f"?{fold(target.text)}"
        if key not in seen:
            seen.add(key)
            out.append(target)
    return out


# What is left at the end of an action once its deadline is cut out ("..., hoàn thành
# [trước ngày 30/6]", "... Thời gian hoàn thành: [trong quý III]"): noise in a review line.
_DEADLINE_LEAD_IN = re.compile(
    r"(?:[,;.]\s*|\s+)(?:(?:yêu cầu|phải|để)\s+)?(?:hoàn thành|xong|thời gian(?: hoàn thành| thực"
    r" hiện)?|thời hạn(?: hoàn thành| thực hiện| báo cáo)?)\s*:?$",
    re.IGNORECASE,
)


def _tidy(action: str) -> str:
    action = re.sub(r"\s+([,;.])", r"\1", action)
    action = re.sub(r"([,;])\s*([,;.])", r"\2", action)
    action = " ".join(action.split()).strip(" ,;:-–")
    action = re.sub(r"\s*\./\.$|\.$", "", action).strip(" ,;")
    trimmed = _DEADLINE_LEAD_IN.sub("", action).strip(" ,;:")
    action = trimmed or action
    return action[:1].upper() + action[1:]


def _deliverable(text: str, deadline: DeadlineMatch | None) -> str:
    folded = fold_keep_length(text)
    match = next((m for p in _DELIVERABLES if (m := p.search(folded)) is not None), None)
    if match is None:
        return ""
    end = len(text)
    stop = _DELIVERABLE_STOP.search(folded, match.end())
    if stop:
        end = stop.start()
    if deadline is not None and match.start() < deadline.start < end:
        end = deadline.start
    return text[match.start() : end].strip(" ,;:")[:160]


def _sentences(text: str) -> list[str]:
    """Sentences; a period ends one only before a capital (not in "TP. Hà Tĩnh", "1.5")."""
    out: list[str] = []
    start = 0
    for match in re.finditer(r"(?<=[.!?])\s+(?=[\"“(]?[^\W\d_])", text):
        before = text[start : match.start()]
        next_char = text[match.end() : match.end() + 1]
        last_word = before.rsplit(" ", 1)[-1]
        if not next_char.isupper():
            continue
        if re.fullmatch(r"(?:TP|TX|TT|Q|P|Tp|ThS|TS|PGS|GS|BS|KS|St|v\.v)\.", last_word):
            continue
        out.append(before.strip())
        start = match.end()
    out.append(text[start:].strip())
    return [s for s in out if s]


def _clauses(sentence: str) -> list[str]:
    """Parts of a sentence split at ";" outside parentheses."""
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    for char in sentence:
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(0, depth - 1)
        if char == ";" and depth == 0:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    parts.append("".join(current).strip())
    return [p for p in parts if p]


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", fold(text)))


def _drop_restatements(
    resolved: list[tuple[_Draft, Deadline, str, str]],
) -> list[tuple[_Draft, Deadline, str, str]]:
    """A unit-less task that repeats an earlier assignment of the same unit is not new."""
    kept: list[tuple[_Draft, Deadline, str, str]] = []
    for entry in resolved:
        draft, deadline, action, _ = entry
        duplicate = False
        for other, other_deadline, other_action, _ in kept:
            if other.lead.code is None or other.lead.code != draft.lead.code:
                continue
            if (deadline.kind, deadline.due) != (other_deadline.kind, other_deadline.due):
                continue
            a, b = _words(action), _words(other_action)
            similarity = len(a & b) / max(1, min(len(a), len(b)))
            if (draft.implicit and similarity >= 0.5) or similarity >= 0.9:
                duplicate = True
                break
        if not duplicate:
            kept.append(entry)
    return kept


def extract_assignments(
    items: Sequence[Item],
    tables: dict[int, Table],
    resolver: UnitResolver,
    reference: date,
) -> list[Assignment]:
    """Assignments of the body `items` (tables keyed by item index), in reading order."""
    return _Extractor(resolver, reference).run(items, tables)
