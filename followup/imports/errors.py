"""The reasons imports give, as English msgids with parameters: stored as they are, translated
through the catalogue when shown (`describe`), so a hospital admin reads them in Chinese."""


def N_(msgid: str) -> str:
    """Marks a reason for extraction into the catalogue (the UI translates it)."""
    return msgid


class Reason(str):
    """A reason with parameters: the English text as a str (logs, ACKs, tests), plus its msgid
    and parameters so that what is stored can be translated later."""

    def __new__(cls, msgid: str, **params):
        self = super().__new__(cls, msgid % params if params else msgid)
        self.msgid, self.params = msgid, params
        return self

    def as_dict(self) -> dict:
        return {"reason": self.msgid, "params": self.params} if self.params else {"reason": self.msgid}


class FileError(ValueError):
    """The input as a whole is unreadable: wrong encoding, no header, missing columns, too big.
    Row-level problems are never FileErrors: they reject the row and the others go on."""

    def __init__(self, msgid: str, **params):
        self.reason = Reason(msgid, **params)
        super().__init__(str(self.reason))

    @property
    def msgid(self) -> str:
        return self.reason.msgid

    @property
    def params(self) -> dict:
        return self.reason.params


def describe(msgid: str, params: dict | None = None) -> str:
    """A stored reason in the current locale (needs an app context for the catalogue)."""
    from flask_babel import gettext
    params = params or {}
    text = gettext(msgid, **params) if params else gettext(msgid)
    if text == msgid and not params:
        # Older or composite reasons: "value: reason" parts, each translated on its own.
        parts = []
        for part in msgid.split("; "):
            value, sep, fixed = part.rpartition(": ")
            parts.append(f"{value}{sep}{gettext(fixed)}" if sep else gettext(part))
        text = "; ".join(parts)
    return text


def field_label(field: str) -> str:
    """A field by the header HIS exports use for it (住院号, 联系电话 …): what the clerk sees."""
    from flask_babel import gettext
    from .headers import FIELD_ALIASES
    if field in FIELD_ALIASES:
        return FIELD_ALIASES[field][0]
    return {"_row": gettext("whole row"), "_message": gettext("message")}.get(field, field)


def reason_text(error) -> str:
    """A rejected row's error ({"reason": msgid, "params": …}) or a bare msgid, translated."""
    if isinstance(error, dict):
        return describe(error["reason"], error.get("params"))
    return describe(error)
