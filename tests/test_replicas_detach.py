"""A retry acknowledged without the answer detaches the lease: only a push settles it then (issue 15).

The same rules on SQLite, PostgreSQL and the in-process LocalState; value reads that arrive
together are answered by one batched query with each its own value.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from bot.channels.memory import LocalState
from bot.storage import Storage


@pytest.fixture(params=["sqlite", "postgresql", "local"])
async def shared(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "local":
        yield LocalState()
        return
    url = request.getfixturevalue("pg_url") if request.param == "postgresql" else ""
    store = await Storage.open(tmp_path / "q.db", database_url=url)
    yield store
    await store.close()


async def test_a_detached_lease_takes_no_passive_answer_only_a_push(shared: Any) -> None:
    lease = await shared.lease("wecom", "m1", "A", 5.0, "{}")
    assert lease.won and lease.attempts == 1
    assert await shared.detach_lease("wecom", "m1")  # a retry was acknowledged empty
    held = await shared.lease("wecom", "m1", "B", 5.0, "{}")
    assert not held.won and not held.final and held.owner == "A"
    assert not await shared.settle_lease("wecom", "m1", "A", "passive body", 60.0)
    assert await shared.renew_lease("wecom", "m1", "A", 15.0)  # the push may go out
    assert await shared.settle_lease("wecom", "m1", "A", "", 60.0)
    final = await shared.lease("wecom", "m1", "B", 5.0, "{}")
    assert final.final and not final.won and final.answer == ""
    assert not await shared.detach_lease("wecom", "m1")  # final: the retry replays the answer


async def test_a_settled_lease_is_replayed_and_cannot_be_detached(shared: Any) -> None:
    assert (await shared.lease("wecom", "m2", "A", 5.0, "{}")).won
    assert await shared.settle_lease("wecom", "m2", "A", "body", 60.0)
    assert not await shared.detach_lease("wecom", "m2")
    again = await shared.lease("wecom", "m2", "B", 5.0, "{}")
    assert again.final and again.answer == "body" and not again.won


async def test_a_lapsed_detached_lease_is_taken_over_and_answers_passively_again(shared: Any) -> None:
    assert (await shared.lease("wecom", "m3", "A", -1.0, '{"msgid": "m3"}')).won  # lapsed at once
    assert await shared.detach_lease("wecom", "m3")
    assert ("m3", '{"msgid": "m3"}', 1) in await shared.lapsed_leases("wecom")
    taken = await shared.lease("wecom", "m3", "B", 5.0, "{}")
    assert taken.won and taken.owner == "B" and taken.attempts == 2
    assert not await shared.renew_lease("wecom", "m3", "A", 5.0)  # A lost it
    assert await shared.settle_lease("wecom", "m3", "B", "passive body", 60.0)  # the new claim is live


async def test_value_reads_arriving_together_each_get_their_own_value(shared: Any) -> None:
    values = {f"k{i}": f"值{i}" for i in range(40)}
    await shared.share_values("scope", values, 60.0)
    await shared.share_values("other", {"k1": "其他"}, 60.0)
    keys = [*values, "missing", "k1"]
    found = await asyncio.gather(*(shared.shared_value("scope", key) for key in keys))
    assert found == [*values.values(), None, "值1"]
    assert await shared.shared_value("other", "k1") == "其他"
