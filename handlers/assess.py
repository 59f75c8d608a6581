"""The self-assessment flow: one question at a time, answers stored before the next is asked.

States (per user per chat in `conversations`, position per user + plan + department in
`assessments`):

    idle ──自评──▶ asking(position) ──answer/跳过──▶ asking(position+1) … ──▶ done (score card)
    asking ──上一题──▶ asking(position-1)
    asking ──修改第N题──▶ editing(N, return_to=position) ──answer/跳过──▶ asking(return_to)
    asking ──暂停──▶ paused (position kept; 自评 resumes)      asking ──取消──▶ idle (progress dropped)
    asking ──这题什么意思？/a question──▶ asking (explanation or the librarian's answer, question again)
    asking ──不清楚/说不准──▶ asking (nothing stored; 跳过 offered)
    asking ──0.35 (percent)──▶ confirming(0.35% | 35%) ──1/2 or a button──▶ asking(position+1)
"""

from __future__ import annotations

import re
from collections.abc import Coroutine
from dataclasses import dataclass, replace
from typing import Any

from handlers import ask, results
from handlers.core import Choice, Incoming, Reply
from handlers.services import Services, actor, normalize
from handlers.store import Progress, StoredAnswer, Value
from knowledge.answers import relevant_clauses
from knowledge.display import clip, num, qty
from knowledge.rules import Fact, describe_rule
from scoring.answers import AnswerError, chinese_number, coerce, example, expected, num_text
from scoring.derived import conflicts, qty_of, raw_inputs, recompute
from scoring.errors import AmbiguousPercent, FutureDate, UnsureAnswer
from scoring.questionnaire import Question, read_answer

FLOW = "assess"
PAYLOAD = "a:"
RESUMABLE = ("active", "paused")
CONFIRM = "confirm"  # chat state key: [fact id, reading 1, reading 2] while asking 0.35% or 35%
SKIP_PAYLOAD = "skip"
CONFIRM_PAYLOAD = "ok"  # "a:<fact>:ok": keep the answer another department gave (确认)
CHANGE_PAYLOAD = "change"  # "a:<fact>:change": 修改 it (the question asks for a new answer)
PICK = "="  # payload tail: a confirmed reading, "a:<fact>:=35"
STALE = "这个按钮已过期（题目已答或不是你的题目）。发送“自评”继续。"
HINT = "可回复“跳过”“上一题”“暂停”；不懂就问“这题什么意思？”"
MAX_ASKED = 200  # longer unreadable answers are not put to the librarian
LABEL = 18
RULE_LINES = 3  # scoring lines shown when a question is explained

_SKIP = {"跳过", "下一题", "略过", "skip", "pass"}
_BACK = {"上一题", "上一个", "返回上一题", "back"}
_PAUSE = {"暂停", "稍后", "等会", "等一下", "pause"}
_CANCEL = {"取消", "退出", "结束自评", "退出自评", "cancel"}
_CONFIRM = {"确认", "确定", "沿用", "同意", "确认无误", "无误", "ok"}
_EDIT = re.compile(r"^(?:修改|改|重答)第?(?P<n>[0-9]{1,4}|[一二三四五六七八九十百两]{1,6})(?:题|个)?$")
_EXPLAIN = re.compile(r"^[?？]+$|什么意思|啥意思|是指什么|指的是什么|怎么理解|看不懂|不明白|解释一下|这题|本题|这道题")
_ABOUT_CURRENT = re.compile(
    r"是指啥|指啥|指的啥|是啥意思|这个是啥|这是啥|这个是什么|这是什么|这个指什么|"
    r"(包括|包含|含|算|计入|算进|算在).{0,16}(吗|么|不)$|算不算|含不含|包不包括"
)
_IDLE_WORDS = re.compile(r"^(是|否|对|不是|不对|没有|有|已完成|未完成|yes|no|[0-9]{1,3}|上一题|下一题|上一个|跳过|返回上一题|back|skip)$")
IDLE_PAUSED = "自评已暂停（第{n}/{total}题）。发送“自评”继续。"
IDLE_DONE = "自评已完成。发送“自评”继续（可复核或修改答案）。"
_QUESTION = re.compile(r"[?？]$|什么|怎么|为什么|如何|哪|多少|能否|可否|是否|要不要|需不需要|吗$|呢$")


