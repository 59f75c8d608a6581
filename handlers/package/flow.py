"""/package: the office builds the 申报材料 zip in chat and gets it back with the short report."""

from __future__ import annotations

import asyncio
import logging

from handlers.core import FileAttachment, Incoming, Reply
from handlers.package.archive import PackageError
from handlers.package.build import build_package, short_report
from handlers.services import Services

log = logging.getLogger(__name__)

# the largest file each channel delivers (Telegram Bot API 50 MB, WeCom 20 MB); others: no limit
SEND_LIMIT = {"telegram": 50 << 20, "wecom_bot": 20 << 20, "wecom_app": 20 << 20}


async def on_package(services: Services, message: Incoming, args: str) -> list[Reply]:
    """/package: build the zip from the stored answers and evidence; reply with it and the report."""
    plan = services.plan
    storage = services.storage
    answers = await storage.plan_answer_rows(plan.id)
    evidence = await storage.evidence(plan.id)
    try:
        package = await asyncio.to_thread(
            build_package, plan, services.framework, answers, evidence, storage.evidence_path,
            services.export_dir / "package",
        )
    except PackageError as problem:
        log.error("package: %s", problem)
        return [Reply(f"申报材料没能生成：{problem}")]
    text = short_report(package)
    limit = SEND_LIMIT.get(message.channel)
    if limit is not None and package.size > limit:
        text += (f"\n压缩包超过本渠道可发送的{limit >> 20} MB，已保存在服务器：{package.path}；"
                 f"也可在服务器上运行 qcbot package --plan {plan.id} --out 目录")
        return [Reply(text, private=True)]
    caption = f"{plan.county}申报材料"
    return [Reply(text, files=(FileAttachment(package.path, "document", caption),), private=True)]
