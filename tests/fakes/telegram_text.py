"""Telegram's text rules: HTML entity parsing and UTF-16 lengths.

Telegram measures every limit (4096 for text, 1024 for captions) and every entity offset in
UTF-16 code units *after* the markup is parsed, and refuses malformed HTML outright. A fake that
counted Python characters would let Vietnamese text with emoji pass here and fail in production.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

JSONDict = dict[str, Any]

__all__ = [
    "EntityParseError",
    "detect_entities",
    "parse_html",
    "utf16_len",
]


class EntityParseError(ValueError):
    """Malformed markup; the message is the part after "can't parse entities: "."""


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of every Telegram limit and offset."""
    return len(text.encode("utf-16-le")) // 2


# Tags Telegram accepts in parse_mode=HTML, mapped to the entity type they produce.
_SIMPLE_TAGS: dict[str, str] = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
}
_SPECIAL_TAGS = {"a", "span", "tg-emoji", "tg-time"}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ATTR_NAME = re.compile(r"[A-Za-z0-9_-]*")


@dataclass
class _OpenTag:
    name: str
    offset: int  # UTF-16 offset in the output where the tag's content starts
    attrs: dict[str, str]
    language: str | None = None  # set on <pre> by a nested <code class="language-x">


@dataclass
class _Output:
    parts: list[str] = field(default_factory=list)
    length: int = 0  # UTF-16 units written so far

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.length += utf16_len(text)


def _byte_offset(source: str, index: int) -> int:
    return len(source[:index].encode("utf-8"))


def _decode_entity(source: str, index: int) -> tuple[str, int] | None:
    """Decode the entity at source[index] == '&'; unknown ones stay literal, as in Telegram."""
    end = source.find(";", index + 1, index + 12)
    if end == -1:
        return None
    name = source[index + 1 : end]
    if name in _NAMED_ENTITIES:
        return _NAMED_ENTITIES[name], end + 1
    if name.startswith("#"):
        digits = name[1:]
        try:
            code = int(digits[1:], 16) if digits[:1] in ("x", "X") else int(digits, 10)
        except ValueError:
            return None
        if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF:
            return chr(code), end + 1
    return None