@dataclass(frozen=True)
class Session:
    """A liaison's assessment of their department: the questions and where they are."""

    services: Services
    message: Incoming
    department: str
    questions: tuple[Question, ...]
    progress: Progress

    @property
    def total(self) -> int:
        return len(self.questions)

    @property
    def current(self) -> Question | None:
        position = self.progress.position
        return self.questions[position] if 0 <= position < self.total else None

    def at(self, position: int, status: str = "active", return_to: int | None = None) -> Progress:
        """The progress moved to a position (fact id kept in step), done past the last question."""
        fact_id = self.questions[position].fact.id if position < self.total else ""
        status = "done" if position >= self.total else status
        return replace(
            self.progress, position=position, fact_id=fact_id, status=status, return_to=return_to
        )

    def next_position(self) -> int:
        """Where an answer or 跳过 leads: back to where an edit started, else the next question."""
        back = self.progress.return_to
        return back if back is not None else self.progress.position + 1


# --- entry points ---------------------------------------------------------------------------


async def start(services: Services, message: Incoming) -> list[Reply]:
    """自评 / /assess: resume where the liaison stopped, else start at the first unanswered."""
    session = await _load(services, message)
    if isinstance(session, str):
        return [Reply(session)]
    rows = await _rows(session)
    answers = {fact_id: row.value for fact_id, row in rows.items()}
    unconfirmed = {q.fact.id for q, _ in _unconfirmed(session, rows)}
    progress = session.progress
    if progress.status in RESUMABLE and progress.position < session.total:
        head = f"继续自评（{session.department}），已答{_answered(session, answers)}/{session.total}题。"
        moved = session.at(progress.position, return_to=progress.return_to)
    else:
        first = next((q.number - 1 for q in session.questions
                      if q.fact.id not in answers or q.fact.id in unconfirmed), None)
        head = f"开始自评（{session.department}），共{session.total}题。"
        if first is None:
            head = f"{session.department}的{session.total}题都已作答，从第1题复核；回复“跳过”保留原答案。"
        moved = session.at(first or 0)
    head += _shared_note(session, rows)
    return await _enter(replace(session, progress=moved), answers, head, recheck=True)


async def edit(services: Services, message: Incoming, number: int) -> list[Reply]:
    """修改第N题: show question N; after it is answered, go back to where the liaison was."""
    session = await _load(services, message)
    if isinstance(session, str):
        return [Reply(session)]
    if not 1 <= number <= session.total:
        return [Reply(f"没有第{number}题，{session.department}共{session.total}题。")]
    progress = session.progress
    resume = progress.position if progress.status in RESUMABLE else session.total
    back = progress.return_to if progress.return_to is not None else resume
    moved = session.at(number - 1, return_to=None if back == number - 1 else back)
    return await _enter(replace(session, progress=moved), await _answers(session), "")


async def on_text(services: Services, message: Incoming, addressed: bool) -> list[Reply] | None:
    """A message while assessing; None when the flow is over and the message is not for it."""
    session = await _load(services, message)
    if isinstance(session, str) or session.current is None:
        await _leave(services, message)
        return None
    word = normalize(message.text)
    picked = await _picked(session, word)
    if picked is not None:
        return await _record(session, picked)
    command = _command(session, word)
    if command is not None:
        return await command
    if _EXPLAIN.search(word) or _ABOUT_CURRENT.search(word):
        return [_explain(session.current, word), await _question(session)] if addressed else []
    if _QUESTION.search(word):
        return await _side_question(session) if addressed else []
    try:
        values = read_answer(session.current, message.text, session.services.today())
    except UnsureAnswer as problem:
        return [await _unsure(session, problem)] if addressed else []
    except AmbiguousPercent as problem:
        return [await _ask_percent(session, problem)] if addressed else []
    except FutureDate as problem:
        return [await _question(session, problem.message + "。")] if addressed else []
    except AnswerError as problem:
        return await _not_understood(session, word, problem) if addressed else []
    return await _record(session, values)


