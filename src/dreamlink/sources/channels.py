"""Channel bookkeeping shared by every source: type inference, picking, renaming, resampling.

* :func:`infer_channel_type` guesses a channel's type from its label (``EOG``, ``E1``, ``LOC`` → eog;
  ``EMG``, ``Chin`` → emg; ``ECG``/``EKG`` → ecg; respiration, SpO2, position... → misc; else eeg).
  Many EDF files mark every channel as EEG; sources use this when the file or device gives no types.
* :func:`select_channels` resolves ``picks`` and ``rename`` against a channel list, with fix-it errors.
* :class:`BlockResampler` resamples a long recording **block by block** with a polyphase FIR filter
  (:func:`scipy.signal.resample_poly`, Kaiser window β = 5), reading enough neighbouring samples around
  each block that the output equals, to floating-point precision, resampling the whole recording at
  once. A night never has to be in memory, and the result does not depend on the chunk sizes asked for.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction

import numpy as np

from dreamlink.errors import ChannelError, SamplingRateError

_TYPE_TOKENS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("eog", ("EOG", "HEOG", "VEOG", "LOC", "ROC", "E1", "E2", "LEOG", "REOG", "EOGL", "EOGR")),
    ("emg", ("EMG", "CHIN", "CHIN1", "CHIN2", "SUBMENTAL", "LEG", "TIBIALIS", "LAT", "RAT")),
    ("ecg", ("ECG", "EKG", "ECG1", "ECG2", "EKG1", "EKG2")),
    (
        "misc",
        (
            "RESP", "FLOW", "AIRFLOW", "NAF", "NAF1", "NAF2", "THOR", "THORAX", "ABD", "ABDO", "ABDOMEN",
            "VAB", "VTH", "SAO2", "SPO2", "PR", "PULSE", "PLETH", "POS", "POSITION", "TEMP", "LIGHT",
            "PHONO", "SNORE", "HYPNOGRAM", "EVENT", "MARKER", "HR", "BODY",
        ),
    ),
)

_TOKEN_SPLIT = re.compile(r"[^A-Za-z0-9]+")


def infer_channel_type(name: str) -> str:
    """Guess the type of a channel from its label.

    Parameters
    ----------
    name : str
        Channel label, e.g. ``"E1-M2"``, ``"EOG horizontal"``, ``"EMG submental"``, ``"C4-M1"``.

    Returns
    -------
    str
        ``"eog"``, ``"emg"``, ``"ecg"``, ``"misc"`` (respiration, oximetry, position, hypnogram...)
        or ``"eeg"`` (the default).

    Notes
    -----
    The label is split into alphanumeric tokens and each token is compared with known names; tokens
    starting with ``EOG``/``EMG``/``ECG``/``EKG`` (``EOG1``, ``EMG2``...) count too. The first token that
    matches decides, so ``"EEG Fpz-Cz"`` is eeg and ``"EOG EOG1"`` is eog.
    """
    tokens = [t.upper() for t in _TOKEN_SPLIT.split(name) if t]
    for token in tokens:
        if token == "EEG":
            return "eeg"
        for ch_type, names in _TYPE_TOKENS:
            if token in names:
                return ch_type
            if ch_type in ("eog", "emg", "ecg") and any(
                token.startswith(prefix) and token[len(prefix):].isdigit()
                for prefix in names[:1] + (("EKG",) if ch_type == "ecg" else ())
            ):
                return ch_type
    return "eeg"


def infer_channel_types(ch_names: Sequence[str], given: Sequence[str] | None = None) -> list[str]:
    """Channel types from names, unless ``given`` already carries information.

    Parameters
    ----------
    ch_names : sequence of str
        Channel labels.
    given : sequence of str | None
        Types reported by the file or device. When they are all ``"eeg"`` (what many EDF files and
        readers say for every channel) or absent, types are inferred from the names instead.

    Returns
    -------
    list of str
        One type per channel.
    """
    if given is not None and any(t != "eeg" for t in given):
        return list(given)
    return [infer_channel_type(n) for n in ch_names]


def parse_name_list(value: str | Sequence[str] | None) -> list[str] | None:
    """Split a channel list given as ``"A;B;C"`` (source strings) or ``"A,B"`` (command line)."""
    if value is None:
        return None
    if isinstance(value, str):
        parts = [p.strip() for p in re.split(r"[;,]", value)]
        return [p for p in parts if p] or None
    return [str(v) for v in value] or None


def parse_rename(value: str | Mapping[str, str] | None) -> dict[str, str]:
    """Parse ``rename`` given as a mapping or as ``"old=new;old2=new2"`` / ``"old>new;..."``."""
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return {str(k): str(v) for k, v in value.items()}
    out: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in re.split(r"[;,]", value))):
        sep = ">" if ">" in part else "="
        if sep not in part:
            raise ChannelError(f"bad rename entry {part!r}: write OLD>NEW pairs separated by ';'")
        old, new = (s.strip() for s in part.split(sep, 1))
        out[old] = new
    return out


def select_channels(
    ch_names: Sequence[str],
    picks: Sequence[str] | None = None,
    rename: Mapping[str, str] | None = None,
) -> tuple[list[int], list[str]]:
    """Resolve picks and renames against the available channels.

    Parameters
    ----------
    ch_names : sequence of str
        Available channels, in order.
    picks : sequence of str | None
        Channel names to keep, in the order wanted (``None``: all). Names after renaming are
        accepted too.
    rename : mapping | None
        ``{old_name: new_name}``.

    Returns
    -------
    indices : list of int
        Row indices into ``ch_names`` of the kept channels.
    names : list of str
        Their names after renaming.

    Raises
    ------
    ChannelError
        A picked or renamed channel does not exist, or renaming creates duplicates.
    """
    rename = dict(rename or {})
    available = list(ch_names)
    unknown = [old for old in rename if old not in available]
    if unknown:
        raise ChannelError(
            f"cannot rename unknown channel(s) {', '.join(unknown)}; available: {', '.join(available)}"
        )
    renamed = [rename.get(n, n) for n in available]
    if picks is None:
        indices = list(range(len(available)))
    else:
        indices = []
        for name in picks:
            if name in available:
                indices.append(available.index(name))
            elif name in renamed:
                indices.append(renamed.index(name))
            else:
                raise ChannelError(
                    f"channel {name!r} not found; available channels: {', '.join(available)}"
                )
        if not indices:
            raise ChannelError("picks is empty: name at least one channel")
    names = [renamed[i] for i in indices]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ChannelError(f"duplicate channel name(s) after picking/renaming: {', '.join(dupes)}")
    return indices, names


def rational_ratio(sfreq_in: float, sfreq_out: float, max_denominator: int = 1000) -> tuple[int, int]:
    """``(up, down)`` with ``sfreq_in * up / down`` equal (or closest) to ``sfreq_out``.

    Raises
    ------
    SamplingRateError
        If the rates are not positive or the best ratio misses the target by more than 0.1 %.
    """
    if not (sfreq_in > 0 and sfreq_out > 0):
        raise SamplingRateError(f"sampling rates must be positive, got {sfreq_in} Hz → {sfreq_out} Hz")
    frac = Fraction(sfreq_out / sfreq_in).limit_denominator(max_denominator)
    up, down = frac.numerator, frac.denominator
    if up == 0 or abs(sfreq_in * up / down - sfreq_out) > 1e-3 * sfreq_out:
        raise SamplingRateError(
            f"cannot resample {sfreq_in} Hz to {sfreq_out} Hz with a simple rational ratio; "
            "choose a rate such as 100, 128, 200 or 256 Hz"
        )
    return up, down


class BlockResampler:
    """Resample a long multichannel signal lazily, one output block at a time.

    Parameters
    ----------
    read : callable
        ``read(start, stop) -> array (n_channels, stop - start)``: input samples (any unit).
    n_in : int
        Number of input samples.
    sfreq_in, sfreq_out : float
        Input and output rates in Hz (their ratio must be a simple fraction, see
        :func:`rational_ratio`).

    Notes
    -----
    Method: polyphase FIR resampling (:func:`scipy.signal.resample_poly`, its default Kaiser window
    with β = 5 and a half-length of ``10 * max(up, down)`` taps). Output block ``[a, b)`` is computed
    from input samples ``[A - P, B + P)``, where ``A`` is a multiple of ``down`` whose image is at or
    before ``a`` and ``P`` (a multiple of ``down``) covers the filter's reach; the extra outputs are cut.
    Because the filter is FIR and the alignment is exact, the result equals ``resample_poly`` of the
    whole signal (up to floating-point rounding), whatever block sizes are asked for. Beyond both ends
    the signal is taken as zero, as ``resample_poly`` does.
    """

    def __init__(
        self,
        read: Callable[[int, int], np.ndarray],
        n_in: int,
        sfreq_in: float,
        sfreq_out: float,
    ) -> None:
        self._read = read
        self.n_in = int(n_in)
        self.up, self.down = rational_ratio(sfreq_in, sfreq_out)
        self.sfreq_out = sfreq_in * self.up / self.down
        half_len = 10 * max(self.up, self.down)
        reach = math.ceil(half_len / self.up) + 2
        self._pad = self.down * math.ceil(reach / self.down)

    @property
    def n_out(self) -> int:
        """Number of output samples (``ceil(n_in * up / down)``, as ``resample_poly``)."""
        return -(-self.n_in * self.up // self.down)

    def get(self, start: int, stop: int) -> np.ndarray:
        """Output samples ``[start, stop)``, shape ``(n_channels, stop - start)``."""
        from scipy.signal import resample_poly

        stop = min(stop, self.n_out)
        if stop <= start:
            probe = self._read(0, 0)
            return np.zeros((probe.shape[0], 0))
        # Input index (multiple of `down`) whose output image is at or before `start`.
        a_in = (start * self.down // self.up) // self.down * self.down
        b_in = min(self.n_in, -(-stop * self.down // self.up) + 1)
        lo = max(0, a_in - self._pad)
        hi = min(self.n_in, b_in + self._pad)
        x = self._read(lo, hi)
        y = resample_poly(x, self.up, self.down, axis=1)
        offset = lo * self.up // self.down  # exact: lo is a multiple of `down`
        return y[:, start - offset : stop - offset]
