"""`qcbot package`: build the 申报材料 zip from the database, as /package does in chat."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path
from typing import Any

from bot.commands.common import EXIT_OK, UsageError, load_kb
from bot.config import Config, ConfigError

EPILOG = """\
示例：
  qcbot package --plan pingyin --out 申报材料
  qcbot package --plan minquan --db /srv/qcbot/qcbot.db --out /tmp/民权

压缩包名为“<县名>申报材料.zip”：申请表.docx（山东省的方案）、按一级/二级指标/指标分文件夹的
证实性材料、材料清单目录.xlsx 和缺项报告.txt。不改动数据库；数据不变时再次生成的文件逐字节相同。"""


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add `package`."""
    package = sub.add_parser(
        "package",
        help="打包申报材料：申请表、证实性材料、材料清单目录、缺项报告（zip）",
        description="从数据库中的答案和证实性材料生成申报材料压缩包，并列出缺答案、缺材料的指标。",
        epilog=EPILOG,
    )
    package.add_argument("--plan", "-p", required=True, help="方案：pingyin、linzi、minquan、jinan")
    package.add_argument("--db", default=None, help="SQLite 数据库文件（默认取配置 QCBOT_DB_PATH）")
    package.add_argument("--out", "-o", type=Path, required=True, metavar="DIR", help="压缩包写入的目录")
    package.set_defaults(handler=cmd_package)


def cmd_package(args: argparse.Namespace) -> int:
    """Build the package and print its path and the short report."""
    kb = load_kb(args)
    plan = kb.plan(args.plan)
    framework = kb.framework(plan.framework)
    db, url = args.db, os.environ.get("QCBOT_DATABASE_URL", "")
    if db is None:
        try:
            config = Config.load()
        except ConfigError as exc:
            raise UsageError(str(exc)) from None
        db, url = config.db_path, config.database_url
    if not url and not Path(db).is_file():
        raise UsageError(f"数据库文件不存在：{db}")
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(message)s")
    package = asyncio.run(_build(plan, framework, Path(db), args.out, url))
    print(package.path)
    print(package.report, end="")
    return EXIT_OK


async def _build(plan: Any, framework: Any, db: Path, out: Path, database_url: str = "") -> Any:
    from bot.storage.store import Storage
    from handlers.package.archive import PackageError
    from handlers.package.build import build_package

    storage = await Storage.open(db, database_url=database_url)  # PostgreSQL when QCBOT_DATABASE_URL names it
    try:
        answers = await storage.plan_answer_rows(plan.id)
        evidence = await storage.evidence(plan.id)
        try:
            return await asyncio.to_thread(
                build_package, plan, framework, answers, evidence, storage.evidence_path, out
            )
        except PackageError as exc:
            raise UsageError(f"申报材料没能生成：{exc}") from None
    finally:
        await storage.close()
