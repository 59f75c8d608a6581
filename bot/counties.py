"""The counties file (QCBOT_COUNTIES_FILE): which counties one deployment serves, and whose chats are whose.

YAML or TOML (by suffix), for example::

    counties:
      pingyin: {admins: ["telegram:42"], chats: ["telegram:-1001", "wecom:wrkX"], bots: ["wecom-app:1000002"]}
      linzi: {chats: ["telegram:-1002"]}

A county is a plan id (built in, or from QCBOT_PLANS_DIR). `admins` are the county's own office
admins (channel:user_id or a bare user id); `chats` the groups (or private chats) that belong to
it; `bots` the receiving bots: a 自建应用 AgentID (`wecom-app:`), a 智能机器人 aibotid
(`wecom-bot:`), a Telegram bot username (`telegram:`). `wecom:` stands for both WeCom channels.
Every mistake is one ConfigError `file: path: message`.
"""

from __future__ import annotations

import tomllib
from collections.abc import Collection
from pathlib import Path
from typing import Any

import yaml

from bot.config import ConfigError
from handlers.tenants import CountySettings, bot_key

CHANNELS = ("console", "telegram", "wecom_bot", "wecom_app")
ALIASES = {"wecom": ("wecom_bot", "wecom_app")}
FIELDS = ("admins", "chats", "bots")


def read_counties(path: str | Path, plans: Collection[str]) -> dict[str, CountySettings]:
    """The counties the file names, in its order; ConfigError `file: path: message` on any mistake."""
    source = Path(path).expanduser()
    data = _load(source)
    where = str(path)
    if not isinstance(data, dict) or not isinstance(data.get("counties"), dict):
        raise ConfigError(f"{where}: counties: 应为县（区）表，例：counties: {{pingyin: {{chats: [\"telegram:-1001\"]}}}}")
    unknown_top = [k for k in data if k != "counties"]
    if unknown_top:
        raise ConfigError(f"{where}: {unknown_top[0]}: 未知的键（只有 counties）")
    counties: dict[str, CountySettings] = {}
    chats: dict[tuple[str, str], str] = {}
    bots: dict[tuple[str, str], str] = {}
    for plan, entry in data["counties"].items():
        at = f"counties.{plan}"
        if str(plan) not in plans:
            raise ConfigError(f"{where}: {at}: 未知的方案 {plan!r}（可选：{'、'.join(sorted(plans))}）")
        county = _county(where, at, str(plan), entry)
        _claim(where, at, "chats", county.chats, chats, str(plan))
        _claim(where, at, "bots", {bot_key(*b) for b in county.bots}, bots, str(plan))
        counties[str(plan)] = county
    if not counties:
        raise ConfigError(f"{where}: counties: 至少需要一个县（区）")
    return counties


def _load(source: Path) -> Any:
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeError) as exc:
        raise ConfigError(f"{source}: 无法读取：{exc}") from None
    try:
        if source.suffix.lower() == ".toml":
            return tomllib.loads(text)
        return yaml.safe_load(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: 不是有效的 TOML：{exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"第{mark.line + 1}行: " if mark is not None else ""
        raise ConfigError(f"{source}: {line}不是有效的 YAML：{getattr(exc, 'problem', None) or exc}") from None


def _county(where: str, at: str, plan: str, entry: Any) -> CountySettings:
    if entry is None:
        entry = {}
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: {at}: 应为表（admins、chats、bots）")
    for key in entry:
        if key not in FIELDS:
            raise ConfigError(f"{where}: {at}.{key}: 未知的键（可用：{'、'.join(FIELDS)}）")
    lists = {key: _strings(where, f"{at}.{key}", entry.get(key)) for key in FIELDS}
    admins = frozenset(a for i, raw in enumerate(lists["admins"]) for a in _admin(where, f"{at}.admins[{i}]", raw))
    chats = frozenset(a for i, raw in enumerate(lists["chats"]) for a in _address(where, f"{at}.chats[{i}]", raw))
    bots = frozenset(a for i, raw in enumerate(lists["bots"]) for a in _address(where, f"{at}.bots[{i}]", raw))
    return CountySettings(plan, admins, chats, bots)


def _strings(where: str, at: str, value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str | int) and not isinstance(v, bool) for v in value):
        raise ConfigError(f"{where}: {at}: 应为字符串列表，例：[\"telegram:42\"]")
    return [str(v).strip() for v in value]


def _channels(where: str, at: str, raw: str) -> tuple[tuple[str, ...], str]:
    """The channels `channel:` names and the id after it."""
    name, sep, ident = raw.partition(":")
    channel = name.strip().lower().replace("-", "_")
    channels = ALIASES.get(channel, (channel,))
    if not sep or not ident.strip() or not all(c in CHANNELS for c in channels):
        raise ConfigError(
            f"{where}: {at}: {raw!r} 应写成 渠道:ID（渠道为 telegram、wecom、wecom-bot、wecom-app、console）"
        )
    return channels, ident.strip()


def _address(where: str, at: str, raw: str) -> list[tuple[str, str]]:
    channels, ident = _channels(where, at, raw)
    return [(channel, ident) for channel in channels]


def _admin(where: str, at: str, raw: str) -> list[str]:
    if not raw:
        raise ConfigError(f"{where}: {at}: 空的管理员")
    if ":" not in raw:
        return [raw]  # a bare user id: an admin on any channel
    return [f"{channel}:{ident}" for channel, ident in _address(where, at, raw)]


def _claim(
    where: str, at: str, key: str, found: Collection[tuple[str, str]], taken: dict[tuple[str, str], str], plan: str
) -> None:
    """Record the county's chats (or bots); one already another county's is an error naming both."""
    for address in sorted(found):
        other = taken.get(address)
        if other is not None and other != plan:
            raise ConfigError(f"{where}: {at}.{key}: {address[0]}:{address[1]} 已属于 counties.{other}，一个{'群' if key == 'chats' else '机器人'}只能属于一个县（区）")
        taken[address] = plan