def _decode_all(value: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(value):
        if value[i] == "&" and (decoded := _decode_entity(value, i)) is not None:
            out.append(decoded[0])
            i = decoded[1]
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def _read_attributes(source: str, i: int, tag: str, tag_start: int) -> tuple[dict[str, str], int]:
    """Read attributes up to and including '>'; returns them and the index after '>'."""
    attrs: dict[str, str] = {}
    n = len(source)
    while True:
        while i < n and source[i].isspace():
            i += 1
        if i >= n:
            raise EntityParseError(
                f"Unclosed start tag at byte offset {_byte_offset(source, tag_start)}"
            )
        if source[i] == ">":
            return attrs, i + 1
        name_match = _ATTR_NAME.match(source, i)
        name = name_match.group(0).lower() if name_match else ""
        if not name:
            raise EntityParseError(
                f'Empty attribute name in the tag "{tag}" at byte offset {_byte_offset(source, i)}'
            )
        i += len(name)
        while i < n and source[i].isspace():
            i += 1
        if i >= n or source[i] != "=":
            attrs[name] = ""  # a bare attribute such as <blockquote expandable>
            continue
        i += 1
        while i < n and source[i].isspace():
            i += 1
        if i < n and source[i] in "\"'":
            quote = source[i]
            end = source.find(quote, i + 1)
            if end == -1:
                raise EntityParseError(
                    f"Unclosed end of attribute value at byte offset {_byte_offset(source, i)}"
                )
            value = source[i + 1 : end]
            i = end + 1
        else:
            start = i
            while i < n and not source[i].isspace() and source[i] != ">":
                i += 1
            value = source[start:i]
        attrs[name] = _decode_all(value)


def _entity_for(tag: _OpenTag, end: int) -> JSONDict | None:
    length = end - tag.offset
    if length <= 0:
        return None
    base: JSONDict = {"offset": tag.offset, "length": length}
    if tag.name in _SIMPLE_TAGS:
        kind = _SIMPLE_TAGS[tag.name]
        if kind == "blockquote" and "expandable" in tag.attrs:
            kind = "expandable_blockquote"
        entity: JSONDict = {"type": kind, **base}
        if kind == "pre" and tag.language:
            entity["language"] = tag.language
        return entity
    if tag.name == "a":
        href = tag.attrs.get("href", "")
        if not href:
            return None
        return {"type": "text_link", **base, "url": href}
    if tag.name == "span":
        return {"type": "spoiler", **base}
    if tag.name == "tg-emoji":
        return {"type": "custom_emoji", **base, "custom_emoji_id": tag.attrs["emoji-id"]}
    if tag.name == "tg-time":
        entity = {"type": "date_time", **base, "unix_time": int(tag.attrs["unix"])}
        if tag.attrs.get("format"):
            entity["date_time_format"] = tag.attrs["format"]
        return entity
    raise AssertionError(f"unhandled tag {tag.name}")  # pragma: no cover


def _check_start_tag(tag: str, attrs: dict[str, str], source: str, start: int) -> None:
    where = f"at byte offset {_byte_offset(source, start)}"
    if tag not in _SIMPLE_TAGS and tag not in _SPECIAL_TAGS:
        raise EntityParseError(f'Unsupported start tag "{tag}" {where}')
    if tag == "span" and attrs.get("class") != "tg-spoiler":
        raise EntityParseError(f'Tag "span" must have class "tg-spoiler" {where}')
    if tag == "tg-emoji" and not attrs.get("emoji-id", "").isdigit():
        raise EntityParseError(f'Tag "tg-emoji" must have attribute "emoji-id" {where}')
    if tag == "tg-time" and not attrs.get("unix", "").isdigit():
        raise EntityParseError(f'Tag "tg-time" must have attribute "unix" {where}')


def parse_html(source: str) -> tuple[str, list[JSONDict]]:
    """Return (plain text, entities) for parse_mode=HTML, or raise EntityParseError."""
    out = _Output()
    stack: list[_OpenTag] = []
    entities: list[JSONDict] = []
    i = 0
    n = len(source)
    while i < n:
        char = source[i]
        if char == "&":
            decoded = _decode_entity(source, i)
            if decoded is not None:
                out.add(decoded[0])
                i = decoded[1]
                continue
            out.add(char)
            i += 1
            continue
        if char != "<":
            start = i
            while i < n and source[i] not in "<&":
                i += 1
            out.add(source[start:i])
            continue

        tag_start = i
        if i + 1 < n and source[i + 1] == "/":
            j = i + 2
            while j < n and not source[j].isspace() and source[j] != ">":
                j += 1
            name = source[i + 2 : j].lower()
            while j < n and source[j].isspace():
                j += 1
            if j >= n or source[j] != ">":
                raise EntityParseError(
                    f"Unclosed end tag at byte offset {_byte_offset(source, tag_start)}"
                )
            if not stack:
                raise EntityParseError(
                    f"Unexpected end tag at byte offset {_byte_offset(source, tag_start)}"
                )
            top = stack[-1]
            if name != top.name:
                raise EntityParseError(
                    f"Unmatched end tag at byte offset {_byte_offset(source, tag_start)}, "
                    f'expected "</{top.name}>", found "</{name}>"'
                )
            stack.pop()
            language = top.attrs.get("class", "").removeprefix("language-")
            if top.name == "code" and stack and stack[-1].name == "pre" and language:
                # <pre><code class="language-x"> is one pre entity with a language.
                stack[-1].language = language
            elif (entity := _entity_for(top, out.length)) is not None:
                entities.append(entity)
            i = j + 1
            continue

        # Like Telegram, the tag name runs to the first space or '>' and is checked first.
        j = i + 1
        while j < n and not source[j].isspace() and source[j] != ">":
            j += 1
        if j >= n:
            raise EntityParseError(
                f"Unclosed start tag at byte offset {_byte_offset(source, tag_start)}"
            )
        name = source[i + 1 : j].lower()
        if name not in _SIMPLE_TAGS and name not in _SPECIAL_TAGS:
            raise EntityParseError(
                f'Unsupported start tag "{name}" at byte offset {_byte_offset(source, tag_start)}'
            )
        attrs, after = _read_attributes(source, j, name, tag_start)
        _check_start_tag(name, attrs, source, tag_start)
        stack.append(_OpenTag(name=name, offset=out.length, attrs=attrs))
        i = after

    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out.parts), entities


# What Telegram's clients and servers highlight in a user's plain text.
_AUTO_ENTITIES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("bot_command", re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?")),
    ("url", re.compile(r"\bhttps?://[^\s<>\"]+[^\s<>\".,;:!?)\]]")),
    ("email", re.compile(r"\b[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+\b")),
    ("mention", re.compile(r"(?<![\w@])@[A-Za-z0-9_]{4,32}\b")),
    ("hashtag", re.compile(r"(?<![\w#])#\w+")),
)


def detect_entities(text: str) -> list[JSONDict]:
    """Entities Telegram adds to a user's message: /commands, links, @mentions, #tags."""
    found: list[tuple[int, int, str]] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in _AUTO_ENTITIES:
        for match in pattern.finditer(text):
            start, end = match.span()
            if any(start < t_end and t_start < end for t_start, t_end in taken):
                continue
            taken.append((start, end))
            found.append((start, end, kind))
    found.sort()
    return [
        {
            "type": kind,
            "offset": utf16_len(text[:start]),
            "length": utf16_len(text[start:end]),
        }
        for start, end, kind in found
    ]
