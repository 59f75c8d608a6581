"""Untrusted JSON from a chat platform: one safe parser and typed accessors for the fields we read.

`json_object` turns any body into a dict or a MalformedRequest (HTTP 400): not UTF-8, not JSON,
nested deeper than the interpreter's recursion limit, not an object. The accessors read one field
of an already authenticated message: a missing or null field gives the empty default, a field of
the wrong type raises UnusableMessage (acknowledged with an empty 200 and one warning line).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from bot.channels.errors import MalformedRequest, UnusableMessage

LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # JSON "\ud800" decodes to one; UTF-8 cannot hold it


def json_object(raw: bytes | str) -> dict[str, Any]:
    """The body as a JSON object; MalformedRequest for anything else."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        data = json.loads(text)
    except UnicodeDecodeError:
        raise MalformedRequest("body is not UTF-8") from None
    except RecursionError:
        # the C decoder stops at the recursion limit after reading at most ~1,000 openers
        raise MalformedRequest("body is nested too deeply") from None
    except ValueError:
        raise MalformedRequest("body is not JSON") from None
    if not isinstance(data, dict):
        raise MalformedRequest("body is not a JSON object")
    return data


def text_of(data: Mapping[str, Any], key: str) -> str:
    """The string at `key` ("" when absent or null), lone surrogates replaced by U+FFFD."""
    value = _typed(data, key, str, "a string")
    return LONE_SURROGATE.sub("\ufffd", value) if value else ""


def object_of(data: Mapping[str, Any], key: str) -> dict[str, Any]:
    """The JSON object at `key` ({} when absent or null)."""
    return _typed(data, key, dict, "an object") or {}


def objects_of(data: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    """The list of JSON objects at `key` ([] when absent or null)."""
    items: list[Any] = _typed(data, key, list, "a list") or []
    if not all(isinstance(item, dict) for item in items):
        raise UnusableMessage(f"{key} holds something other than objects")
    return items


def _typed(data: Mapping[str, Any], key: str, kind: type, name: str) -> Any:
    value = data.get(key)
    if value is not None and not isinstance(value, kind):
        raise UnusableMessage(f"{key} is {type(value).__name__}, not {name}")
    return value
