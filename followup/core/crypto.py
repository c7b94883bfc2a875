"""Field encryption (AES-256-GCM with a key-id byte) and keyed blind indexes for personal data."""
import base64
import hmac
import os
from collections.abc import Callable

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import LargeBinary
from sqlalchemy.types import TypeDecorator

# The first byte of every ciphertext names the algorithm/key, so SM4-GCM or a rotated key can
# be added later without re-encrypting old rows first.
KEY_ID_AES_V1 = 1


class Keys:
    def __init__(self, field_key: bytes, index_key: bytes):
        if len(field_key) != 32 or len(index_key) < 32:
            raise ValueError("FOLLOWUP_FIELD_KEY must be 32 bytes and FOLLOWUP_INDEX_KEY at least 32 (base64)")
        self.aead = AESGCM(field_key)
        self.index_key = index_key

    def encrypt(self, plaintext: str) -> bytes:
        nonce = os.urandom(12)
        return bytes([KEY_ID_AES_V1]) + nonce + self.aead.encrypt(nonce, plaintext.encode(), None)

    def decrypt(self, blob: bytes) -> str:
        if blob[0] != KEY_ID_AES_V1:
            raise ValueError(f"unknown field key id {blob[0]}")
        return self.aead.decrypt(blob[1:13], blob[13:], None).decode()

    def blind_index(self, value: str) -> str:
        # HMAC-SHA256; the one-shot C function is 5 times faster than hmac.new(...).hexdigest().
        return hmac.digest(self.index_key, value.encode(), "sha256").hex()


def init_keys(app):
    def load(name):
        raw = app.config.get(name)
        return base64.b64decode(raw) if raw else None

    field_key, index_key = load("FIELD_KEY"), load("INDEX_KEY")
    if field_key is None or index_key is None:
        if not app.config.get("EMBEDDED"):
            raise RuntimeError("FOLLOWUP_FIELD_KEY and FOLLOWUP_INDEX_KEY must be set when DATABASE_URL is")
        field_key, index_key = _embedded_keys(app.instance_path)
    keys = app.extensions["followup_keys"] = Keys(field_key, index_key)
    # The audit chain's HMAC key: its own setting, so whoever holds the database (or the index
    # key) need not hold it; without one, derived from the index key, which the database also
    # never holds.
    audit_key = load("AUDIT_KEY")
    keys.audit_key = audit_key or hmac.digest(index_key, b"followup audit chain v1", "sha256")


def _embedded_keys(instance_path):
    """The embedded default keeps generated keys beside its SQLite file (mode 0600)."""
    path = os.path.join(instance_path, "field-keys")
    if not os.path.exists(path):
        os.makedirs(instance_path, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(base64.b64encode(os.urandom(32)).decode() + "\n")
            fh.write(base64.b64encode(os.urandom(32)).decode() + "\n")
    with open(path) as fh:
        field, index = fh.read().split()
    return base64.b64decode(field), base64.b64decode(index)


def keys_of(app) -> Keys:
    return app.extensions["followup_keys"]


_key_source: Callable[[], Keys] | None = None


def use_key_source(source: Callable[[], Keys]) -> None:
    """Where `keys()` (and so `EncryptedText`, which gets no arguments) finds the keys: the app
    factory names the current app's; a script may name its own."""
    global _key_source
    _key_source = source


def keys() -> Keys:
    if _key_source is None:
        raise RuntimeError("no field keys: create_app() or crypto.use_key_source() names them")
    return _key_source()


def blind_index(value: str | None) -> str | None:
    return keys().blind_index(value) if value else None


class EncryptedText(TypeDecorator):
    """A string stored as AES-GCM ciphertext; decrypted on load inside an app context."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else keys().encrypt(value)

    def process_result_value(self, value, dialect):
        return None if value is None else keys().decrypt(bytes(value))
