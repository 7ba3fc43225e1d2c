"""`dreamlink sys-info`: versions, devices and streams, including a live LSL stream it must see."""

from __future__ import annotations

import re
import uuid

from dreamlink import __version__
from dreamlink.sources.base import SourceInfo
from dreamlink.sources.lsl_outlet import SignalOutlet


def test_sys_info_lists_versions_devices_and_a_live_stream(run_cli):
    name = f"dreamlink-test-sysinfo-{uuid.uuid4().hex[:12]}"
    info = SourceInfo(("C4-M1", "E1-M2"), ("eeg", "eog"), 256.0)
    with SignalOutlet(info, name):
        code, out, err = run_cli("sys-info", "--lsl-timeout", "1.0")
    assert code == 0, err
    assert re.search(rf"^dreamlink\s+{re.escape(__version__)}$", out, flags=re.M)
    import mne
    import numpy

    assert re.search(rf"^numpy\s+{re.escape(numpy.__version__)}$", out, flags=re.M)
    assert re.search(rf"^mne\s+{re.escape(mne.__version__)}$", out, flags=re.M)
    for dist in ("yasa", "edfio", "mne-bids", "brainflow", "mne-lsl", "pylsl", "click"):
        assert re.search(rf"^{dist}\s+\S", out, flags=re.M), dist
    assert re.search(r"^liblsl \(mne-lsl\) \d+\.\d+", out, flags=re.M)
    assert re.search(r"^liblsl \(pylsl\)", out, flags=re.M)
    assert "-1 synthetic" in out and "-3 playback file" in out
    assert re.search(r"^serial ports", out, flags=re.M)
    assert re.search(r"^sound", out, flags=re.M)
    assert re.search(r"^espeak-ng", out, flags=re.M)
    assert re.search(rf"^\s+{name}\s+type=EEG\s+2 ch\s+256 Hz", out, flags=re.M)
