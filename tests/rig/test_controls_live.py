"""Operator controls end to end: dashboard route → real server → WebSocket → a real rig → its cue layer,
and the rig's resulting events (cues, refusals, alarm, design control) back on the server."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from dreamlink.cues.safety import Calibration
from dreamlink.rig.client import Outbox, RigLink
from dreamlink.rig.pipeline import RigPipeline
from dreamlink.server.db import Database
from dreamlink.sources import open_source
from tests.server.helpers import add_users, bearer, login, make_session, server_process

pytestmark = pytest.mark.slow


def test_dashboard_controls_reach_the_rig_and_its_answers_reach_the_server(tmp_path: Path) -> None:
    from dreamlink.hypnogram import Hypnogram
    from dreamlink.io.hypnogram_formats import write_hypnogram_yasa

    hypno = tmp_path / "hypno.txt"
    write_hypnogram_yasa(Hypnogram(np.array(["N2"] * 8)), hypno)  # 4 min
    db = tmp_path / "server.sqlite"
    add_users(db, {"op": "operator", "alice": "dreamer"})
    with server_process(db) as (base, _server):
        tokens = {n: login(base, n) for n in ("op", "alice")}
        sid = make_session(base, tokens["op"], {"alice": "dreamer"}, {"alice": tokens["alice"]})
        op = bearer(tokens["op"])
        url = f"{base}/ui/api/sessions/{sid}/dreamers/alice"
        # before the rig is connected: kept by the server, delivered when the rig connects
        r = httpx.post(f"{url}/control", json={"action": "start"}, headers=op)
        assert r.status_code == 201 and r.json()["forwarded"] is False and r.json()["control_id"] >= 1
        box = Outbox(tmp_path / "rig" / "outbox.sqlite")
        link = RigLink(box, base, sid, tokens["alice"], "alice").start()
        # the sleeper's calibrated audio threshold is -15 dBFS, so the rig's cap is +5 dB (the server,
        # which knows only the default reference, allows up to +30 dB)
        pipe = RigPipeline(
            open_source(f"sim:seed=4,hypnogram={hypno},artefacts=0", speed=12.0),
            box,
            link,
            cue_output="file",
            calibration=Calibration({"audio": -15.0}),
            linger_sec=5.0,
        )
        runner = threading.Thread(target=pipe.run, daemon=True)
        runner.start()
        assert link.connected.wait(20), link.fatal
        time.sleep(1.0)
        r = httpx.post(f"{url}/cue", json={"kind": "tones", "text": "2", "level_db": 3.0}, headers=op)
        assert r.status_code == 201 and r.json()["forwarded"] is True
        r = httpx.post(f"{url}/cue", json={"kind": "tones", "text": "2", "level_db": 10.0}, headers=op)
        assert r.status_code == 201 and r.json()["forwarded"] is True  # within the server's cap...
        r = httpx.post(f"{url}/control", json={"action": "wake_alarm"}, headers=op)
        assert r.status_code == 201 and r.json()["forwarded"] is True
        r = httpx.post(f"{url}/control", json={"action": "abort"}, headers=op)
        assert r.status_code == 201
        time.sleep(0.5)
        r = httpx.post(f"{url}/cue", json={"kind": "tones", "text": "1", "level_db": 0.0}, headers=op)
        assert r.status_code == 201
        runner.join(60)
        assert not runner.is_alive()
        assert link.drain(20)
        link.stop()
        r = httpx.get(f"{base}/sessions/{sid}/dreamers/alice/events?limit=10000", headers=op, timeout=30)
        events = [e for e in r.json() if e["source"].startswith("rig.")]
    box.close()
    kinds = [e["trial_type"] for e in events]
    cues = [e for e in events if e["trial_type"] == "cue"]
    assert [c["data"]["mode"] for c in cues] == ["operator", "alarm"]
    refused = [e for e in events if e["trial_type"] == "cue_refused"]
    # ...but above the rig's calibrated cap: refused by the rig, and the refusal is on the server
    assert [r["data"]["reason"] for r in refused] == ["above_cap", "aborted"]
    assert refused[0]["data"]["level_db"] == 10.0 and "calibrated threshold" in refused[0]["data"]["message"]
    assert "wake_alarm" in kinds and "cue_abort" in kinds
    assert [e["value"] for e in events if e["trial_type"] == "design_control"] == ["start", "abort"]
    server_db = Database(db)
    statuses = [r["status"] for r in server_db.all("SELECT status FROM controls ORDER BY id")]
    server_db.close()
    assert statuses == ["acked"] * 6  # every control the rig obeyed was acknowledged
    assert len([e for e in events if e["trial_type"] == "cue_request"]) == 3
    assert (tmp_path / "rig" / "cues-run01.wav").stat().st_size > 44