async def on_button(services: Services, message: Incoming, payload: str) -> list[Reply]:
    """An answer button ("a:<fact>:<n>") was pressed."""
    fact_id, _, number = payload.removeprefix(PAYLOAD).rpartition(":")
    state = await services.storage.state(message.channel, message.chat_id, message.user_id)
    session = await _load(services, message) if state and state.get("flow") == FLOW else None
    if not isinstance(session, Session) or session.current is None:
        return [Reply(STALE)]
    options = session.current.options
    if session.current.fact.id != fact_id:
        return [Reply(STALE)]
    if number == SKIP_PAYLOAD:
        return await _skip(session)
    if number == CONFIRM_PAYLOAD:
        return await _confirm(session)
    if number == CHANGE_PAYLOAD:
        return [await _question(session, "请直接回复新的答案：", confirm=False)]
    if number.startswith(PICK):
        return await _pick(session, number[len(PICK):])
    if not number.isdigit():
        return [Reply(STALE)]
    if not 1 <= int(number) <= len(options):
        return [await _question(session)]
    return await _record(session, read_answer(session.current, options[int(number) - 1]))


async def current_question(services: Services, message: Incoming) -> list[Reply]:
    """The current question again (after a command run in the middle of an assessment)."""
    session = await _load(services, message)
    if isinstance(session, str) or session.current is None:
        return []
    return [await _question(session)]


async def idle_reply(services: Services, message: Incoming) -> list[Reply] | None:
    """“是”, “1”, “上一题” after 暂停 or after finishing: say how to continue (None for other messages)."""
    if not _IDLE_WORDS.match(normalize(message.text).lower()):
        return None
    session = await _load(services, message)
    if isinstance(session, str) or session.progress.status == "new":
        return None
    if session.progress.status == "done" or session.progress.position >= session.total:
        return [Reply(IDLE_DONE)]
    if session.progress.status == "paused":
        return [Reply(IDLE_PAUSED.format(n=session.progress.position + 1, total=session.total))]
    return None


def edit_number(text: str) -> int | None:
    """修改第5题 → 5."""
    match = _EDIT.match(normalize(text))
    if match is None:
        return None
    token = match["n"]
    value = int(token) if token.isdigit() else chinese_number(token)
    return None if value is None else int(value)


# --- moves ----------------------------------------------------------------------------------


def _command(session: Session, word: str) -> Coroutine[Any, Any, list[Reply]] | None:
    """The flow command the word names, as an awaitable; None when it names none."""
    lowered = word.lower()
    if lowered in _SKIP:
        return _skip(session)
    if lowered in _BACK:
        return _back(session)
    if lowered in _PAUSE:
        return _pause(session)
    if lowered in _CANCEL:
        return _cancel(session)
    if lowered in _CONFIRM:
        return _confirm(session)
    number = edit_number(word)
    if number is not None:
        return edit(session.services, session.message, number)
    return None


async def _record(session: Session, values: dict[str, Value]) -> list[Reply]:
    """Store the answer and the next position in one transaction, then ask the next question."""
    if session.current is None:
        return []
    services, question = session.services, session.current
    fact = question.fact
    rows = await _rows(session)
    before = rows.get(fact.id)
    stored = {fact_id: row.value for fact_id, row in rows.items()}
    derived = recompute({f.id: f for f in question.indicator.facts}, stored, values)
    values = {**values, **derived.values}
    moved = session.at(session.next_position())
    await services.storage.save_answers(
        services.plan.id, session.department, values, actor(session.message), progress=moved
    )
    head = "已保存：" + _show(fact, values[fact.id])
    when = values.get(question.done_date.id) if question.done_date else None
    if when is not None:
        head += f"（完成日期：{when}）"
    old = before.value if before is not None else None
    other = _author(before) if before and before.department not in ("", session.department) else ""
    if other and old == values[fact.id]:
        head += f"（与{other}的答案一致，已确认）"
    elif old is not None and old != values[fact.id]:
        by = f"{other}填写的" if other else ""
        head += f"（原为{by}{_show(fact, old)}" + ("；各相关部门看到的都是新答案）" if other else "）")
    head = "\n".join((head, *derived.lines))
    return await _go(replace(session, progress=moved), head, edited=session.progress.return_to)


