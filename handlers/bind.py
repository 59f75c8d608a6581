"""Binding a liaison to a department: "/bind 市场监管局", "我是统计局的", ambiguous → choices."""

from __future__ import annotations

import re

from handlers.core import Choice, Incoming, Reply
from handlers.services import Services, actor, normalize
from handlers.store import State
from knowledge.assignment import bind_problem, find_departments
from knowledge.display import num

FLOW = "bind"
PAYLOAD = "b:"
MAX_CHOICES = 6
MAX_LISTED = 8
_INTRO = re.compile(
    r"^(?:我|我们|俺|本人)(?:是|在|来自|属于)(?P<name>[^，,。？?！!]{2,30}?)(?:的)?"
    r"(?:联络员|负责人|同志|工作人员)?$"
)
USAGE = "请写部门名称，例如：/bind 市场监管局"


def intro_name(text: str) -> str | None:
    """The department named in a self-introduction ("我是统计局的" → 统计局), if it is one."""
    match = _INTRO.match(normalize(text))
    return match["name"] if match else None


async def on_command(services: Services, message: Incoming, args: str) -> list[Reply]:
    """/bind with a department name; without one, show the current binding."""
    if args:
        return await resolve(services, message, args)
    liaison = await services.storage.liaison(message.channel, message.user_id, services.plan.id)
    if liaison is None:
        return [Reply(f"你还没有绑定部门。{USAGE}")]
    return [Reply(f"你当前绑定：{liaison.department}。要更换，{USAGE}")]


async def resolve(services: Services, message: Incoming, name: str) -> list[Reply]:
    """Bind to the department the name means; several → offer choices; none → say so."""
    found = find_departments(services.departments, name)
    depts = [services.kb.departments[d] for d in found]
    allowed = [d for d in depts if bind_problem(d) is None]
    if len(allowed) == 1:
        return await bind(services, message, allowed[0].id)
    if not allowed:
        problem = bind_problem(depts[0]) if depts else None
        return [Reply(problem or f"没找到“{name[:20]}”。{USAGE}")]
    options = [d.id for d in allowed[:MAX_CHOICES]]
    await services.storage.set_state(
        message.channel, message.chat_id, message.user_id, {"flow": FLOW, "options": options}
    )
    choices = tuple(Choice(d, PAYLOAD + d) for d in options)
    return [Reply(f"“{name[:20]}”可能是以下部门，请选择：", choices=choices)]


async def on_button(services: Services, message: Incoming, payload: str) -> list[Reply]:
    """A department button was pressed."""
    dept = payload.removeprefix(PAYLOAD)
    if dept not in services.kb.departments:
        return [Reply(f"这个选项已失效。{USAGE}")]
    return await bind(services, message, dept)


async def on_text(
    services: Services, message: Incoming, state: State, addressed: bool
) -> list[Reply]:
    """While choosing among departments: a number picks one, other words are looked up again."""
    options = [str(o) for o in state.get("options") or []]
    word = normalize(message.text)
    if word.isdigit() and 1 <= int(word) <= len(options):
        return await bind(services, message, options[int(word) - 1])
    if word in options:
        return await bind(services, message, word)
    if not addressed:
        return []
    await services.storage.set_state(message.channel, message.chat_id, message.user_id, None)
    if word in ("取消", "算了"):
        return [Reply("已取消绑定。")]
    return await resolve(services, message, word)


async def bind(services: Services, message: Incoming, dept_id: str) -> list[Reply]:
    """Store the binding and confirm it with the department's indicators."""
    problem = bind_problem(services.kb.departments[dept_id])
    if problem:
        return [Reply(problem)]
    storage = services.storage
    before = await storage.liaison(message.channel, message.user_id, services.plan.id)
    await storage.bind(actor(message), services.plan.id, dept_id)
    await storage.set_state(message.channel, message.chat_id, message.user_id, None)
    head = f"已绑定：{services.plan.county}{dept_id}。"
    if before is not None and before.department != dept_id:
        head = f"已从{before.department}改为{dept_id}。"
    return [Reply("\n".join([head, *_duties(services, dept_id)]))]


def _duties(services: Services, dept_id: str) -> list[str]:
    indicators = services.indicators(dept_id)
    if not indicators:
        return ["本方案没有点名本部门的指标，暂无自评题目。"]
    total = sum(i.points for i in indicators if i.scored)
    points = f"（共{num(total)}分）" if total else ""
    lines = [f"本部门涉及{len(indicators)}项指标{points}："]
    lines += [f"· {i.id} {i.label}" for i in indicators[:MAX_LISTED]]
    if len(indicators) > MAX_LISTED:
        lines.append(f"…等{len(indicators)}项")
    count = len(services.questions(dept_id))
    lines.append(f"发送“自评”开始自评，共{count}题。")
    return lines
