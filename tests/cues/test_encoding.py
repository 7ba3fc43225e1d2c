import csv

import numpy as np
import pytest

from dreamlink.cues import audio
from dreamlink.cues.base import Cue, CueRenderError
from dreamlink.cues.encoding import parse_tone_sequence, render_cue
from dreamlink.cues.sinks import CsvSink, WavSink
from tests.cues.analysis import decode_morse_runs, dominant_freq, on_runs, rms_db

SF = 44100


def _to_wav(tmp_path, cue, level_dbfs):
    sink = WavSink(tmp_path / "cue.wav")
    sink.deliver(render_cue(cue, level_dbfs), 0.0)
    sink.close()
    return audio.read_wav(tmp_path / "cue.wav")


@pytest.mark.parametrize(
    ("text", "unit_ms", "freq"),
    [("SOS", 100, 600), ("paris 73", 60, 800), ("DREAM ON", 150, 500), ("Q?", 40, 1000)],
)
def test_morse_audio_decodes_back_from_the_wav(tmp_path, text, unit_ms, freq):
    cue = Cue("morse-audio", text, unit_ms=unit_ms, freq_hz=freq)
    sig = _to_wav(tmp_path, cue, -26.0)
    runs = on_runs(sig.samples, sig.sfreq)
    assert decode_morse_runs(runs) == " ".join(text.upper().split())
    # timing: dots are one unit, dashes three, within 3 ms
    durs = np.diff(runs, axis=1).ravel()
    unit = unit_ms / 1000
    assert np.all((abs(durs - unit) < 0.003) | (abs(durs - 3 * unit) < 0.003))
    # pitch and level of a dash
    i = int(np.argmax(durs))
    seg = sig.samples[int((runs[i, 0] + 0.01) * SF) : int((runs[i, 1] - 0.01) * SF)]
    assert dominant_freq(seg, SF) == pytest.approx(freq, abs=2)
    assert rms_db(seg) == pytest.approx(-26.0, abs=0.1)


@pytest.mark.parametrize("n", [1, 3, 7])
def test_numbers_as_counted_beeps(tmp_path, n):
    sig = _to_wav(tmp_path, Cue("tones", str(n), unit_ms=80), -30.0)
    runs = on_runs(sig.samples, sig.sfreq)
    assert len(runs) == n
    assert np.diff(runs, axis=1).ravel() == pytest.approx([0.16] * n, abs=0.003)
    if n > 1:
        assert np.diff(runs[:, 0]) == pytest.approx([0.4] * (n - 1), abs=0.003)


def test_tone_sequence_plays_its_frequencies_in_order(tmp_path):
    sig = _to_wav(tmp_path, Cue("tones", "440 660:200 880", unit_ms=50), -20.0)
    runs = on_runs(sig.samples, sig.sfreq)
    assert len(runs) == 3
    assert np.diff(runs, axis=1).ravel() == pytest.approx([0.2, 0.2, 0.2], abs=0.004)
    freqs = [dominant_freq(sig.samples[int((a + 0.02) * SF) : int((b - 0.02) * SF)], SF) for a, b in runs]
    assert freqs == pytest.approx([440, 660, 880], abs=2)


@pytest.mark.parametrize("kind", ["morse-light", "morse-vibration"])
def test_morse_light_and_vibration_csv_decode(tmp_path, kind):
    sink = CsvSink(tmp_path / "cue.csv")
    rendering = render_cue(Cue(kind, "HELLO WORLD", unit_ms=250), -20.0)
    sink.deliver(rendering, 12.5)
    sink.close()
    with open(tmp_path / "cue.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    runs = np.array([[float(r["on_sec"]), float(r["off_sec"])] for r in rows])
    assert runs[0, 0] == pytest.approx(12.5)
    assert decode_morse_runs(runs) == "HELLO WORLD"
    assert {r["modality"] for r in rows} == {kind.split("-")[1]}
    assert {int(r["level_255"]) for r in rows} == {25}  # -20 dB of full drive, rounded down


def test_flashes_count(tmp_path):
    rendering = render_cue(Cue("flashes", "4", unit_ms=200), -6.0)
    assert rendering.pulses.intervals[:, 1] == pytest.approx([0.4] * 4)
    assert rendering.pulses.level_255 == int(255 * 10 ** (-6 / 20))


@pytest.mark.parametrize(
    ("cue", "match"),
    [
        (Cue("morse-audio", "a#b"), "no Morse code for '#'"),
        (Cue("morse-audio", "   "), "empty"),
        (Cue("morse-light", "SOS", unit_ms=5), "unit must be 20-2000 ms"),
        (Cue("tones", "0"), "counts must be 1-20"),
        (Cue("tones", "25"), "counts must be 1-20"),
        (Cue("tones", "440 hello"), "cannot read tone 'hello'"),
        (Cue("tones", "5 30000"), "20-20000 Hz"),
        (Cue("flashes", "many"), "need a count"),
        (Cue("wav", "/nonexistent/file.wav"), "not found"),
    ],
)
def test_bad_cues_name_the_problem(cue, match):
    with pytest.raises(Exception, match=match) as info:
        render_cue(cue, -30.0)
    from dreamlink.errors import DreamlinkError

    assert isinstance(info.value, DreamlinkError)


def test_unknown_kind_and_requester():
    with pytest.raises(CueRenderError, match="unknown cue kind 'smell'"):
        Cue("smell", "x")
    with pytest.raises(CueRenderError, match="unknown requester"):
        Cue("tones", "1", requester="someone")


def test_wav_cue_is_resampled_and_set_to_level(tmp_path):
    x = audio.tone(1000, 0.5, sfreq=16000, rms=0.3)
    audio.write_wav(tmp_path / "in.wav", audio.AudioSignal(x, 16000.0))
    sig = render_cue(Cue("wav", str(tmp_path / "in.wav")), -35.0).audio
    assert sig.sfreq == SF
    assert dominant_freq(sig.samples, SF) == pytest.approx(1000, abs=2)
    assert audio.active_rms_dbfs(sig.samples, SF) == pytest.approx(-35.0, abs=0.1)


def test_parse_tone_sequence_default_lengths():
    assert parse_tone_sequence("440,550:120", 50) == [(440.0, 0.2), (550.0, 0.12)]
