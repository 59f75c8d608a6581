"""The console channel and `qcbot chat`: numbered choices, group mentions, piped scripts, SIGKILL."""

from __future__ import annotations

import io
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

from bot.app import App
from bot.channels.console import PROMPT, ConsoleChannel
from handlers.core import Choice, Reply
from tests.fakes import RecordingHandler

ROOT = Path(__file__).resolve().parent.parent


def channel(group: bool = False) -> tuple[ConsoleChannel, RecordingHandler, io.StringIO]:
    out = io.StringIO()
    handler = RecordingHandler(
        lambda m: [Reply("第1题", choices=(Choice("是", "a:x:1"), Choice("否", "a:x:2")))]
    )
    return ConsoleChannel(handler, user="王", group=group, out=out), handler, out


async def test_a_number_presses_the_choice_of_the_last_reply() -> None:
    console, handler, out = channel()
    await console.send("自评")
    await console.send("2")
    await console.send("3")
    first, pressed, typed = handler.received
    assert first.chat_type == "private" and first.mentioned and first.payload is None
    assert pressed.payload == "a:x:2" and pressed.text == "2"
    assert typed.payload is None and typed.text == "3"
    assert "第1题\n[1] 是  [2] 否" in out.getvalue()


async def test_group_lines_are_addressed_by_mention_or_command() -> None:
    console, handler, _ = channel(group=True)
    for line in ("@qcbot 计量怎么得分？", "/help", "大家好"):
        await console.send(line)
    mention, command, chatter = handler.received
    assert mention.text == "计量怎么得分？" and mention.mentioned
    assert command.mentioned and not chatter.mentioned
    assert {m.chat_type for m in handler.received} == {"group"}
    assert len({m.chat_id for m in handler.received}) == 1


async def test_blank_lines_are_ignored_and_no_prompt_when_piped() -> None:
    console, handler, out = channel()
    await console.run(io.StringIO("\n  \n/help\n"))
    assert len(handler.received) == 1 and PROMPT not in out.getvalue()


async def test_console_on_the_real_core(app: App) -> None:
    out = io.StringIO()
    console = ConsoleChannel(app.handler, user="王", out=out)
    await console.run(io.StringIO("/bind 市场监管局\n自评\n1\n2\n"))
    text = out.getvalue()
    assert "已保存：是" in text and "已保存：否" in text and "第3/47题" in text


# --- the real command in a subprocess ---------------------------------------------------------


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QCBOT_")}
    env["XDG_DATA_HOME"] = str(tmp_path / "xdg")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _chat(tmp_path: Path, db: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "chat", "--db", str(db), "--user", "王", *extra],
        cwd=ROOT, env=_env(tmp_path), text=True, encoding="utf-8",
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )


def test_piped_script_prints_replies_only(tmp_path: Path) -> None:
    script = "/bind 统计局\n自评\n120万元\n五十万人\n2.4\n"
    proc = _chat(tmp_path, tmp_path / "s.db")
    out, err = proc.communicate(script, timeout=120)
    assert proc.returncode == 0, err
    assert PROMPT not in out and "Ctrl-D" not in out
    assert "已绑定：平阴县统计局" in out and "自评完成" in out and "【统计局】自评结果" in out


def test_default_database_path_and_group_flag(tmp_path: Path) -> None:
    proc = _chat(tmp_path, tmp_path / "g.db", "--group", "--plan", "linzi")
    out, err = proc.communicate("大家好\n@qcbot /help\n", timeout=120)
    assert proc.returncode == 0, err
    assert out.startswith("我是临淄区质量强县助手")


def test_unknown_plan_is_a_usage_error(tmp_path: Path) -> None:
    proc = _chat(tmp_path, tmp_path / "u.db", "--plan", "nowhere")
    _, err = proc.communicate("", timeout=120)
    assert proc.returncode == 2 and "未知的方案" in err


class _Reader:
    """Collects a subprocess's stdout in a thread so the test can wait for a text."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.text = ""
        self._thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self._thread.start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.text += line

    def join(self) -> None:
        self._thread.join(timeout=30)

    def wait_for(self, needle: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.text:
            assert time.monotonic() < deadline, f"{needle!r} not in {self.text!r}"
            time.sleep(0.02)


def _send(proc: subprocess.Popen[str], line: str) -> None:
    assert proc.stdin is not None
    proc.stdin.write(line + "\n")
    proc.stdin.flush()


def test_sigkill_in_the_middle_then_resume_with_every_answer(tmp_path: Path) -> None:
    db = tmp_path / "kill.db"
    with _chat(tmp_path, db) as proc:
        reader = _Reader(proc)
        _send(proc, "/bind 市场监管局")
        _send(proc, "自评")
        reader.wait_for("第1/47题")
        for n, answer in enumerate(["是", "否", "1", "没有"], start=2):
            _send(proc, answer)
            reader.wait_for(f"第{n}/47题")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        reader.join()
    assert proc.returncode == -signal.SIGKILL

    with sqlite3.connect(db) as conn:
        stored = dict(conn.execute("select fact_id, value from answers").fetchall())
    assert stored == {"i3_activities": "true", "i3_publicity": "false",
                      "i9_fund_development": "true", "i9_fund_supervision": "false"}

    again = _chat(tmp_path, db)
    out, err = again.communicate("自评\n是\n", timeout=120)
    assert again.returncode == 0, err
    assert "继续自评（市场监管局），已答4/47题" in out and "第5/47题" in out
    assert "已保存：是" in out and "第6/47题" in out
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from answers").fetchone() == (5,)
        assert conn.execute("select count(*) from answer_history").fetchone() == (5,)
