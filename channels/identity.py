"""Conversation ids for people who write by SMS, WhatsApp or Telegram: private, stable and reachable.

    sender_for("sms", "+447700900123")  -> "sms-<token>"
    address_of("sms-<token>")           -> ("sms", "+447700900123")

Why encryption and not a hash: the bot must be able to write to the person later (a staff reply, a
callback confirmation), so the address has to be recoverable, but nothing readable may be stored
in the tracker, the logs or the channel tables. The token is AES-SIV (deterministic authenticated
encryption, RFC 5297) of the address, with the kind as associated data, in lowercase base32:

* deterministic: the same number always gives the same id, so the conversation carries on;
* authenticated: a made-up, altered or re-prefixed id ("sms-" swapped for "wa-") is refused with
  :class:`UnknownSender` rather than decrypted into some other number;
* only [a-z0-9-], at most 128 characters: safe as a Rasa sender id, a URL part or a file name.

The key: ``SIGNPOST_SECRET_KEY``, 64 random bytes (AES-256-SIV) written as URL-safe base64 (86
characters, ``=`` padding optional) or as 128 hex digits. Make one with::

    .venv/bin/python -m channels.identity

Every instance behind a load balancer needs the same key. Keep it secret and keep it: with a new
key, everyone's conversation starts afresh and ids made with the old key can no longer be answered.
In development, when the variable is unset, a key is created once in ``.signpost/secret.key``
(git-ignored, mode 600; ``SIGNPOST_SECRET_KEY_FILE`` names another file) and reused, and a warning
says once that a production deployment must set the variable.
"""
from __future__ import annotations

import base64
import binascii
import logging
import os
import re
import secrets
import threading
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
KEY_ENV = "SIGNPOST_SECRET_KEY"
KEY_FILE_ENV = "SIGNPOST_SECRET_KEY_FILE"
DEFAULT_KEY_FILE = ROOT / ".signpost" / "secret.key"
KEY_BYTES = 64  # AES-SIV with two 256-bit keys
KINDS = ("sms", "wa", "tg")
MAX_ID = 128
MAX_ADDRESS = 60  # so that prefix + base32(16-byte tag + address) stays within 128 characters
SENDER_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
_ADDRESS = {
    "sms": re.compile(r"^\+?[0-9A-Za-z]{1,20}$"),  # E.164 number, short code or alphanumeric sender
    "wa": re.compile(r"^\+?[0-9]{4,20}$"),
    "tg": re.compile(r"^-?[0-9]{1,20}$"),          # chat id (negative for groups)
}
_TOKEN = re.compile(r"^[a-z2-7]{26,124}$")


class UnknownSender(ValueError):
    """A sender id this deployment did not make: forged, altered, or made with another key."""


class KeyProblem(RuntimeError):
    """SIGNPOST_SECRET_KEY (or the key file) is not a usable key; the message says how to fix it."""


# --------------------------------------------------------------------------- the key
def generate_key() -> str:
    """A new random key in the format SIGNPOST_SECRET_KEY expects (URL-safe base64, no padding)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii").rstrip("=")


def parse_key(text: str, where: str = KEY_ENV) -> bytes:
    """The 64 key bytes from base64 (URL-safe or standard, padding optional) or hex; else KeyProblem."""
    text = text.strip()
    candidates: list[bytes] = []
    if re.fullmatch(r"[0-9a-fA-F]{128}", text):
        candidates.append(bytes.fromhex(text))
    try:
        padded = text + "=" * (-len(text) % 4)
        candidates.append(base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True))
    except (binascii.Error, ValueError):
        pass
    for key in candidates:
        if len(key) == KEY_BYTES:
            return key
    raise KeyProblem(f"{where} must be {KEY_BYTES} random bytes as URL-safe base64 (86 characters) or "
                     f"{KEY_BYTES * 2} hex digits; make one with: .venv/bin/python -m channels.identity")


def _key_file() -> Path:
    return Path(os.environ.get(KEY_FILE_ENV) or DEFAULT_KEY_FILE)


def _development_key(path: Path) -> bytes:
    """Read the development key file, creating it (mode 600, race-safe) on first use."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return parse_key(path.read_text(encoding="ascii"), str(path))
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(generate_key() + "\n")
    logger.info("Created a development key for conversation ids in %s", path)
    return parse_key(path.read_text(encoding="ascii"), str(path))


_lock = threading.Lock()
_ciphers: dict[tuple[str, str], AESSIV] = {}
_warned = False


def _cipher() -> AESSIV:
    """The AES-SIV cipher for the current key (read from the environment each time; built once per key)."""
    global _warned
    value = os.environ.get(KEY_ENV, "").strip()
    source = ("env", value) if value else ("file", str(_key_file()))
    cipher = _ciphers.get(source)
    if cipher is not None:
        return cipher
    with _lock:
        if source not in _ciphers:
            if value:
                key = parse_key(value)
            else:
                key = _development_key(_key_file())
                if not _warned:
                    logger.warning("%s is not set: using the development key in %s. A production deployment "
                                   "must set %s (the same on every instance).", KEY_ENV, source[1], KEY_ENV)
                    _warned = True
            _ciphers[source] = AESSIV(key)
        return _ciphers[source]


# --------------------------------------------------------------------------- ids
def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").rstrip("=").lower()


def _unb32(text: str) -> bytes:
    return base64.b32decode(text.upper() + "=" * (-len(text) % 8))


def normalise(kind: str, address: str) -> str:
    """The address as it is encrypted: spaces dropped, 'whatsapp:' prefix removed, chat ids as text."""
    address = re.sub(r"\s+", "", str(address))
    if kind == "wa" and address.lower().startswith("whatsapp:"):
        address = address.split(":", 1)[1]
    return address


def sender_for(kind: str, address: str | int) -> str:
    """The conversation id for an address: 'sms-', 'wa-' or 'tg-' plus an encrypted token."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    address = normalise(kind, str(address))
    if len(address) > MAX_ADDRESS or not _ADDRESS[kind].match(address):
        raise ValueError(f"not a valid {kind} address")  # never echo the address itself
    token = _b32(_cipher().encrypt(address.encode("utf-8"), [kind.encode("ascii")]))
    return f"{kind}-{token}"


def address_of(sender_id: str) -> tuple[str, str]:
    """(kind, address) for an id made by :func:`sender_for`; UnknownSender for anything else."""
    kind, _, token = str(sender_id).partition("-")
    if kind not in KINDS or not _TOKEN.match(token):
        raise UnknownSender("not a Signpost SMS, WhatsApp or Telegram conversation id")
    try:
        sealed = _unb32(token)
        if _b32(sealed) != token:  # only the one canonical spelling: no second id for the same person
            raise ValueError("non-canonical base32")
        plain = _cipher().decrypt(sealed, [kind.encode("ascii")])
    except (InvalidTag, binascii.Error, ValueError):
        raise UnknownSender("this conversation id was not made here (forged, altered, or made with "
                            f"another {KEY_ENV})") from None
    return kind, plain.decode("utf-8")


def kind_of(sender_id: str) -> str | None:
    """'sms', 'wa', 'tg' or 'web' from the id's prefix (without checking it); None for other ids."""
    prefix = str(sender_id).partition("-")[0]
    return prefix if prefix in (*KINDS, "web") else None


if __name__ == "__main__":  # print a new key for SIGNPOST_SECRET_KEY
    print(generate_key())
