"""Log lines never carry a phone number, email, NHS number, date of birth or address.

Both servers load ``bot/logging.yml`` (``rasa run ... --logging-config-file bot/logging.yml`` and
``rasa run actions ... --logging-config-file bot/logging.yml``). That file's ``redact`` filter is
built by :func:`install`, which does two things:

1. installs a log-record factory, so every record made anywhere in the process (Rasa, Sanic,
   rasa-sdk, structlog's stdlib output, our own code) has its message and arguments redacted
   the moment it is created, whichever handler later prints it. Rasa and rasa-sdk both
   re-install console handlers with ``coloredlogs`` after reading the logging file, so a
   filter on the file's own handlers alone would be bypassed;
2. returns :class:`RedactingFilter` for the file's handlers, as a second line for records
   that were made before the factory was installed.

``SignpostTrackerStore`` also calls :func:`install` when Rasa creates it, so the Rasa server
redacts its logs even if it was started without the logging file.

Formatting happens once, here: ``record.msg`` becomes the redacted, already formatted message
and ``record.args`` is emptied. Exception tracebacks are formatted and redacted too (an
exception message may quote what someone typed).
"""
from __future__ import annotations

import logging
import traceback
from typing import Any, Callable, Optional

from signposting.redact import redact

_previous_factory: Optional[Callable[..., logging.LogRecord]] = None


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Redact ``record`` in place (message, arguments and any traceback) and return it."""
    if getattr(record, "_signpost_redacted", False):
        return record
    try:
        message = record.getMessage()
    except Exception:  # a broken format string: keep what there is, redacted
        message = f"{record.msg} {record.args}"
    record.msg = redact(str(message))
    record.args = None
    if record.exc_info and not record.exc_text:
        record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    record._signpost_redacted = True  # type: ignore[attr-defined]
    return record


class RedactingFilter(logging.Filter):
    """A handler or logger filter that redacts each record and always lets it through."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


def _factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    assert _previous_factory is not None
    return redact_record(_previous_factory(*args, **kwargs))


def install() -> RedactingFilter:
    """Redact every log record this process makes from now on; idempotent. Returns a filter."""
    global _previous_factory
    current = logging.getLogRecordFactory()
    if current is not _factory:
        _previous_factory = current
        logging.setLogRecordFactory(_factory)
    return RedactingFilter()


def installed() -> bool:
    """True when this process redacts every log record at creation."""
    return logging.getLogRecordFactory() is _factory