async def _skip(session: Session) -> list[Reply]:
    await _clear_pending(session)
    moved = session.at(session.next_position())
    await session.services.storage.save_progress(moved)
    return await _go(replace(session, progress=moved), "已跳过。", edited=session.progress.return_to)


async def _confirm(session: Session) -> list[Reply]:
    """确认: keep the county's answer to the current question (another department's: recorded)."""
    question = session.current
    if question is None:
        return []
    rows = await _rows(session)
    row = rows.get(question.fact.id)
    if row is None:
        return [await _question(session, "本题还没有答案，请直接填写。")]
    moved = session.at(session.next_position())
    if row.department in ("", session.department):
        await session.services.storage.save_progress(moved)
        head = f"已保留：{_show(question.fact, row.value)}。"
    else:
        values = {fact_id: rows[fact_id].value for fact_id in _facts(question) if fact_id in rows}
        done = await session.services.storage.confirm_answers(
            session.services.plan.id, session.department, values, actor(session.message),
            progress=moved)
        if question.fact.id not in done:  # changed since it was shown
            return [await _question(session, "这题的答案刚被修改，请再看一下：")]
        head = f"已确认：{_show(question.fact, row.value)}（{_author(row)}填写）。"
    return await _go(replace(session, progress=moved), head, edited=session.progress.return_to)


async def _unsure(session: Session, problem: UnsureAnswer) -> Reply:
    """不清楚 / 说不准: nothing is stored; the question again with 跳过 offered."""
    q = session.current
    number = q.number if q else 0
    head = f"{problem.message}（以后可用“修改第{number}题”补填）。"
    shown = await _question(session, head)
    fact_id = q.fact.id if q else ""
    skip = Choice("跳过", f"{PAYLOAD}{fact_id}:{SKIP_PAYLOAD}")
    return replace(shown, choices=(*shown.choices, skip))


async def _ask_percent(session: Session, problem: AmbiguousPercent) -> Reply:
    """0.35 for a percent: ask 0.35% or 35%, remembering both readings until one is chosen."""
    m, fact = session.message, session.current.fact if session.current else None
    if fact is None:
        return Reply("")
    state = {"flow": FLOW, "plan": session.services.plan.id, "department": session.department,
             CONFIRM: [fact.id, *problem.choices]}
    await session.services.storage.set_state(m.channel, m.chat_id, m.user_id, state)
    labels = [f"{num_text(v)}%" for v in problem.choices]
    choices = tuple(
        Choice(label, f"{PAYLOAD}{fact.id}:{PICK}{num_text(v)}")
        for label, v in zip(labels, problem.choices, strict=True)
    )
    return Reply(f"{problem.message}\n1. {labels[0]}  2. {labels[1]}（回复序号或重新填写）", choices=choices)


async def _picked(session: Session, word: str) -> dict[str, Value] | None:
    """The reading chosen by a bare 1 or 2 after “0.35%还是35%？”; clears the question otherwise."""
    m = session.message
    state = await session.services.storage.state(m.channel, m.chat_id, m.user_id)
    pending = state.get(CONFIRM) if state else None
    if not pending:
        return None
    await _clear_pending(session)
    fact = session.current.fact if session.current else None
    if fact is None or pending[0] != fact.id or word not in ("1", "2"):
        return None
    return {fact.id: coerce(fact, float(pending[int(word)]))}


async def _pick(session: Session, text: str) -> list[Reply]:
    """A reading button pressed: store it (validated like any typed answer)."""
    await _clear_pending(session)
    fact = session.current.fact if session.current else None
    try:
        value = coerce(fact, float(text)) if fact is not None else None
    except (AnswerError, ValueError):
        return [Reply(STALE)]
    if fact is None or value is None:
        return [Reply(STALE)]
    return await _record(session, {fact.id: value})


