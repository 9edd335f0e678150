"""Files officers send as evidence (signed documents, photos), kept by content.

Bytes live under ATTACHMENTS_DIR at `ab/abcdef…` (the sha256), so the same scan sent twice
is stored once and a file can never be overwritten by another with the same name; the
original name travels in the database and in every `FileRef`, so admins receive
"Ke hoach 123.pdf", not a hash. Writes go to a temporary file first and are renamed into
place, so a crash never leaves half a file under a valid name.
"""

from __future__ import annotations

import asyncio
import hashlib
import mimetypes
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from bot.channels.base import FileRef
from bot.services.dto import AttachmentView

# The Bot API lets bots download files up to 20 MB; Zalo's limits are lower.
MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]+")


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A file already on disk; `storage_path` is relative to ATTACHMENTS_DIR."""

    file_name: str
    size: int
    sha256: str
    mime_type: str
    storage_path: str
    external_file_id: str | None = None


def safe_file_name(name: str | None, mime_type: str | None = None, fallback: str = "file") -> str:
    """The name as the sender gave it, minus path parts and characters no file system takes."""
    text = unicodedata.normalize("NFC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    text = _UNSAFE.sub("_", text).strip(" .")
    if not text:
        extension = mimetypes.guess_extension(mime_type or "") or ""
        text = f"{fallback}{extension}"
    if len(text.encode()) > 200:
        _stem, dot, extension = text.rpartition(".")
        keep = extension if dot and len(extension) <= 10 else ""
        text = text.encode()[:190].decode(errors="ignore").rstrip(" .") + (
            f".{keep}" if keep else ""
        )
    return text


class AttachmentStore:
    def __init__(self, root: Path, *, max_bytes: int = MAX_ATTACHMENT_BYTES) -> None:
        self.root = root
        self.max_bytes = max_bytes

    def path_of(self, storage_path: str) -> Path:
        return self.root / storage_path

    def file_ref(self, attachment: AttachmentView) -> FileRef:
        """What the outbox needs to send the file again: path at send time, original name."""
        return FileRef(
            file_name=attachment.file_name,
            path=str(self.path_of(attachment.storage_path).resolve()),
            mime_type=attachment.mime_type,
        )

    async def save(
        self,
        content: bytes,
        *,
        file_name: str | None,
        mime_type: str | None = None,
        external_file_id: str | None = None,
    ) -> StoredFile:
        """Store the bytes (once per content) and describe them."""
        if len(content) > self.max_bytes:
            raise ValueError("file larger than the attachment limit")
        sha256 = hashlib.sha256(content).hexdigest()
        relative = f"{sha256[:2]}/{sha256}"
        await asyncio.to_thread(self._write, self.path_of(relative), content)
        mime = mime_type or mimetypes.guess_type(file_name or "")[0] or "application/octet-stream"
        return StoredFile(
            file_name=safe_file_name(file_name, mime),
            size=len(content),
            sha256=sha256,
            mime_type=mime,
            storage_path=relative,
            external_file_id=external_file_id,
        )

    @staticmethod
    def _write(path: Path, content: bytes) -> None:
        if path.exists() and path.stat().st_size == len(content):
            return  # same sha256, same size: already stored
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
