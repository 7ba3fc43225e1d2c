"""The guided tour runs end to end on a short simulated night, without hardware."""

from __future__ import annotations

from dreamlink.events import read_events_tsv
from dreamlink.io.hypnogram_formats import read_hypnogram


def test_demo_tour_writes_every_artefact_and_finds_the_injected_signals(run_cli, tmp_path):
    out = tmp_path / "tour"
    code, stdout, stderr = run_cli("demo", "--no-serve", "--hours", "2.5", "--seed", "7", "--out", str(out))
    assert code == 0, stderr
    for name in ("night.edf", "hypnogram.csv", "events.tsv", "cue_sos.wav", "report.html", "report.pdf"):
        assert (out / name).is_file(), name
    assert "$ dreamlink simulate" in stdout and "$ dreamlink report" in stdout
    staged = read_hypnogram(out / "hypnogram.csv")
    assert staged.n_epochs == 300 and (staged.stages == "R").any()
    found = {(e.trial_type, str(e.value)) for e in read_events_tsv(out / "events.tsv")}
    assert ("lrlr", "LRLR") in found and ("message", "SOS") in found
