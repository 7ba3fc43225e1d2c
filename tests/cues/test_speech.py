import numpy as np
import pytest

from dreamlink.cues import audio
from dreamlink.cues.base import Cue, CueRenderError
from dreamlink.cues.encoding import render_cue
from dreamlink.cues.sinks import WavSink
from dreamlink.cues.speech import SpeechEngineError, find_espeak, synthesize

pytestmark = pytest.mark.skipif(
    not any(__import__("shutil").which(n) for n in ("espeak-ng", "espeak")),
    reason="espeak-ng is not installed (apt-get install espeak-ng)",
)


def _voiced_f0(x: np.ndarray, sfreq: float) -> list[float]:
    """F0 (Hz) of clearly periodic 40-ms frames, by autocorrelation."""
    n = int(0.04 * sfreq)
    lo, hi = int(sfreq / 400), int(sfreq / 60)
    f0 = []
    for i in range(0, x.size - n, n):
        fr = x[i : i + n] - x[i : i + n].mean()
        if np.sqrt(np.mean(fr**2)) < 0.3 * np.sqrt(np.mean(x**2)):
            continue
        ac = np.correlate(fr, fr, "full")[n - 1 :]
        lag = lo + int(np.argmax(ac[lo:hi]))
        if ac[lag] > 0.5 * ac[0]:
            f0.append(sfreq / lag)
    return f0


def test_speech_wav_is_real_speech(tmp_path):
    rendering = render_cue(Cue("speech", "you are dreaming now"), -30.0)
    sink = WavSink(tmp_path / "s.wav")
    sink.deliver(rendering, 0.0)
    sink.close()
    sig = audio.read_wav(tmp_path / "s.wav")
    x, sf = sig.samples, sig.sfreq
    # plausible duration for 4 words at 150 wpm (1.6 s of words, plus pauses)
    assert 0.8 < sig.duration < 4.0
    # not silent, at the requested active level
    assert audio.active_rms_dbfs(x, sf) == pytest.approx(-30.0, abs=0.3)
    # energy in the speech band 100-4000 Hz
    spec = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(x.size, 1 / sf)
    assert spec[(f >= 100) & (f <= 4000)].sum() / spec.sum() > 0.85
    # voiced frames with a voice-like pitch (espeak's default male voice ~ 100-200 Hz)
    f0 = _voiced_f0(x, sf)
    assert len(f0) >= 5
    assert 70 < np.median(f0) < 300
    # silent gaps between words: the envelope varies like speech, not like a steady tone
    frames = x[: x.size // 882 * 882].reshape(-1, 882)
    level = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    assert level.max() - np.percentile(level, 10) > 25


def test_longer_text_takes_longer_and_rate_matters():
    short = synthesize("hello")
    long = synthesize("hello, this is a longer sentence for the dreamer")
    slow = synthesize("hello, this is a longer sentence for the dreamer", rate_wpm=100)
    assert long.duration > 2 * short.duration
    assert slow.duration > 1.3 * long.duration


def test_speech_bad_input():
    with pytest.raises(CueRenderError, match="empty"):
        synthesize("   ")
    with pytest.raises(CueRenderError, match="80-450"):
        synthesize("hi", rate_wpm=10)
    with pytest.raises(SpeechEngineError, match="espeak-ng --voices"):
        synthesize("hi", voice="zz-nonexistent")


def test_missing_engine_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SpeechEngineError, match="apt-get install espeak-ng"):
        find_espeak()
