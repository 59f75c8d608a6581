"""Structured logs: one JSON object per line, with every configured secret masked."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterable
from typing import IO, Any

from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}
MASK = "***"
NOISY = (
    "httpx",
    "httpcore",
    "aiohttp.access",
)  # httpx logs request URLs, which carry the bot token


class JsonFormatter(logging.Formatter):
    """Format records as JSON lines; extras become fields; secrets are masked in the result."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        line.update(
            {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}
        )
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return self.mask(json.dumps(line, ensure_ascii=False, default=str))

    def mask(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return text


class QuietBadRequests(logging.Filter):
    """aiohttp's "Error handling request" for a request it could not parse: one warning, no traceback.

    aiohttp has already answered such a request with a 4xx (a header line or URL over its limit,
    a broken request line or body encoding …); the traceback says nothing about our code.
    """

    REASON_CHARS = 200
    AFTER_ANSWER = "Unhandled exception"  # aiohttp reading on in a body the handler found broken

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, RequestPayloadError):
            if record.msg == self.AFTER_ANSWER:
                return False  # the handler met the same error first and answered (and logged) it
            exc = exc.__cause__
        if record.levelno < logging.ERROR or not isinstance(exc, HttpProcessingError):
            return True
        if 400 <= exc.code < 500:  # aiohttp's answer to a request it could not parse
            remote = record.args[0] if isinstance(record.args, tuple) and record.args else "?"
            record.msg = "bad HTTP request from %s: %s %s"
            record.args = (remote, exc.code, " ".join(exc.message.split())[: self.REASON_CHARS])
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info, record.exc_text = None, None
            record.event = "http_bad_request"
        return True


def configure_logging(
    level: str = "INFO", secrets: Iterable[str] = (), stream: IO[str] | None = None
) -> logging.Handler:
    """Send every log record to `stream` (stderr) as JSON lines; returns the handler."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in NOISY:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    server = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, QuietBadRequests) for f in server.filters):
        server.addFilter(QuietBadRequests())
    return handler
