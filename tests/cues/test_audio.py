import numpy as np
import pytest

from dreamlink.cues import audio
from dreamlink.cues.base import AudioSignal, Cue, CueRenderError, Rendering
from dreamlink.errors import DeviceError, InputFileError, RecordingError
from tests.cues.analysis import dominant_freq, rms_db

SF = 44100


@pytest.mark.parametrize("freq", [250.0, 600.0, 1000.0, 3150.0])
def test_tone_frequency_duration_and_level(freq):
    x = audio.tone(freq, 0.4, sfreq=SF, rms=audio.db_to_amplitude(-30.0))
    assert x.size == round(0.4 * SF)
    assert dominant_freq(x, SF) == pytest.approx(freq, abs=1.0)
    steady = x[int(0.05 * SF) : int(0.35 * SF)]
    assert rms_db(steady) == pytest.approx(-30.0, abs=0.05)
    assert abs(x[0]) < 1e-6 and abs(x[-1]) < 1e-3  # ramped: no click


def test_complex_tone_has_its_fundamental_on_top_and_the_set_rms():
    x = audio.complex_tone([300, 600, 900], 0.5, sfreq=SF, rms=0.05)
    assert dominant_freq(x, SF) == pytest.approx(300, abs=1)
    spec = np.abs(np.fft.rfft(x))
    f = np.fft.rfftfreq(x.size, 1 / SF)
    for h in (600, 900):
        assert spec[np.argmin(abs(f - h))] > 0.2 * spec.max()
    assert rms_db(x[2000:-2000]) == pytest.approx(20 * np.log10(0.05), abs=0.05)


def test_active_level_ignores_silences():
    on = audio.tone(600, 0.2, sfreq=SF, rms=0.1)
    x = np.concatenate([on, np.zeros(SF), on])
    assert audio.active_rms_dbfs(x, SF) == pytest.approx(-20.0, abs=0.3)
    assert audio.rms_dbfs(x) < -24


def test_wav_round_trip(tmp_path):
    x = audio.tone(440, 0.3, sfreq=SF, rms=0.2)
    path = audio.write_wav(tmp_path / "t.wav", AudioSignal(x, SF))
    back = audio.read_wav(path)
    assert back.sfreq == SF
    assert np.max(np.abs(back.samples - x)) < 1.5 / 32768


def test_resample_keeps_frequency():
    x = audio.tone(500, 0.3, sfreq=22050, rms=0.1)
    y = audio.resample(AudioSignal(x, 22050.0), SF)
    assert y.sfreq == SF and y.samples.size == 2 * x.size
    assert dominant_freq(y.samples, SF) == pytest.approx(500, abs=1)


def test_bad_wav_inputs(tmp_path):
    with pytest.raises(InputFileError, match="not found"):
        audio.read_wav(tmp_path / "missing.wav")
    bad = tmp_path / "bad.wav"
    bad.write_text("not audio")
    with pytest.raises(InputFileError, match="not a readable WAV"):
        audio.read_wav(bad)
    with pytest.raises(CueRenderError, match="Nyquist"):
        audio.tone(30000, 0.1, sfreq=SF)
    with pytest.raises(RecordingError, match="writable"):
        audio.write_wav("/proc/forbidden/x.wav", AudioSignal(np.zeros(10), SF))


def test_sound_card_absence_is_a_clear_error():
    import sounddevice as sd

    try:
        sd.query_devices(kind="output")
    except sd.PortAudioError:
        pass
    else:
        pytest.skip("this machine has a sound output device")
    out = audio.SoundDeviceOutput()
    with pytest.raises(DeviceError, match="no sound output device.*--out"):
        out.open()
    rendering = Rendering(Cue("tones", "1"), -40.0, audio=AudioSignal(np.zeros(100), SF))
    with pytest.raises(DeviceError, match="no sound output device"):
        out.deliver(rendering, 0.0)
