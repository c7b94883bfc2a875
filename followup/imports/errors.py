"""The one error a reader raises when a whole file (or message) cannot be read at all."""


class FileError(ValueError):
    """The input as a whole is unreadable: wrong encoding, no header, missing columns, too big.
    Row-level problems are never FileErrors: they reject the row and the others go on."""


def N_(msgid: str) -> str:
    """Marks a row-problem reason for extraction into the catalogue (the UI translates it)."""
    return msgid