async def _clear_pending(session: Session) -> None:
    m = session.message
    state = await session.services.storage.state(m.channel, m.chat_id, m.user_id)
    if state and CONFIRM in state:
        rest = {k: v for k, v in state.items() if k != CONFIRM}
        await session.services.storage.set_state(m.channel, m.chat_id, m.user_id, rest)


async def _back(session: Session) -> list[Reply]:
    if session.progress.position == 0:
        return [await _question(session, "已经是第一题。")]
    moved = session.at(session.progress.position - 1, return_to=session.progress.return_to)
    await session.services.storage.save_progress(moved)
    return [await _question(replace(session, progress=moved))]


async def _pause(session: Session) -> list[Reply]:
    moved = replace(session.progress, status="paused")
    await session.services.storage.save_progress(moved)
    await _leave(session.services, session.message)
    where = f"第{session.progress.position + 1}/{session.total}题"
    return [Reply(f"已暂停，进度已保存（{where}）。发送“自评”继续，私聊也可以。")]


async def _cancel(session: Session) -> list[Reply]:
    p = session.progress
    await session.services.storage.clear_progress(p.channel, p.user_id, p.plan, p.department)
    await _leave(session.services, session.message)
    return [Reply("已退出自评，已填的答案都保留。发送“自评”可重新开始。")]


async def _go(session: Session, head: str, edited: int | None = None) -> list[Reply]:
    """Ask the question at the (already stored) position, or finish.

    After 修改第N题 from outside the sequence (`edited` = the end), unanswered questions are
    counted instead of declaring the assessment complete.
    """
    if session.progress.position >= session.total and edited is not None:
        missing = [q.number for q in session.questions if q.fact.id not in await _answers(session)]
        if missing:
            await _leave(session.services, session.message)
            listed = "、".join(str(n) for n in missing[:10]) + ("…" if len(missing) > 10 else "")
            return [Reply(f"{head}\n还有{len(missing)}/{session.total}题未答（第{listed}题）。"
                          "发送“自评”继续。")]
    if session.progress.position >= session.total:
        await _leave(session.services, session.message)
        card = await results.report(session.services, session.department)
        return [Reply(f"{head}\n自评完成！\n{card}")]
    return [await _question(session, head)]


async def _enter(
    session: Session, answers: dict[str, Value], head: str, recheck: bool = False
) -> list[Reply]:
    """Store the position and the chat state, then show the question (with the hint).

    With recheck, a stored derived value the raw figures contradict sends the liaison to the
    first raw figure it is computed from (and back afterwards).
    """
    if recheck:
        session, head = _recheck(session, answers, head)
    services, m = session.services, session.message
    await services.storage.save_progress(session.progress)
    state = {"flow": FLOW, "plan": services.plan.id, "department": session.department}
    await services.storage.set_state(m.channel, m.chat_id, m.user_id, state)
    shared = (await _rows(session)).get(session.current.fact.id) if session.current else None
    return [_render(session, answers, head, hint=True, shared=shared)]


def _recheck(session: Session, answers: dict[str, Value], head: str) -> tuple[Session, str]:
    """The first stored ratio/share/change/growth that disagrees with its raw figures, asked again."""
    seen: set[str] = set()
    for q in session.questions:
        if q.indicator.id in seen:
            continue
        seen.add(q.indicator.id)
        facts = {f.id: f for f in q.indicator.facts}
        found = next((c for c in conflicts(facts, answers) if c.derived.known), None)
        if found is None:
            continue
        inputs = raw_inputs(facts, found.fact)
        target = next((t for t in session.questions if t.fact.id in inputs), q)
        fact, back = facts[found.fact], session.progress.position
        note = (f"需核对：{fact.question}原填{qty_of(fact, found.typed)}，按原始数据计算为"
                f"{found.derived.text}，两者不一致。请重新确认第{target.number}题"
                "（其他原始数据可用“修改第N题”）。")
        moved = session.at(target.number - 1, return_to=None if back == target.number - 1 else back)
        return replace(session, progress=moved), "\n".join(x for x in (head, note) if x)
    return session, head


