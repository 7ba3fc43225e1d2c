"""DistributedHub: two hubs (two 'processes') over a real Redis, in one event loop."""

from __future__ import annotations

import asyncio

import pytest

from dreamlink.server import scaleout
from dreamlink.server.auth import User
from dreamlink.server.hub import Subscriber
from dreamlink.server.scaleout import LOCAL, DistributedHub, RedisBroker


def _user(name: str) -> User:
    import inspect

    params = inspect.signature(User).parameters
    kwargs = {"id": 1, "name": name, "role": "operator"}
    return User(**{k: v for k, v in kwargs.items() if k in params})


async def _settle(pred, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not pred():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not reached")
        await asyncio.sleep(0.02)


def test_frames_presence_and_sends_cross_hubs(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scaleout, "NODE_TIMEOUT_SEC", 1.5)

    async def main() -> None:
        h1 = DistributedHub(RedisBroker(redis_url, node_id="p1"))
        h2 = DistributedHub(RedisBroker(redis_url, node_id="p2"))
        await h1.start()
        await h2.start()
        sub = Subscriber(_user("op"), "s1", {"alice"})
        h2.subscribe(sub)
        # p2 announces its viewer: p1 forwards the session's frames from then on (and only then)
        await _settle(lambda: h1.remote_watchers("s1") == {"p2"})
        assert h2.remote_watchers("s1") == set()
        # frames published on p1 reach p2's subscriber, in order; other dreamers' frames do not
        for i in range(200):
            h1.publish("s1", "alice", {"type": "event", "i": i})
            h1.publish("s1", "mallory", {"type": "event", "i": -i})
        await _settle(lambda: sub.queue.qsize() == 200)
        got = [sub.queue.get_nowait()[0] for _ in range(200)]
        assert [int(t.split('"i":')[1].split(",")[0].rstrip("}")) for t in got] == list(range(200))

        # the viewer leaves: p1 stops forwarding
        h2.unsubscribe(sub)
        await _settle(lambda: h1.remote_watchers("s1") == set())
        h2.subscribe(sub)
        await _settle(lambda: h1.remote_watchers("s1") == {"p2"})

        # a rig attached on p1 is connected for p2, which can send to it through p1
        received: list[dict] = []

        async def send_a(frame: dict) -> None:
            received.append(frame)

        h1.attach_rig("s1", "alice", send_a)
        await _settle(lambda: h2.rig_connected("s1", "alice"))
        assert h2.rig_owner("s1", "alice") == "p1" and h1.rig_owner("s1", "alice") == LOCAL
        assert await h2.send_to_rig("s1", "alice", {"type": "cue", "text": "HI"})
        assert received == [{"type": "cue", "text": "HI"}]

        # the rig reconnects to p2; p1's late detach must not make it look disconnected
        async def send_b(frame: dict) -> None:
            received.append({"via": "p2", **frame})

        h2.attach_rig("s1", "alice", send_b)
        await _settle(lambda: h1.rig_owner("s1", "alice") == "p2")
        h1.detach_rig("s1", "alice", send_a)
        await asyncio.sleep(0.3)
        assert h1.rig_owner("s1", "alice") == "p2" and h2.rig_owner("s1", "alice") == LOCAL
        assert await h1.send_to_rig("s1", "alice", {"type": "cue", "text": "again"})
        assert received[-1] == {"via": "p2", "type": "cue", "text": "again"}

        # p2 'crashes' (no goodbye): after the node timeout its rig no longer counts on p1
        for task in h2._tasks:
            task.cancel()
        await h2.broker.close()
        assert h1.rig_connected("s1", "alice")
        await asyncio.sleep(scaleout.NODE_TIMEOUT_SEC + 0.3)
        assert not h1.rig_connected("s1", "alice")
        assert not await h1.send_to_rig("s1", "alice", {"type": "cue"})
        await h1.close()

    asyncio.run(main())
