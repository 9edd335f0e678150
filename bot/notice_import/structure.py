"""The outline of a notice: sections (I., 1., 1/, 2.1., a), a/), bullets and headings.

Each paragraph gets the section it belongs to ("2.1", "II.1.a") and its parent in the
outline, so a bullet under "a) Phòng Kinh tế:" knows its unit and a task under "Về y tế"
knows its sector. Label kinds nest in the order a notice first uses them; a kind seen again
closes everything opened after it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["LABEL", "Item", "outline"]

# Southern offices write "1/", "a/"; others "a." as well as "a)".
LABEL = re.compile(
    r"^(?:(?P<roman>[IVX]{1,5})[.)/](?=\s)"
    r"|(?P<dotted>\d{1,2}(?:\.\d{1,2}){1,3})\.?(?=\s)"
    r"|(?P<num>\d{1,2})[.)/](?=\s)"
    r"|(?P<letter>[a-zđ])[)./](?=\s)"
    r"|\((?P<paren>\d{1,2}|[a-zđ])\)(?=\s)"
    r"|(?P<bullet>[-–+*•·▪○●◦➢✓])(?=\s|[^\W\d_]))\s*"
)
_BULLET_KINDS = {"-": "dash", "–": "dash", "+": "plus", "*": "star"}


@dataclass
class Item:
    index: int
    text: str  # without its label
    kind: str  # roman, num-1, num-2, letter, paren, dash, plus, star, bullet, emph, plain
    label: str | None
    emphasis: bool
    section: str
    parent: Item | None

    def ancestors(self) -> list[Item]:
        chain = []
        node = self.parent
        while node is not None:
            chain.append(node)
            node = node.parent
        return chain


def _label_of(text: str) -> tuple[str, str | None, str]:
    """(kind, label value, text after the label)."""
    match = LABEL.match(text)
    if match is None:
        return "plain", None, text
    rest = text[match.end() :]
    if match.group("roman"):
        return "roman", match.group("roman"), rest
    if match.group("dotted"):
        value = match.group("dotted")
        return f"num-{value.count('.') + 1}", value, rest
    if match.group("num"):
        return "num-1", match.group("num"), rest
    if match.group("letter"):
        return "letter", match.group("letter"), rest
    if match.group("paren"):
        return "paren", match.group("paren"), rest
    bullet = match.group("bullet")
    return _BULLET_KINDS.get(bullet, "bullet"), None, rest


_OUTLINE_KINDS = ("roman", "num-", "letter")


def _is_outline(kind: str) -> bool:
    return kind.startswith(_OUTLINE_KINDS)


def outline(paragraphs: Sequence[tuple[str, bool]]) -> list[Item]:
    """Items for (text, emphasis) paragraphs, in order."""
    stack: list[Item] = []
    items: list[Item] = []
    for index, (raw, emphasis) in enumerate(paragraphs):
        kind, label, text = _label_of(raw)
        if kind == "plain" and emphasis:
            kind = "emph"
        if kind != "plain":
            kinds = [i.kind for i in stack]
            if kind in kinds:
                del stack[kinds.index(kind) :]
            elif _is_outline(kind) or kind == "emph":
                # Outline labels and headings never nest inside bullets.
                while stack and not _is_outline(stack[-1].kind) and stack[-1].kind != "emph":
                    stack.pop()
                if _is_outline(kind):
                    while stack and stack[-1].kind == "emph":
                        stack.pop()
            if kind.startswith("num-"):
                depth = int(kind.split("-")[1])
                while (
                    stack
                    and stack[-1].kind.startswith("num-")
                    and int(stack[-1].kind.split("-")[1]) >= depth
                ):
                    stack.pop()
        parent = stack[-1] if stack else None
        section_stack = [*stack, None] if kind == "plain" else stack
        item = Item(index, text.strip(), kind, label, emphasis, "", parent)
        item.section = _section(
            [i for i in section_stack if i is not None] + ([] if kind == "plain" else [item])
        )
        if kind != "plain":
            stack.append(item)
        items.append(item)
    return items


def _section(stack: Sequence[Item]) -> str:
    roman = next((i.label for i in stack if i.kind == "roman"), None)
    numbers = [i for i in stack if i.kind.startswith("num-")]
    letter = next((i.label for i in reversed(stack) if i.kind == "letter"), None)
    parts: list[str] = []
    if roman:
        parts.append(roman)
    if numbers:
        deepest = numbers[-1]
        label = deepest.label or ""
        if "." not in label and len(numbers) > 1:
            label = ".".join(n.label or "" for n in numbers)
        parts.append(label)
    if letter:
        parts.append(letter)
    return ".".join(parts)
