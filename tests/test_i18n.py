"""Every user-facing string is in both catalogs, and translations keep their placeholders."""

from __future__ import annotations

import re

from bot.i18n import I18n, build_i18n
from bot.i18n.tool import extract_messages, load

PLACEHOLDER = re.compile(r"\{(\w*)\}")


def _ids(key: str | tuple[str, str]) -> list[str]:
    return list(key) if isinstance(key, tuple) else [key]


def test_i18n_every_message_has_vietnamese_and_english() -> None:
    extracted = extract_messages()
    vi, en = load("vi"), load("en")
    missing_vi, missing_en, broken = [], [], []
    for key in extracted:
        singular = key[0] if isinstance(key, tuple) else key
        vi_message = vi.get(key if isinstance(key, str) else key[0])
        if vi_message is None:
            vi_message = next(
                (m for m in vi if isinstance(m.id, tuple) and m.id[0] == singular), None
            )
        en_message = en.get(singular) or next(
            (m for m in en if isinstance(m.id, tuple) and m.id[0] == singular), None
        )
        if en_message is None:
            missing_en.append(singular)
        strings = (
            []
            if vi_message is None
            else (
                list(vi_message.string)
                if isinstance(vi_message.string, tuple | list)
                else [vi_message.string]
            )
        )
        if not any(strings):
            missing_vi.append(singular)
            continue
        wanted = {name for text in _ids(key) for name in PLACEHOLDER.findall(text)}
        for text in strings:
            if set(PLACEHOLDER.findall(text)) != wanted:
                broken.append((singular, text))
    assert missing_vi == [], "run `python -m bot.i18n.tool extract` and translate these"
    assert missing_en == []
    assert broken == []


def test_i18n_vietnamese_is_the_default(i18n: I18n) -> None:
    with i18n.context():
        from bot.i18n import _

        assert _("Status") == "Trạng thái"
        with i18n.use_locale("en"):
            assert _("Status") == "Status"


def test_i18n_unknown_locale_falls_back_to_default() -> None:
    i18n = build_i18n("vi")
    assert i18n.gettext("Status", locale="fr") == "Trạng thái"
