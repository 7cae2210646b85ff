"""The errors Upward raises: each says what happened and what to do about it."""


class CoachError(Exception):
    """Base error; `hint` tells the user what to do next."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip()


class InputError(CoachError):
    """The user's input cannot be used as it is."""


def check_size(text: str | None, limit: int, empty: tuple[str, str], too_long: tuple[str, str]) -> str:
    """Return text unchanged, or raise InputError when it is blank or longer than limit.

    `empty` is (message, hint); `too_long` is (message, hint), where the message may use
    {length} and {limit}, both formatted with thousands separators.
    """
    text = text or ""
    if not text.strip():
        raise InputError(*empty)
    if len(text) > limit:
        message, hint = too_long
        raise InputError(message.format(length=f"{len(text):,}", limit=f"{limit:,}"), hint)
    return text


class ConfigError(CoachError):
    """A setting is missing or wrong."""


class ModelFileError(CoachError):
    """The local model file is missing, incomplete or corrupt."""


class ModelUnavailable(CoachError):
    """The chat model server cannot be reached or failed to answer."""


class StoreError(CoachError):
    """The vector store is unreadable or inconsistent."""

