"""What a deployment relies on: the Docker image's own ENV and CMD start the bot, and every
QCBOT_* variable the code reads is documented in the README's one configuration table."""

from __future__ import annotations

import json
import logging
import os
import re
import shlex
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import fields
from pathlib import Path

import pytest

from bot.config import ENV_PREFIX, FILE_KEY, Config, ConfigError

ROOT = Path(__file__).resolve().parent.parent
NAME = re.compile(r"\bQCBOT_[A-Z0-9_]*[A-Z0-9]\b")
CODE_DIRS = ("bot", "knowledge", "scoring", "handlers", "tests", "bench")


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(instruction, arguments) of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text(encoding="utf-8"))
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            rows.append((word.upper(), rest.strip()))
    return rows


def image_env(root: Path) -> dict[str, str]:
    """The image's ENV, with absolute paths moved under `root` (the test must not write /data)."""
    env: dict[str, str] = {}
    for word, rest in dockerfile_instructions():
        if word == "ENV":
            for item in shlex.split(rest):
                key, _, value = item.partition("=")
                env[key] = str(root / value.lstrip("/")) if value.startswith("/") else value
    return env


def image_command() -> list[str]:
    """ENTRYPOINT + CMD of the image (exec form)."""
    parts = {
        word: json.loads(rest)
        for word, rest in dockerfile_instructions()
        if word in ("ENTRYPOINT", "CMD")
    }
    return [*parts.get("ENTRYPOINT", []), *parts.get("CMD", [])]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_environment(extra: dict[str, str]) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)}
    return {**base, **extra}


def qcbot_executable() -> str:
    return str(Path(sys.executable).with_name("qcbot"))


def wait_for_health(port: int, process: subprocess.Popen[str]) -> dict[str, object]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve exited {process.returncode}: {process.communicate()[1]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                assert response.status == 200
                return dict(json.loads(response.read()))
        except OSError:
            time.sleep(0.2)
    raise AssertionError("/healthz did not answer within 60 s")


def test_the_image_cmd_starts_with_the_image_env(tmp_path: Path) -> None:
    command = image_command()
    assert command[:2] == ["qcbot", "serve"], command
    port = free_port()
    env = clean_environment(
        {**image_env(tmp_path), "QCBOT_HOST": "127.0.0.1", "QCBOT_PORT": str(port)}
    )
    process = subprocess.Popen(
        [qcbot_executable(), *command[1:]],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        health = wait_for_health(port, process)
        process.terminate()
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert health["status"] == "ok" and health["channels"] == []
    assert process.returncode == 0, err
    assert "没有配置任何渠道" in err  # says what is missing, in one line


def test_chat_starts_with_the_image_env_and_an_unknown_variable(tmp_path: Path) -> None:
    env = clean_environment({**image_env(tmp_path), "QCBOT_SEEDS": "/nowhere"})
    done = subprocess.run(
        [qcbot_executable(), "chat"],
        input="计量怎么得分\n",
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "计量" in done.stdout
    assert "QCBOT_SEEDS" in done.stderr  # ignored, and said so


def documented_names() -> set[str]:
    """The QCBOT_* names in the README's configuration table."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    return {name for cell in rows for name in NAME.findall(cell)}


def names_read_by_the_code() -> set[str]:
    names = {f"{ENV_PREFIX}{f.name.upper()}" for f in fields(Config)} | {FILE_KEY}
    files = [ROOT / "Dockerfile", *(p for d in CODE_DIRS for p in (ROOT / d).rglob("*.py"))]
    files = [p for p in files if p.name != Path(__file__).name]  # this file names made-up ones
    for path in files:
        names |= set(NAME.findall(path.read_text(encoding="utf-8")))
    return names


def test_every_variable_is_documented_in_one_table() -> None:
    code, readme = names_read_by_the_code(), documented_names()
    assert sorted(code - readme) == [], "read by the code but not in the README table"
    assert sorted(readme - code) == [], "in the README table but read by nothing"


def test_unknown_environment_variable_is_ignored_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="qcbot.config"):
        config = Config.load({"QCBOT_PLAN": "linzi", "QCBOT_SEEDS": "/x", "QCBOT_CACHE_DIR": "/c"})
    assert (config.plan, config.cache_dir) == ("linzi", "/c")
    assert [r.getMessage() for r in caplog.records] == ["忽略未知的环境变量 QCBOT_SEEDS"]


def test_unknown_key_in_a_config_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "qcbot.toml"
    path.write_text('plan = "linzi"\nplna = "x"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="未知的配置项：plna"):
        Config.load({}, file=path)
