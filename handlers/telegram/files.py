"""Fetching files officers send (getFile ≤ 20 MB) and gathering albums into one report.

Telegram delivers an album as separate messages sharing a `media_group_id`, possibly in
several getUpdates batches. The first part's handler becomes the album's leader: it waits
until no part has arrived for `wait` seconds and every part's download has finished, then
reports once with all the files; the other parts' handlers only fetch their file.

Not every document is evidence: an admin's conclusion notice goes to the import review
(`handlers/telegram/notices.py`, whose router runs first and whose docstring has the rule),
which uses `download` to read the file without keeping it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import Message

from bot.i18n import _
from bot.services.attachments import MAX_ATTACHMENT_BYTES, AttachmentStore, StoredFile
from bot.services.errors import ServiceError

log = logging.getLogger(__name__)


class FileTooBigError(ServiceError):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    def message(self) -> str:
        return _(
            "The file {name} is larger than 20 MB, the most Telegram lets a bot receive, so "
            "nothing was recorded. Please send a smaller file (for example a compressed PDF) "
            "or a photo of the signed page."
        ).format(name=self.name)


class FileUnavailableError(ServiceError):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    def message(self) -> str:
        return _(
            "I could not download the file {name} from Telegram, so nothing was recorded. "
            "Please send it again."
        ).format(name=self.name)


@dataclass(frozen=True, slots=True)
class _Wanted:
    file_id: str
    unique_id: str
    name: str
    mime_type: str | None
    size: int | None


def _wanted(message: Message) -> _Wanted | None:
    if message.document is not None:
        doc = message.document
        return _Wanted(
            doc.file_id,
            doc.file_unique_id,
            doc.file_name or f"document_{message.message_id}",
            doc.mime_type,
            doc.file_size,
        )
    if message.photo:
        photo = message.photo[-1]  # the largest size comes last
        return _Wanted(
            photo.file_id,
            photo.file_unique_id,
            f"photo_{message.chat.id}_{message.message_id}.jpg",
            "image/jpeg",
            photo.file_size,
        )
    return None


def file_label(message: Message) -> str:
    wanted = _wanted(message)
    return wanted.name if wanted else ""


@dataclass(frozen=True, slots=True)
class Downloaded:
    name: str
    mime_type: str | None
    file_id: str
    content: bytes


async def fetch(bot: Bot, store: AttachmentStore, message: Message) -> StoredFile | None:
    """Download the message's document or photo and store it; None when it has none."""
    got = await download(bot, message)
    if got is None:
        return None
    return await store.save(
        got.content, file_name=got.name, mime_type=got.mime_type, external_file_id=got.file_id
    )


async def download(bot: Bot, message: Message) -> Downloaded | None:
    """The message's document or photo in memory (a notice to import is read, not kept)."""
    wanted = _wanted(message)
    if wanted is None:
        return None
    # Refused before getFile: Telegram would refuse it there anyway, after a round trip.
    if wanted.size is not None and wanted.size > MAX_ATTACHMENT_BYTES:
        raise FileTooBigError(wanted.name)
    try:
        info = await bot.get_file(wanted.file_id)
    except TelegramBadRequest as exc:
        if "too big" in exc.message.lower():
            raise FileTooBigError(wanted.name) from exc
        raise FileUnavailableError(wanted.name) from exc
    if info.file_size is not None and info.file_size > MAX_ATTACHMENT_BYTES:
        raise FileTooBigError(wanted.name)
    if info.file_path is None:
        raise FileUnavailableError(wanted.name)
    buffer = await bot.download_file(info.file_path, timeout=120)
    if buffer is None:
        raise FileUnavailableError(wanted.name)
    return Downloaded(wanted.name, wanted.mime_type, wanted.file_id, buffer.read())


@dataclass
class Album:
    messages: list[Message] = field(default_factory=list)
    files: dict[int, StoredFile] = field(default_factory=dict)
    errors: list[ServiceError] = field(default_factory=list)
    inflight: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def caption(self) -> str:
        return next((m.caption for m in self.messages if m.caption), "")

    @property
    def first(self) -> Message:
        return min(self.messages, key=lambda m: m.message_id)

    def ordered_files(self) -> tuple[StoredFile, ...]:
        return tuple(self.files[k] for k in sorted(self.files))


class AlbumCollector:
    def __init__(self, wait: float) -> None:
        self._wait = wait
        self._albums: dict[tuple[int, str], Album] = {}

    async def collect(self, bot: Bot, store: AttachmentStore, message: Message) -> Album | None:
        """Add one part; returns the whole album to the leader, None to the others."""
        assert message.media_group_id is not None
        key = (message.chat.id, message.media_group_id)
        album = self._albums.get(key)
        leader = album is None
        if album is None:
            album = self._albums[key] = Album()
        album.messages.append(message)
        album.inflight += 1
        album.changed.set()
        try:
            stored = await fetch(bot, store, message)
            if stored is not None:
                album.files[message.message_id] = stored
        except ServiceError as error:
            album.errors.append(error)
        finally:
            album.inflight -= 1
            album.changed.set()
        if not leader:
            return None
        try:
            while True:
                album.changed.clear()
                if album.inflight == 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(album.changed.wait(), self._wait)
                    if not album.changed.is_set() and album.inflight == 0:
                        break
                else:
                    await album.changed.wait()
        finally:
            self._albums.pop(key, None)
        return album