async def _side_question(session: Session) -> list[Reply]:
    """A question in the middle: the librarian answers, then the current question again."""
    result = await ask.answer(session.services, session.message, session.message.text.strip())
    if result.abstained:
        shown = await _question(session, f"没找到相关内容。{HINT}", hint=False)
        return [replace(shown, meta={**shown.meta, ask.ABSTAINED: "1"})]
    return [Reply(result.text), await _question(session, "继续自评：")]


async def _not_understood(session: Session, word: str, problem: AnswerError) -> list[Reply]:
    if len(word) <= MAX_ASKED:
        result = await session.services.ask(session.message.text.strip())
        if not result.abstained:
            await ask.log(session.services, session.message, result)
            return [Reply(result.text), await _question(session, "继续自评：")]
    return [await _question(session, f"没看懂：{problem.message}", hint=True)]


# --- loading --------------------------------------------------------------------------------


async def _load(services: Services, message: Incoming) -> Session | str:
    """The liaison's session, or why there is none (not bound, nothing to assess)."""
    liaison = await services.storage.liaison(message.channel, message.user_id, services.plan.id)
    if liaison is None:
        return results.NOT_BOUND
    questions = services.questions(liaison.department)
    if not questions:
        return f"本方案没有需要{liaison.department}自评的题目。"
    key = (message.channel, message.user_id, services.plan.id, liaison.department)
    stored = await services.storage.progress(*key)
    progress = stored or Progress(*key, position=0, fact_id=questions[0].fact.id, status="new")
    return Session(services, message, liaison.department, questions, _locate(progress, questions))


def _locate(progress: Progress, questions: tuple[Question, ...]) -> Progress:
    """Keep the position on the same fact when the questions changed since it was stored."""
    position = progress.position
    if position < len(questions) and questions[position].fact.id == progress.fact_id:
        return progress
    found = next((q.number - 1 for q in questions if q.fact.id == progress.fact_id), None)
    if found is not None:
        return replace(progress, position=found)
    return replace(progress, position=min(max(position, 0), len(questions)), return_to=None)


async def _answers(session: Session) -> dict[str, Value]:
    return await session.services.storage.answers(session.services.plan.id, session.department)


async def _rows(session: Session) -> dict[str, StoredAnswer]:
    """The county's answers with their authors, by fact id."""
    rows = await session.services.storage.plan_answer_rows(session.services.plan.id)
    return {row.fact_id: row for row in rows}


def _unconfirmed(
    session: Session, rows: dict[str, StoredAnswer]
) -> list[tuple[Question, StoredAnswer]]:
    """The liaison's questions another department answered that this department has not confirmed."""
    shared = results.by_others(session.questions, list(rows.values()), session.department)
    return [(q, row) for q, row in shared if session.department not in row.confirmed]


def _shared_note(session: Session, rows: dict[str, StoredAnswer]) -> str:
    """“统计局 张三 已填写第13–15题；轮到时回复“确认”沿用，不用重填。” (empty when none)."""
    by_author: dict[str, list[int]] = {}
    for question, row in _unconfirmed(session, rows):
        by_author.setdefault(_author(row), []).append(question.number)
    if not by_author:
        return ""
    named = "；".join(f"{who} 已填写第{_numbers(ns)}题" for who, ns in by_author.items())
    return f"\n{named}。轮到时回复“确认”沿用，不用重填。"


def _numbers(numbers: list[int]) -> str:
    """[1, 2, 3, 5] → 1–3、5."""
    runs: list[list[int]] = []
    for n in numbers:
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    return "、".join(f"{r[0]}–{r[-1]}" if len(r) > 2 else "、".join(map(str, r)) for r in runs)


def _author(row: StoredAnswer) -> str:
    return f"{row.department} {row.user_name or row.updated_by}".strip()


def _facts(question: Question) -> tuple[str, ...]:
    """The facts one answer gives: the question's, and a checklist task's completion date."""
    return (question.fact.id, question.done_date.id) if question.done_date else (question.fact.id,)


