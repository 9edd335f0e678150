"""Catalog maintenance: `python -m bot.i18n.tool extract|set|missing|apply`.

Every edit takes an exclusive lock on the catalogs, so several developers' scripts can
add strings at once without losing each other's translations. msgids are English, so the
`en` catalog mirrors them; the `vi` catalog holds the Vietnamese.

  extract            scan bot/ and handlers/ for _(), __(), ngettext() and update both .po
  set MSGID TEXT     set the Vietnamese for one msgid
  apply FILE.yaml    set many: a mapping of msgid → Vietnamese
  missing            list msgids that have no Vietnamese yet (exit 1 if any)
"""

from __future__ import annotations

import fcntl
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from bot.i18n import DOMAIN, LOCALES_DIR

ROOT = Path(__file__).resolve().parents[2]
SOURCE_DIRS = ("bot", "handlers")
KEYWORDS = {"_": None, "__": None, "gettext": None, "lazy_gettext": None, "ngettext": (1, 2)}
HEADER = "Nhắc việc"
LANGUAGE_NAMES = {"vi": "Vietnamese", "en": "English"}


def po_path(locale: str) -> Path:
    return LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


@contextmanager
def locked() -> Iterator[None]:
    lock_path = LOCALES_DIR / ".lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _new_catalog(locale: str) -> Catalog:
    return Catalog(
        locale=locale,
        project=HEADER,
        version="0.1",
        domain=DOMAIN,
        copyright_holder="Nhắc việc contributors",
        msgid_bugs_address="",
        last_translator="Nhắc việc contributors",
        language_team=locale,
        header_comment=f"# {LANGUAGE_NAMES[locale]} messages of Nhắc việc.\n",
    )


def load(locale: str) -> Catalog:
    path = po_path(locale)
    if not path.exists():
        return _new_catalog(locale)
    with path.open("rb") as fp:
        return read_po(fp, locale=locale)


def save(catalog: Catalog, locale: str) -> None:
    path = po_path(locale)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fp:
        write_po(fp, catalog, width=100, omit_header=False, sort_output=True, include_lineno=False)


def extract_messages() -> dict[str | tuple[str, str], list[tuple[str, int]]]:
    found: dict[str | tuple[str, str], list[tuple[str, int]]] = {}
    for folder in SOURCE_DIRS:
        method_map = [("**.py", "python")]
        for filename, lineno, message, _comments, _context in extract_from_dir(
            ROOT / folder, method_map=method_map, keywords=KEYWORDS, strip_comment_tags=True
        ):
            key: str | tuple[str, str]
            key = (message[0], message[1]) if isinstance(message, tuple) else message
            if not key:
                continue
            found.setdefault(key, []).append((f"{folder}/{filename}", lineno))
    return found


def _msgid_key(message: Message) -> str | tuple[str, str]:
    msgid = message.id
    if isinstance(msgid, tuple | list):
        return (msgid[0], msgid[1])
    return str(msgid)


def extract() -> int:
    messages = extract_messages()
    with locked():
        for locale in ("vi", "en"):
            old = load(locale)
            existing = {_msgid_key(m): m for m in old if m.id}
            # Keep the header dates, so re-extracting without changes leaves the files alone.
            catalog = _new_catalog(locale)
            catalog.creation_date = old.creation_date
            catalog.revision_date = old.revision_date
            for key, locations in messages.items():
                previous = existing.get(key)
                string: str | tuple[str, ...] | list[str]
                if locale == "en":
                    string = key
                elif previous is not None and previous.string:
                    string = previous.string
                else:
                    string = ("",) if isinstance(key, tuple) else ""
                catalog.add(key, string, locations=locations)
            save(catalog, locale)
    print(f"{len(messages)} messages")
    return 0


def set_many(translations: dict[str, str]) -> int:
    with locked():
        catalog = load("vi")
        unknown = []
        for msgid, text in translations.items():
            message = catalog.get(msgid)
            if message is None:
                # plural entries are keyed by their singular
                matches = [m for m in catalog if isinstance(m.id, tuple) and m.id[0] == msgid]
                if not matches:
                    unknown.append(msgid)
                    continue
                message = matches[0]
                message.string = (text,)
            elif isinstance(message.id, tuple | list):
                # Catalog.get finds plural entries by their singular too; they need a tuple.
                message.string = (text,)
            else:
                message.string = text
        save(catalog, "vi")
    for msgid in unknown:
        print(f"not in the catalog (run extract first): {msgid!r}", file=sys.stderr)
    return 1 if unknown else 0


def missing() -> list[str]:
    catalog = load("vi")
    out = []
    for message in catalog:
        if not message.id:
            continue
        string = message.string
        empty = not any(string) if isinstance(string, tuple | list) else not string
        if empty:
            out.append(message.id[0] if isinstance(message.id, tuple) else str(message.id))
    return out


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help"}:
        print(__doc__)
        return 0
    command, args = argv[0], argv[1:]
    if command == "extract":
        return extract()
    if command == "set" and len(args) == 2:
        return set_many({args[0]: args[1]})
    if command == "apply" and len(args) == 1:
        data = yaml.safe_load(Path(args[0]).read_text(encoding="utf-8")) or {}
        return set_many({str(k): str(v) for k, v in data.items()})
    if command == "missing":
        items = missing()
        for item in items:
            print(item)
        return 1 if items else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
