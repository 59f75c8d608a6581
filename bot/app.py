"""The one composition point: configuration, knowledge base, librarian, storage and handlers."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bot.config import Config
from bot.storage import Storage
from handlers.dispatch import Dispatcher
from handlers.services import Services
from knowledge.cache import load_librarian
from knowledge.loader import load_knowledge
from knowledge.model import KnowledgeBase
from knowledge.qa import Librarian


@dataclass
class App:
    """Everything a channel needs: call `handler.handle(incoming)`; `await close()` at the end."""

    config: Config
    kb: KnowledgeBase
    librarian: Librarian
    storage: Storage
    handler: Dispatcher

    async def close(self) -> None:
        """Release resources (the database)."""
        await self.storage.close()


async def create_app(
    config: Config, *, kb: KnowledgeBase | None = None, librarian: Librarian | None = None
) -> App:
    """Load the knowledge base once, build the librarian for config.plan, open storage, wire handlers.

    `kb` and `librarian` may be passed in when already built (tests, several apps in one process).
    """
    if kb is None and librarian is None:  # the usual start: the cached index carries the knowledge base
        librarian = await asyncio.to_thread(load_librarian, None, config.plan)
    kb = kb if kb is not None else librarian.kb if librarian is not None else await asyncio.to_thread(load_knowledge)
    plan = kb.plan(config.plan)
    if librarian is None:
        librarian = await asyncio.to_thread(Librarian, kb, plan.id)
    storage = await Storage.open(config.db_path)
    services = Services(kb, plan, librarian, storage, is_admin=config.is_admin)
    return App(config, kb, librarian, storage, Dispatcher(services))