async def _leave(services: Services, message: Incoming) -> None:
    await services.storage.set_state(message.channel, message.chat_id, message.user_id, None)


def _answered(session: Session, answers: dict[str, Value]) -> int:
    return sum(q.fact.id in answers for q in session.questions)


# --- rendering ------------------------------------------------------------------------------


async def _question(
    session: Session, head: str = "", hint: bool = False, confirm: bool = True
) -> Reply:
    rows = await _rows(session)
    answers = {fact_id: row.value for fact_id, row in rows.items()}
    shared = rows.get(session.current.fact.id) if session.current and confirm else None
    return _render(session, answers, head, hint, shared=shared)


def _render(
    session: Session,
    answers: dict[str, Value],
    head: str,
    hint: bool,
    shared: StoredAnswer | None = None,
) -> Reply:
    """第3/12题, the indicator, the question, an example or the options, the current answer.

    When another department gave the answer (`shared`), it names them and offers 确认 / 修改.
    """
    q = session.current
    if q is None:
        return Reply(head)
    ind, fact = q.indicator, q.fact
    who = f"{session.message.user_name}·" if session.message.chat_type == "group" else ""
    points = f"（{num(ind.points)}分）" if ind.points else ""
    lines = [head] if head else []
    lines.append(f"{who}第{q.number}/{session.total}题｜{ind.id} {_short(ind.label)}{points}")
    lines.append(fact.question)
    if not q.options:
        lines.append(expected(fact) if fact.type == "choice" else f"例如：{example(fact)}")
    if q.done_date is not None:
        lines.append("已完成可直接回复完成日期，如2026年5月")
    other = shared is not None and shared.department not in ("", session.department)
    confirmed = other and shared is not None and session.department in shared.confirmed
    if fact.id in answers:
        when = answers.get(q.done_date.id) if q.done_date else None
        dated = f"（{when}）" if when else ""
        if other and shared is not None:
            mark = "（本部门已确认）" if confirmed else "\n回复“确认”沿用，或直接回复新的答案修改。"
            lines.append(results.answered_by(session.services, shared, fact) + dated + mark)
        else:
            lines.append(f"当前答案：{_show(fact, answers[fact.id])}" + dated)
    if hint:
        lines.append(HINT)
    choices = tuple(Choice(o, f"{PAYLOAD}{fact.id}:{n}") for n, o in enumerate(q.options, 1))
    if other and not confirmed:
        change = () if q.options else (Choice("修改", f"{PAYLOAD}{fact.id}:{CHANGE_PAYLOAD}"),)
        choices = (Choice("确认", f"{PAYLOAD}{fact.id}:{CONFIRM_PAYLOAD}"), *choices, *change)
    return Reply("\n".join(lines), choices=choices)


def _explain(question: Question, asked: str = "") -> Reply:
    """The current question explained from its clause, rules and notes (the clause asked about first)."""
    ind, fact = question.indicator, question.fact
    lines = [f"【{ind.id} {ind.label}】"]
    sources = "；".join([ind.criteria.replace("\n", ""), fact.help or "", *(n.text for n in ind.editorial.notes)])
    matched = relevant_clauses(sources, [asked]) if asked else []
    if matched:
        lines.append("相关条款：" + _short("；".join(matched), 200))
    if ind.criteria:
        lines.append("评分标准：" + _short(ind.criteria.replace("\n", ""), 200))
    lines += [f"· {line['text']}" for line in describe_rule(ind)[:RULE_LINES]]
    if fact.help:
        lines.append("说明：" + fact.help)
    if ind.editorial.evidence:
        lines.append("材料：" + _short("；".join(ind.editorial.evidence), 120))
    lines.append("怎么答：" + expected(fact))
    return Reply("\n".join(lines))


def _show(fact: Fact, value: Value) -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int | float):
        return qty(float(value), fact.shown_unit)
    return _short(str(value), 40)


def _short(text: str, limit: int = LABEL) -> str:
    return clip(text, limit)
