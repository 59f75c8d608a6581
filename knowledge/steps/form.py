"""Step 1b (after number): the 申请表 and the plan's own people and obligations, asked as a liaison asks them.

Kinds recognised (the first that fits answers):
  estimate    我们县现在估计能得多少分 — where to see the estimate (/progress, 自评)
  members     专班里统计局的成员是谁 — the plan's 领导小组 / 专班 lines naming a department
  materials   统计局要交什么材料、什么时候交 — the plan's dated hand-ins, the 申请表 rows it fills
  reported    研发投入占GDP比重算不算分 — a 基本情况 row: reported, not scored, who usually provides it
"""

from __future__ import annotations

import re

from knowledge import answers
from knowledge.forms import FormItem
from knowledge.query import Answer, Intent, Kind, Query, Scope
from knowledge.steps.common import levels, trusted_hits
from knowledge.text import normalize

FORM_SYSTEM = "shandong"
_SHORT = 24  # characters: a longer message describing the county's numbers asks about an indicator  # the 申请表 is the Shandong system's
_ESTIMATE = re.compile(
    r"(估计|预计|估算|大概|大约|现在|目前|当前|能|可以).{0,6}(得|拿|考|打)(多少|几)分|估分|自评.{0,4}(得分|多少分)|"
    r"(our|my) (county|current).{0,12}(score|points)|estimated? (score|points)"
)
_OUR_COUNTY = re.compile(r"我们县|我县|本县|咱们县|咱县|县里|全县|我们区|我区|本区|全区|我们|our county|we\b")
_BODY = re.compile(r"专班|领导小组|工作小组|task force|leading group")
_WHO = re.compile(r"成员|是谁|谁|哪位|名单|人员|who|member")
_HAND_IN = re.compile(r"交|材料|报送|submit|hand in|materials?")
_DATED_HAND_IN = re.compile(r"申请表|材料|总结|报送")
_SCORED = re.compile(r"算不算分|算分|计分|有分|有没有分|得分|加分|占分|几分|多少分|分值|scored?|points?")
_YES_NO = re.compile(r"吗|么|算不算|有没有|是不是|是否|会不会|能不能|^(is|does|do|are|can)\b")
_PROVIDES = re.compile(r"谁提供|谁填|谁来填|谁报|哪个部门|哪个单位|谁负责|谁出|提供|填报|who")
_ASK_WORDS = re.compile(r"什么时候|啥时候|何时|截止|材料|要交|交什么|报什么|提交|报送|是谁|成员|算不算|不算|算分|计分|有分|得分|加分|分值|有没有|是否|会不会|提供|填报|数据|部门|单位|谁|申请表|基本情况|里|中")


def answer(query: Query, scope: Scope) -> Answer | None:
    """An answer from the 申请表 or the plan's people, when the question is of one of the kinds above."""
    return _estimate(query, scope) or _members(query, scope) or _materials(query, scope) or _reported(query, scope)


def _estimate(query: Query, scope: Scope) -> Answer | None:
    """我们县现在估计能得多少分: the score comes from the self-assessment, not from the documents."""
    text = query.text
    if len(text) > _SHORT or not _ESTIMATE.search(text) or not _OUR_COUNTY.search(text) and "估" not in text:
        return None
    if query.number is not None or levels(query, scope) or trusted_hits(query, scope, strict=True):
        return None
    return Answer(query.raw, Kind.FRAMEWORK, Intent.POINTS, answers.ESTIMATE, framework=scope.framework)


def _named_departments(query: Query) -> list[str]:
    return [str(v) for _, v in query.library.vocab.department_names.find(query.text)]


def _members(query: Query, scope: Scope) -> Answer | None:
    """专班里统计局的成员是谁: the lines of the plan's body that name the department."""
    body_word = _BODY.search(query.text)
    named = _named_departments(query)
    if body_word is None or not named or not _WHO.search(query.text):
        return None
    bodies = query.library.bodies.get(scope.plan, [])
    wanted = "task_force" if body_word.group(0) in ("专班", "task force") else "leading_group"
    body = next((b for b in bodies if b.key == wanted), None)
    if body is None:
        return None
    library = query.library
    people = body.of_department(named[0], lambda t: [str(v) for _, v in library.vocab.department_names.find(t)])
    plan = library.kb.plans[scope.plan]
    dept = library.kb.departments[named[0]].name
    text = answers.body_members(plan.county, body.name, dept, people)
    return Answer(query.raw, Kind.FRAMEWORK, Intent.LOOKUP, text, framework=plan.framework, department=named[0])


def _materials(query: Query, scope: Scope) -> Answer | None:
    """统计局要交什么材料、什么时候交: the department's hand-ins, when the question names no indicator."""
    named = _named_departments(query)
    if not named or query.intent not in (Intent.EVIDENCE, Intent.DEADLINE) or not _HAND_IN.search(query.text):
        return None
    if query.number is not None or _subject_left(query, [p for p, _ in query.library.vocab.department_names.find(query.text)]):
        return None
    library = query.library
    plan = library.kb.plans[scope.plan]
    dept = named[0]
    dated = [d.text for d in plan.deadlines if _DATED_HAND_IN.search(d.text)]
    rows = library.form.rows_provided_by(dept) if plan.framework == FORM_SYSTEM else []
    count = len(library.responsibility[scope.plan].indicators_of(dept))
    name = library.kb.departments[dept].name
    text = answers.department_materials(plan.county, name, dated, rows, count)
    return Answer(query.raw, Kind.FRAMEWORK, query.intent, text, framework=plan.framework, department=dept)


def _reported(query: Query, scope: Scope) -> Answer | None:
    """研发投入占GDP比重算不算分: a 基本情况 row is reported in the 申请表, not scored."""
    if scope.framework != FORM_SYSTEM:
        return None
    rows = query.library.form.rows_named(query.text)
    if not rows or query.number is not None:
        return None
    scored, provides = bool(_SCORED.search(query.text)), bool(_PROVIDES.search(query.text))
    if not (scored or provides) or _subject_left(query, _names(rows[0])):
        return None
    row = rows[0]
    provider = query.library.kb.departments[row.provider].name if row.provider in query.library.kb.departments else row.provider
    yes_no = scored and bool(_YES_NO.search(query.text))
    text = answers.reported_row(row, query.library.form, yes_no, provider)
    intent = Intent.POINTS if scored else Intent.DATA_SOURCE
    return Answer(query.raw, Kind.FRAMEWORK, intent, text, framework=scope.framework)


def _names(row: FormItem) -> list[str]:
    return [normalize(n) for n in (row.name, *row.aliases) if n]


def _subject_left(query: Query, names: list[str]) -> bool:
    """True when the question still has content words once the names and the asking words are taken out."""
    rest = query.text
    for name in sorted(names, key=len, reverse=True):
        rest = rest.replace(name, " ")
    rest = _ASK_WORDS.sub(" ", rest)
    return bool(query.library.content_words(rest))
