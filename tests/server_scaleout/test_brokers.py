"""The broker layer against a real Redis (and the in-process broker through the same tests)."""

from __future__ import annotations

import asyncio

import pytest

from dreamlink.errors import ConfigError
from dreamlink.server.scaleout import LocalBroker, LocalBus, RedisBroker, broker_from_url


def _pair(kind: str, redis_url: str):
    if kind == "redis":
        return RedisBroker(redis_url, node_id="n1"), RedisBroker(redis_url, node_id="n2")
    bus = LocalBus()
    return LocalBroker(bus, node_id="n1"), LocalBroker(bus, node_id="n2")


@pytest.mark.parametrize("kind", ["redis", "local"])
def test_messages_arrive_in_order_without_loss(kind: str, redis_url: str) -> None:
    async def main() -> None:
        a, b = _pair(kind, redis_url)
        got: list[tuple[str, int]] = []
        done = asyncio.Event()

        async def on_b(channel: str, msg: dict) -> None:
            got.append((channel, msg["i"]))
            if len(got) == 2000:
                done.set()

        async def ignore(channel: str, msg: dict) -> None:
            pass

        await a.start(ignore, ["t:all"], [])
        await b.start(on_b, ["t:node:n2"], ["t:s:*"])
        for i in range(1000):
            await a.publish(f"t:s:{i % 3}", {"i": i})
            await a.publish("t:node:n2", {"i": 10_000 + i})
        await a.publish("t:node:n1", {"i": -1})  # not subscribed by b
        await asyncio.wait_for(done.wait(), 20)
        await asyncio.sleep(0.1)
        await a.close()
        await b.close()
        assert len(got) == 2000
        assert [i for _, i in got if i < 10_000] == list(range(1000))
        assert [i for _, i in got if i >= 10_000] == list(range(10_000, 11_000))
        assert {c for c, i in got if i < 10_000} == {"t:s:0", "t:s:1", "t:s:2"}

    asyncio.run(main())


@pytest.mark.parametrize("kind", ["redis", "local"])
def test_presence_compare_and_delete_and_leases(kind: str, redis_url: str) -> None:
    async def main() -> None:
        a, b = _pair(kind, redis_url)

        async def ignore(channel: str, msg: dict) -> None:
            pass

        await a.start(ignore, [], ["x:*"])
        await b.start(ignore, [], ["x:*"])
        await a.claim(f"t-{kind}", "s1\x1falice", "n1|1")
        await b.claim(f"t-{kind}", "s1\x1falice", "n2|7")  # the rig moved to n2
        assert not await a.release(f"t-{kind}", "s1\x1falice", "n1|1")  # n1's late detach must not erase n2's
        assert await a.entries(f"t-{kind}") == {"s1\x1falice": "n2|7"}
        assert await b.release(f"t-{kind}", "s1\x1falice", "n2|7")
        assert await b.entries(f"t-{kind}") == {}
        lease = f"sweep-{kind}"
        assert await a.try_lock(lease, 0.3)
        assert await a.try_lock(lease, 0.3)  # the holder extends
        assert not await b.try_lock(lease, 0.3)
        await asyncio.sleep(0.45)
        assert await b.try_lock(lease, 0.3)  # expired: the other process takes over
        await a.close()
        await b.close()

    asyncio.run(main())


def test_broker_urls() -> None:
    assert isinstance(broker_from_url("redis://127.0.0.1:6379/0"), RedisBroker)
    assert isinstance(broker_from_url(None), LocalBroker)
    with pytest.raises(ConfigError, match="redis://HOST:PORT/DB"):
        broker_from_url("kafka://x")


def test_unreachable_redis_is_a_clear_error() -> None:
    from tests.server_scaleout.conftest import free_port

    async def main() -> None:
        async def ignore(channel: str, msg: dict) -> None:
            pass

        with pytest.raises(ConfigError, match="cannot reach the Redis broker"):
            await RedisBroker(f"redis://127.0.0.1:{free_port()}/0").start(ignore, ["a"], [])

    asyncio.run(main())
