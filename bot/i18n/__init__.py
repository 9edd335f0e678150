"""Gettext catalogs for every user-facing string (Vietnamese default, English second).

A small context-variable translator in the shape of aiogram's `I18n` (`context()`,
`use_locale()`, module-level `_`), kept free of aiogram because importing aiogram costs
seconds and the CLI, the Zalo channel and the scheduler must not pay for it. Catalogs ship
as `.po` only and are compiled in memory at start-up, so no build step can forget the
`.mo` files and an installed package is never stale.
"""

from __future__ import annotations

import gettext as gettext_module
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from io import BytesIO
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import LazyProxy

__all__ = [
    "DOMAIN",
    "LOCALES",
    "LOCALES_DIR",
    "I18n",
    "_",
    "__",
    "build_i18n",
    "get_i18n",
    "gettext",
    "ngettext",
    "normalize_locale",
]

LOCALES_DIR = Path(__file__).parent / "locales"
LOCALES = ("vi", "en")
DOMAIN = "messages"

_current_i18n: ContextVar[I18n | None] = ContextVar("nhacviec_i18n", default=None)


def _load_catalog(po_path: Path, locale: str) -> gettext_module.GNUTranslations:
    with po_path.open("rb") as fp:
        catalog = read_po(fp, locale=locale)
    buffer = BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext_module.GNUTranslations(buffer)


class I18n:
    def __init__(
        self, *, path: Path = LOCALES_DIR, default_locale: str = "vi", domain: str = DOMAIN
    ) -> None:
        self.path = path
        self.default_locale = default_locale
        self.domain = domain
        self._locale: ContextVar[str] = ContextVar("nhacviec_locale", default=default_locale)
        self.locales: dict[str, gettext_module.GNUTranslations] = {}
        for locale_dir in sorted(path.iterdir()):
            po_path = locale_dir / "LC_MESSAGES" / f"{domain}.po"
            if po_path.is_file():
                self.locales[locale_dir.name] = _load_catalog(po_path, locale_dir.name)

    @property
    def available_locales(self) -> tuple[str, ...]:
        return tuple(self.locales)

    @property
    def current_locale(self) -> str:
        return self._locale.get()

    @contextmanager
    def use_locale(self, locale: str) -> Iterator[None]:
        token = self._locale.set(locale)
        try:
            yield
        finally:
            self._locale.reset(token)

    @contextmanager
    def context(self) -> Iterator[I18n]:
        """Make this the translator `_()` uses in the current task."""
        token = _current_i18n.set(self)
        try:
            yield self
        finally:
            _current_i18n.reset(token)

    def gettext(
        self, singular: str, plural: str | None = None, n: int = 1, locale: str | None = None
    ) -> str:
        translations = self.locales.get(locale or self.current_locale)
        if translations is None:
            translations = self.locales.get(self.default_locale)
        if translations is None:
            return singular if plural is None or n == 1 else plural
        if plural is None:
            return translations.gettext(singular)
        return translations.ngettext(singular, plural, n)


def get_i18n() -> I18n:
    i18n = _current_i18n.get()
    if i18n is None:
        raise LookupError("no I18n context: wrap the call in `with i18n.context():`")
    return i18n


def gettext(singular: str, plural: str | None = None, n: int = 1, locale: str | None = None) -> str:
    return get_i18n().gettext(singular, plural, n, locale)


def ngettext(singular: str, plural: str, n: int) -> str:
    return get_i18n().gettext(singular, plural, n)


def lazy_gettext(*args: Any, **kwargs: Any) -> LazyProxy:
    """Translated when rendered, for values built before a locale is known (filters, menus)."""
    return LazyProxy(gettext, *args, **kwargs, enable_cache=False)


_ = gettext
__ = lazy_gettext


def build_i18n(default_locale: str = "vi") -> I18n:
    return I18n(path=LOCALES_DIR, default_locale=default_locale, domain=DOMAIN)


def normalize_locale(code: str | None, fallback: str = "vi") -> str:
    """Map a platform language code ("en-US", "vi") onto a locale we ship."""
    if not code:
        return fallback
    short = code.replace("_", "-").split("-")[0].lower()
    return short if short in LOCALES else fallback
