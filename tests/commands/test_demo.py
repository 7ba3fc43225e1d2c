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


def test_a_new_demo_session_does_not_resume_the_rigs_of_an_earlier_one(tmp_path):
    # What an earlier `make demo` left: the server database and each rig's recording and outbox. A
    # rig finding its recording resumes it, after alice's message had gone: nothing was relayed.
    from dreamlink.commands._demo_session import clear_earlier_session

    folder = tmp_path / "session"
    for name in ("server.sqlite", "server.sqlite-wal", "alice/outbox.sqlite", "bob/recording.edf"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(b"earlier run")
    (folder / "notes.txt").write_text("not the session's: left alone")
    clear_earlier_session(folder)
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]
