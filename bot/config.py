"""Configuration, read once from the environment (and an optional file) into a frozen object."""

from __future__ import annotations

import logging
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

ENV_PREFIX = "QCBOT_"
FILE_KEY = f"{ENV_PREFIX}CONFIG"

log = logging.getLogger("qcbot.config")


class ConfigError(Exception):
    """Configuration is missing or invalid; the message names the key."""


def _default_db() -> str:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return str(Path(base) / "qcbot" / "qcbot.db")


@dataclass(frozen=True)
class Config:
    """Everything the bot needs to run. Secrets are hidden from repr."""

    plan: str = "pingyin"
    plans_dir: str = ""  # the deployment's own plan files (qcbot plan import), beside the built-in four
    counties_file: str = ""  # YAML/TOML: the counties one deployment serves, their admins, chats, bots
    db_path: str = field(default_factory=_default_db)
    database_url: str = field(default="", repr=False)  # postgresql://… selects PostgreSQL; "" = SQLite at db_path
    admins: tuple[str, ...] = ()  # "channel:user_id" or bare user ids of office admins
    timezone: str = "Asia/Shanghai"
    campaign_year: int | None = None  # roll the plans' dates to this year
    export_dir: str = "qcbot-exports"
    cache_dir: str = ""  # the built question index; "" = $XDG_CACHE_HOME/qcbot or ~/.cache/qcbot
    log_level: str = "INFO"
    evidence_max_mb: int = 20  # largest evidence file accepted (证实性材料), in MB
    # HTTP server (qcbot serve)
    host: str = "0.0.0.0"
    port: int = 8080
    replicas: int = 1  # serve processes sharing this database; >1: Telegram by webhook, shared dialogue context
    # Telegram
    telegram_token: str = field(default="", repr=False)
    telegram_mode: str = "polling"  # polling | webhook
    telegram_webhook_url: str = ""
    telegram_secret_token: str = field(default="", repr=False)
    telegram_base_url: str = "https://api.telegram.org/bot"
    telegram_username: str = ""
    telegram_poll_timeout: int = 10  # getUpdates long-poll seconds
    # WeCom 自建应用
    wecom_corp_id: str = ""
    wecom_agent_id: str = ""
    wecom_secret: str = field(default="", repr=False)
    wecom_token: str = field(default="", repr=False)
    wecom_aes_key: str = field(default="", repr=False)
    # WeCom 智能机器人
    wecom_bot_token: str = field(default="", repr=False)
    wecom_bot_aes_key: str = field(default="", repr=False)
    # WeCom 群机器人 webhook
    wecom_webhook_key: str = field(default="", repr=False)
    wecom_api_base: str = "https://qyapi.weixin.qq.com"
    wecom_bot_name: str = ""  # the 智能机器人's display name, stripped from "@name" in texts
    wecom_callback_window: int = 300  # seconds a callback timestamp may differ from our clock
    wecom_reply_budget_ms: int = 2000  # answer passively within this, else ack and answer later
    wecom_workers: int = 0  # 智能机器人 answers worked out at once; 0 = 8 on SQLite, 32 on PostgreSQL
    wecom_queue_limit: int = 20_000  # answers pending at most; beyond, a short busy reply
    wecom_webhook_per_minute: int = 20  # 群机器人 send limit
    # reminders (rules in handlers/reminders/schedule.py and the README's 提醒 section)
    remind_days: tuple[int, ...] = (7, 3, 1)  # days before each deadline
    office_hours: tuple[int, int] = (9, 18)  # [start, end) hours on working days
    nudge_weekday: int = 0  # self-assessment nudges: 0 = Monday … 6 = Sunday
    digest_weekday: int = 4  # the weekly digest to the groups: Friday
    holidays_file: str = ""  # the office's holidays and 调休 days (YAML or CSV: date, kind 休/班, name)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Config:
        """Build from plain keys (tests, config files); unknown keys are an error."""
        known = {f.name: f for f in fields(cls)}
        kwargs: dict[str, Any] = {}
        for key, raw in values.items():
            name = key.lower()
            if name not in known:
                raise ConfigError(f"未知的配置项：{key}")
            kwargs[name] = _coerce(name, raw, known[name].type)
        return cls(**kwargs)

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None, file: str | Path | None = None) -> Config:
        """Read QCBOT_* environment variables over an optional TOML file (QCBOT_CONFIG).

        An unknown key in the file is an error (it is a typo in something we read); an unknown
        QCBOT_* environment variable is logged and ignored, so that a variable meant for
        another tool or an older version never stops the bot.
        """
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        path = file or env.get(FILE_KEY)
        if path:
            try:
                values.update(tomllib.loads(Path(path).read_text(encoding="utf-8")))
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise ConfigError(f"无法读取配置文件 {path}：{exc}") from None
        known = {f.name for f in fields(cls)}
        for key, value in env.items():
            if not key.startswith(ENV_PREFIX) or key == FILE_KEY:
                continue
            name = key[len(ENV_PREFIX) :].lower()
            if name in known:
                values[name] = value
            else:
                log.warning("忽略未知的环境变量 %s", key)
        return cls.from_mapping(values)

    def require(self, *names: str) -> None:
        """Fail fast naming every missing key (as its environment variable)."""
        missing = [f"{ENV_PREFIX}{n.upper()}" for n in names if not getattr(self, n)]
        if missing:
            raise ConfigError("缺少配置：" + "、".join(missing))

    def is_admin(self, channel: str, user_id: str) -> bool:
        """True when the user is an office admin (listed as channel:user or bare user id)."""
        return user_id in self.admins or f"{channel}:{user_id}" in self.admins


def _coerce(name: str, raw: Any, kind: Any) -> Any:
    text = str(kind)
    try:
        if "tuple[int, int]" in text:
            parts = raw if isinstance(raw, list | tuple) else str(raw).replace("-", ",").split(",")
            low, high = (int(p) for p in parts)
            return (low, high)
        if "tuple[int" in text:
            parts = raw if isinstance(raw, list | tuple) else str(raw).split(",")
            return tuple(int(p) for p in parts if str(p).strip())
        if "tuple[str" in text:
            parts = raw if isinstance(raw, list | tuple) else str(raw).split(",")
            return tuple(str(p).strip() for p in parts if str(p).strip())
        if text in ("int", "int | None"):
            return None if raw in (None, "") else int(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"配置项 {ENV_PREFIX}{name.upper()} 的值无效：{raw!r}") from None
    return str(raw)
