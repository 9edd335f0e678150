"""Invite codes: short enough to type on a phone, safe enough to hand out by message.

Ten characters from an alphabet without look-alikes (0/O, 1/I/L) give 32^10 ≈ 10^15
codes; only the sha256 of the normalised code is stored.
"""

from __future__ import annotations

import hashlib
import re
import secrets

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10
_NOT_CODE = re.compile(r"[^A-Z0-9]")
_CODE_SHAPE = re.compile(r"^[A-Z0-9]{10}$")


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def normalize_code(text: str) -> str:
    """Officers retype codes with spaces, lower case or without the dash: all are the same code."""
    return _NOT_CODE.sub("", text.upper())


def looks_like_code(text: str) -> bool:
    return bool(_CODE_SHAPE.match(normalize_code(text))) and len(text.strip()) <= 16


def hash_code(text: str) -> str:
    return hashlib.sha256(normalize_code(text).encode()).hexdigest()
