"""The Bot API spec as data, so the fake refuses exactly the calls Telegram would refuse.

Parameters arrive as strings (query, form, multipart, as aiogram sends them) or as JSON values;
both are coerced to the types the spec declares, and JSON-serialized fields are parsed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from tests.fakes.telegram_models import ApiError, UploadedFile, bad_request

__all__ = [
    "DEFAULT_SPEC_PATH",
    "BotApiSpec",
    "FieldSpec",
    "MethodSpec",
    "coerce_params",
    "load_spec",
]

DEFAULT_SPEC_PATH = Path(__file__).resolve().parents[1] / "data" / "telegram-bot-api.json"
_PLAIN_TYPES = {"String", "Integer", "Boolean", "Float", "InputFile"}
_FILE_FIELDS = {
    "document",
    "photo",
    "audio",
    "video",
    "voice",
    "sticker",
    "animation",
    "video_note",
}

# Telegram's wording for the most common missing parameters; others get the generic form.
_MISSING: dict[str, str] = {
    "chat_id": "chat_id is empty",
    "text": "message text is empty",
    "message_id": "message identifier is not specified",
    "callback_query_id": "query_id is empty",
    "from_chat_id": "from_chat_id is empty",
    "file_id": "file_id is empty",
    "action": "action is empty",
    "commands": "commands are empty",
    "media": "media is empty",
}
_JSON_LABELS: dict[str, str] = {
    "reply_markup": "reply keyboard markup",
    "reply_parameters": "reply parameters",
    "entities": "entities",
    "caption_entities": "caption entities",
    "commands": "BotCommand array",
    "scope": "BotCommandScope",
    "media": "media",
    "allowed_updates": "allowed updates",
    "menu_button": "menu button",
    "link_preview_options": "link preview options",
}


@dataclass(frozen=True)
class FieldSpec:
    name: str
    types: tuple[str, ...]
    required: bool

    @property
    def is_json(self) -> bool:
        """True for objects and arrays, which travel JSON-serialized in form requests."""
        return not all(t in _PLAIN_TYPES for t in self.types)

    @property
    def is_array(self) -> bool:
        return all(t.startswith("Array of") for t in self.types)


@dataclass(frozen=True)
class MethodSpec:
    name: str
    fields: tuple[FieldSpec, ...]
    returns: tuple[str, ...]


@dataclass(frozen=True)
class BotApiSpec:
    version: str
    methods: Mapping[str, MethodSpec]  # keyed by lower-case name: Telegram ignores case

    def find(self, name: str) -> MethodSpec | None:
        return self.methods.get(name.lower())


@lru_cache(maxsize=4)
def load_spec(path: Path = DEFAULT_SPEC_PATH) -> BotApiSpec:
    """Parse the spec once per process; a test session starts hundreds of fakes."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    methods: dict[str, MethodSpec] = {}
    for name, method in raw["methods"].items():
        fields = tuple(
            FieldSpec(name=f["name"], types=tuple(f["types"]), required=bool(f["required"]))
            for f in method.get("fields", [])
        )
        methods[name.lower()] = MethodSpec(
            name=name, fields=fields, returns=tuple(method.get("returns", []))
        )
    return BotApiSpec(version=str(raw.get("version", "")), methods=methods)


def _type_error(name: str, expected: str) -> ApiError:
    return bad_request(f'field "{name}" must be of type {expected}')


def _coerce_int(name: str, value: Any) -> int:
    if isinstance(value, bool):
        raise _type_error(name, "Integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise _type_error(name, "Integer")


def _coerce_bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
        return value.strip().lower() in ("true", "1")
    raise _type_error(name, "Boolean")


def _coerce_json(field: FieldSpec, value: Any) -> Any:
    label = _JSON_LABELS.get(field.name, field.name)
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise bad_request(f"can't parse {label} JSON object") from None
    expected: type = list if field.is_array else dict
    if field.is_array and not isinstance(value, list):
        raise bad_request(f"can't parse {label} JSON object: array expected")
    if not field.is_array and not isinstance(value, expected):
        raise bad_request(f"can't parse {label} JSON object: object expected")
    return value


def _coerce_file(field: FieldSpec, value: Any, files: Mapping[str, UploadedFile]) -> Any:
    if isinstance(value, UploadedFile):
        return value
    if isinstance(value, str) and value.startswith("attach://"):
        key = value.removeprefix("attach://")
        if key not in files:
            raise bad_request(f'file "{key}" must be attached to the request')
        return files[key]
    if "String" in field.types and isinstance(value, str | int):
        return str(value)
    raise _type_error(field.name, "InputFile or String")


def _coerce(field: FieldSpec, value: Any, files: Mapping[str, UploadedFile]) -> Any:
    types = set(field.types)
    if "InputFile" in types:
        return _coerce_file(field, value, files)
    if field.is_json:
        return _coerce_json(field, value)
    if types == {"Integer", "String"}:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        text = str(value).strip()
        return int(text) if text.lstrip("-").isdigit() else text
    if types == {"Integer"}:
        return _coerce_int(field.name, value)
    if types == {"Boolean"}:
        return _coerce_bool(field.name, value)
    if types == {"Float"}:
        try:
            return float(value)
        except (TypeError, ValueError):
            raise _type_error(field.name, "Float") from None
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise _type_error(field.name, "String")


def coerce_params(
    method: MethodSpec, raw: Mapping[str, Any], files: Mapping[str, UploadedFile]
) -> dict[str, Any]:
    """Typed parameters, or ApiError(400) with Telegram's wording; unknown ones pass through."""
    params: dict[str, Any] = dict(raw)
    for field in method.fields:
        value = raw.get(field.name)
        if value is None and field.name in files:
            value = files[field.name]
        if value is None or value == "":
            params.pop(field.name, None)
            if method.name == "setWebhook" and field.name == "url":
                params["url"] = ""  # an empty URL is how Telegram removes the webhook
                continue
            if field.required:
                raise _missing(method, field)
            continue
        params[field.name] = _coerce(field, value, files)
    return params


def _missing(method: MethodSpec, field: FieldSpec) -> ApiError:
    if field.name in _FILE_FIELDS:
        return bad_request(f"there is no {field.name} in the request")
    if field.name in _MISSING:
        return bad_request(_MISSING[field.name])
    return bad_request(f"parameter {field.name} is required")
