"""What people expect of a command line: `python -m qcbot`, `--version`, help and errors in
Chinese with an example for every command, one clear line for a taken port, and an example
configuration file that names every setting."""

from __future__ import annotations

import argparse
import gettext
import os
import re
import shlex
import socket
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import fields
from importlib import metadata
from pathlib import Path

import pytest

from bot import cli
from bot.cli import build_parser, main
from bot.config import Config

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_CONFIG = ROOT / "qcbot.example.toml"
# argparse's own English words: none may reach a user
ENGLISH = ("usage:", "positional arguments", "options:", "show this help", "error:", "required")


def parsers() -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every parser of the command line, named by its command ("qcbot", "qcbot kb show" …)."""
    todo = [build_parser()]
    while todo:
        parser = todo.pop()
        yield parser.prog, parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                todo.extend(action.choices.values())


def examples(parser: argparse.ArgumentParser) -> list[list[str]]:
    """The command lines of the epilog's 示例 block, as argument lists after `qcbot`."""
    block = (parser.epilog or "").split("示例：", 1)[-1].split("\n\n", 1)[0]
    lines = [line.rsplit("| ", 1)[-1].strip() for line in block.splitlines() if "qcbot " in line]
    return [shlex.split(line.split("qcbot ", 1)[1]) for line in lines]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def clean_env(**extra: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("QCBOT_")}, **extra}


# --- python -m qcbot and --version -------------------------------------------------------------


def test_python_dash_m_qcbot_runs_the_command_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "qcbot", "--version"],
        capture_output=True, text=True, env=clean_env(), cwd=ROOT.parent, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"qcbot {metadata.version('qcbot')}"
    shown = subprocess.run(
        [sys.executable, "-m", "qcbot", "kb", "check"],
        capture_output=True, text=True, env=clean_env(), cwd=ROOT.parent, timeout=120,
    )
    assert shown.returncode == 0 and "shandong" in shown.stdout, shown.stderr


def test_version_is_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--version")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert code == 0 and out.strip() == f"qcbot {project['version']}"


def test_version_falls_back_to_pyproject_without_package_metadata(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def missing(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(cli.metadata, "version", missing)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert cli.version() == project["version"]
    monkeypatch.setattr(cli, "PYPROJECT", ROOT / "no-such-pyproject.toml")
    assert cli.version() == "未知"


# --- help in Chinese, with an example everywhere --------------------------------------------------


def test_every_command_has_chinese_help_a_description_and_examples() -> None:
    names = [name for name, _ in parsers()]
    assert {"qcbot", "qcbot kb", "qcbot kb check", "qcbot kb list", "qcbot kb show"} <= set(names)
    assert {"qcbot ask", "qcbot score", "qcbot chat", "qcbot serve"} <= set(names)
    for name, parser in parsers():
        text = parser.format_help()
        assert text.startswith(f"用法：{name}"), name
        assert "显示本帮助并退出" in text and "选项:" in text, name
        assert not [word for word in ENGLISH if word in text], (name, text)
        assert parser.description and re.search(r"[\u4e00-\u9fff]", parser.description), name
        assert "示例：" in (parser.epilog or "") and examples(parser), name


def test_every_example_in_the_help_is_a_valid_command_line() -> None:
    for name, parser in parsers():
        for argv in examples(parser):
            args = build_parser().parse_args(argv)  # an invalid one exits 2
            assert getattr(args, "handler", None) is not None, (name, argv)


def test_every_command_is_in_the_readme_command_table() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Commands", 1)[1].split("\n## ", 1)[0]
    leaves = [name for name, p in parsers() if not p._subparsers and name != "qcbot"]
    assert leaves and [name for name in leaves if f"| `{name}" not in table] == []
    assert "`qcbot --version`" in table and "`python -m qcbot" in table


def test_sub_command_without_its_sub_command_shows_its_help(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "kb")
    assert code == 2 and out.startswith("用法：qcbot kb") and "check" in out and "show" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["kb", "show"], "qcbot kb show：错误：缺少必需的参数：体系, 指标"),
        (["frobnicate"], "qcbot：错误：参数 命令：无效的选择：'frobnicate'"),
        (["serve", "--port", "abc"], "qcbot serve：错误：参数 --port：无效的 int 值：'abc'"),
        (["ask"], "qcbot ask：错误：缺少必需的参数：问题"),
        (["kb", "check", "--jsn"], "qcbot：错误：无法识别的参数：--jsn"),
        (["--data"], "qcbot：错误：参数 --data：需要一个值"),
    ],
)
def test_argument_errors_are_chinese_and_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()  # the usage (wrapped to the terminal), then the error
    assert lines[0].startswith("用法：qcbot") and lines[-1].startswith(message), err
    assert not [word for word in ENGLISH if word in err], err


def test_other_argparse_users_keep_english(capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "kb", "show")
    assert argparse._ is gettext.gettext  # type: ignore[attr-defined]
    plain = argparse.ArgumentParser(prog="other")
    assert plain.format_help().startswith("usage: other")


# --- a port already in use ------------------------------------------------------------------------


def test_port_in_use_is_one_clear_line_and_exit_2(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = clean_env(
            QCBOT_HOST="127.0.0.1",
            QCBOT_PORT=str(port),
            QCBOT_DB_PATH=str(tmp_path / "q.db"),
            QCBOT_LOG_LEVEL="WARNING",
        )
        done = subprocess.run(
            [sys.executable, "-m", "qcbot", "serve"],
            capture_output=True, text=True, env=env, cwd=ROOT, timeout=120,
        )
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if not line.startswith("{")]  # JSON logs
    assert lines == [f"端口 {port} 已被占用：请换一个 QCBOT_PORT 或 --port"], done.stderr
    assert "Traceback" not in done.stderr


# --- the example configuration file ---------------------------------------------------------------


def test_example_config_names_every_setting_with_a_comment() -> None:
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8")
    keys = list(tomllib.loads(text))
    assert sorted(keys) == sorted(f.name for f in fields(Config))
    lines = text.splitlines()
    for number, line in enumerate(lines):
        if re.match(r"^[a-z_]+ = ", line):
            assert lines[number - 1].startswith("# "), f"no comment above {line!r}"


def test_example_config_loads_and_holds_the_defaults() -> None:
    loaded = Config.load(env={}, file=EXAMPLE_CONFIG)
    default = Config()
    differ = [f.name for f in fields(Config) if getattr(loaded, f.name) != getattr(default, f.name)]
    assert differ == ["db_path"]  # the default depends on the machine ($XDG_DATA_HOME)
    assert loaded.db_path == "qcbot-data/qcbot.db"
