"""Refusals a service gives, each able to explain itself to a user in the active locale.

Adapters (chat handlers, CLI) catch `ServiceError` and show `error.message()`; nothing
has been written when one is raised (services raise before they commit).
"""

from __future__ import annotations

from bot.i18n import _


class ServiceError(Exception):
    def message(self) -> str:
        return _("Sorry, something went wrong. Nothing was changed.")


class CodeError(ServiceError):
    """A refusal about one unit or task, named by its code in the message."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class UnknownUnitError(CodeError):
    def message(self) -> str:
        return _("There is no unit with code {code}.").format(code=self.code)


class DuplicateUnitError(CodeError):
    def message(self) -> str:
        return _("A unit with code {code} already exists.").format(code=self.code)


class UnknownTaskError(CodeError):
    def message(self) -> str:
        return _("There is no task with code {code}.").format(code=self.code)


class InvalidValueError(ServiceError):
    """A value the user typed that we cannot accept; `detail` is already translated."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def message(self) -> str:
        return self.detail


class InviteNotFoundError(ServiceError):
    def message(self) -> str:
        return _(
            "This invite code is not valid. Please check it, or ask the office's "
            "administrator for a new one."
        )


class InviteUsedError(ServiceError):
    def message(self) -> str:
        return _(
            "This invite code has already been used. Please ask the office's administrator "
            "for a new one."
        )


class InviteExpiredError(ServiceError):
    def message(self) -> str:
        return _(
            "This invite code has expired. Please ask the office's administrator for a new one."
        )


class NotAllowedError(ServiceError):
    def message(self) -> str:
        return _("Sorry, you are not allowed to do this.")
