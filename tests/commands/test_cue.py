import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dreamlink.cues import audio
from tests.cues.analysis import decode_morse_runs, dominant_freq, on_runs, rms_db


def _read_runs_csv(path):
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    return rows, np.array([[float(r["on_sec"]), float(r["off_sec"])] for r in rows])


def test_morse_audio_cli_renders_decodable_beeps_at_the_level(run_cli, tmp_path):
    out = tmp_path / "sos.wav"
    code, stdout, stderr = run_cli(
        "cue", "SOS HELP", "--as", "morse-audio", "--unit-ms", "70", "--level-db", "12", "--out", str(out)
    )
    assert code == 0, stderr
    assert "-28.0 dBFS" in stdout
    sig = audio.read_wav(out)
    runs = on_runs(sig.samples, sig.sfreq)
    assert decode_morse_runs(runs) == "SOS HELP"
    i = int(np.argmax(np.diff(runs, axis=1)))  # a dash
    seg = sig.samples[int((runs[i, 0] + 0.01) * sig.sfreq) : int((runs[i, 1] - 0.01) * sig.sfreq)]
    assert dominant_freq(seg, sig.sfreq) == pytest.approx(600, abs=2)
    assert rms_db(seg) == pytest.approx(-40.0 + 12.0, abs=0.1)  # default reference -40 dBFS + 12 dB


def test_tones_cli_counts_and_calibrated_level(run_cli, tmp_path):
    cal = tmp_path / "cal.json"
    cal.write_text(json.dumps({"subject": "sub-01", "thresholds_dbfs": {"audio": -55.0}}))
    out = tmp_path / "three.wav"
    code, _, stderr = run_cli(
        "cue", "3", "--as", "tones", "--freq-hz", "440", "--calibration", str(cal), "--level-db", "5",
        "--out", str(out),
    )  # fmt: skip
    assert code == 0, stderr
    sig = audio.read_wav(out)
    runs = on_runs(sig.samples, sig.sfreq)
    assert len(runs) == 3
    seg = sig.samples[int((runs[0, 0] + 0.02) * sig.sfreq) : int((runs[0, 1] - 0.02) * sig.sfreq)]
    assert dominant_freq(seg, sig.sfreq) == pytest.approx(440, abs=2)
    assert rms_db(seg) == pytest.approx(-50.0, abs=0.15)


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_speech_cli(run_cli, tmp_path):
    out = tmp_path / "prompt.wav"
    code, stdout, stderr = run_cli("cue", "you are dreaming", "--as", "speech", "--out", str(out))
    assert code == 0, stderr
    sig = audio.read_wav(out)
    assert 0.6 < sig.duration < 3.0
    assert audio.active_rms_dbfs(sig.samples, sig.sfreq) == pytest.approx(-40.0, abs=0.3)


@pytest.mark.parametrize(("kind", "modality"), [("morse-light", "light"), ("morse-vibration", "vibration")])
def test_light_and_vibration_cli_write_on_off_times(run_cli, tmp_path, kind, modality):
    out = tmp_path / "cue.csv"
    code, _, stderr = run_cli("cue", "LUCID", "--as", kind, "--unit-ms", "200", "--out", str(out))
    assert code == 0, stderr
    rows, runs = _read_runs_csv(out)
    assert decode_morse_runs(runs) == "LUCID"
    assert runs[0, 0] == 0.0
    assert np.diff(runs, axis=1).ravel() == pytest.approx(
        [0.2 if d < 0.4 else 0.6 for d in np.diff(runs, axis=1).ravel()]
    )
    assert {r["modality"] for r in rows} == {modality}
    assert {r["level_255"] for r in rows} == {"25"}


def test_buzzes_count(run_cli, tmp_path):
    out = tmp_path / "b.csv"
    assert run_cli("cue", "4", "--as", "buzzes", "--level-db", "6", "--out", str(out))[0] == 0
    rows, runs = _read_runs_csv(out)
    assert len(rows) == 4 and {r["level_255"] for r in rows} == {str(int(255 * 10 ** (-14 / 20)))}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["hi", "--as", "speech", "--level-db", "31"], "refused: level +31.0 dB exceeds the audio cap +30"),
        (["SOS", "--as", "morse-light", "--level-db", "20.5"], "exceeds the light cap +20.0 dB"),
        (["hi", "--as", "speech", "--level-db", "30"], "refused: audio would clip"),
        (["hi", "--as", "speech", "--level-db", "nan"], "not a finite number"),
        (["S#S", "--as", "morse-audio"], "no Morse code for '#'"),
        (["SOS", "--as", "morse-audio", "--unit-ms", "5"], "unit must be 20-2000 ms"),
        (["99", "--as", "tones"], "counts must be 1-20"),
        (["missing.wav", "--as", "wav"], "WAV file not found"),
        (["hi", "--as", "speech", "--calibration", "/nonexistent/cal.json"], "calibration file not found"),
    ],
)
def test_bad_input_is_one_clear_error_and_nothing_written(run_cli, tmp_path, args, message):
    out = tmp_path / "out.wav" if "morse-light" not in args else tmp_path / "out.csv"
    code, stdout, stderr = run_cli("cue", *args, "--out", str(out))
    assert code == 2
    assert stderr.startswith("error: ") and message in stderr
    assert "Traceback" not in stderr and len(stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_wrong_extension_is_explained(run_cli, tmp_path):
    code, _, stderr = run_cli("cue", "SOS", "--as", "morse-light", "--out", str(tmp_path / "x.wav"))
    assert code == 2 and "written as .csv" in stderr
    code, _, stderr = run_cli("cue", "SOS", "--as", "morse-audio", "--out", str(tmp_path / "x.csv"))
    assert code == 2 and "written as .wav" in stderr


def test_play_without_a_sound_card_is_a_clear_error(run_cli, tmp_path):
    import sounddevice as sd

    try:
        sd.query_devices(kind="output")
        pytest.skip("this machine has a sound output device")
    except sd.PortAudioError:
        pass
    out = tmp_path / "t.wav"
    code, stdout, stderr = run_cli("cue", "2", "--as", "tones", "--out", str(out), "--play")
    assert code == 2 and "no sound output device" in stderr and "--out" in stderr
    assert out.exists()  # the rendering was still written


def test_cli_subprocess_and_help():
    exe = Path(sys.executable).with_name("dreamlink")
    proc = subprocess.run([exe, "cue", "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "dreamlink cue" in proc.stdout and "-40 dBFS" in proc.stdout


def test_serial_option_sends_the_same_pulses_as_the_csv(run_cli, tmp_path):
    from tests.cues.test_serial import FakeDevice

    device = FakeDevice()
    try:
        out = tmp_path / "v.csv"
        code, _, stderr = run_cli(
            "cue", "2", "--as", "buzzes", "--unit-ms", "40", "--out", str(out), "--serial", device.port
        )
    finally:
        device.close()
    assert code == 0, stderr
    rows, runs = _read_runs_csv(out)
    sent = [ln.decode() for _, ln in device.lines if ln.startswith(b"V")]
    assert sent == [
        f"V {r['level_255']} {round((b - a) * 1000)}" for r, (a, b) in zip(rows, runs, strict=True)
    ]


def test_serial_option_without_a_device(run_cli, tmp_path):
    code, _, stderr = run_cli(
        "cue", "2", "--as", "flashes", "--out", str(tmp_path / "f.csv"), "--serial", "/dev/no-such-tty"
    )
    assert code == 2 and "cannot open serial cue device" in stderr
