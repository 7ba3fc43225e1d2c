"""Play back a recording (EDF, EDF+, BDF, FIF) as a live source.

:class:`FileSource` opens the file with MNE through :func:`dreamlink.io.edf.read_raw` **without loading
it**: samples are read on demand with ``raw.get_data(start=, stop=)`` in read-ahead blocks (30 s by
default), so an 8-h night never sits in memory. Samples are released at real time × ``speed`` or as fast
as possible (``speed=None``), scheduled against target timestamps by :class:`PacedSource`.

* **Picking and renaming**: ``picks=["C4-M1", "E1-M2"]``, ``rename={"EEG C4": "C4"}``.
* **Channel types**: taken from the file, or inferred from the names
  (:func:`~dreamlink.sources.channels.infer_channel_type`) when the file says eeg for everything.
* **Resampling** on request (``resample=100``): block-wise polyphase FIR
  (:class:`~dreamlink.sources.channels.BlockResampler`), lazy and chunk-consistent — the output equals
  resampling the whole file at once.
* **Mixed per-channel rates** (an EDF whose signals have different samples per record, e.g. DREAMS
  excerpt3.edf: 15 signals at 50 Hz and 5 at 1 Hz): MNE upsamples slow channels to the fastest rate, and
  lazily that rings at record edges. By default dreamlink therefore **drops the channels slower than the
  fastest rate**, logs a warning and lists them in ``info.extra["dropped_channels"]`` (name → Hz). Picking
  a slow channel by name keeps it; the file is then loaded into memory so MNE upsamples it without edge
  artefacts (``info.extra["upsampled_channels"]``).
* **Annotations** of the file are available as :class:`~dreamlink.events.Event` objects
  (:attr:`FileSource.events`), ``trial_type:value`` texts (as dreamlink writes them) split back.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from dreamlink.errors import ChannelError, InputFileError, SourceError
from dreamlink.events import Event
from dreamlink.sources.base import CHANNEL_TYPES, PacedSource, SourceInfo
from dreamlink.sources.channels import (
    BlockResampler,
    infer_channel_types,
    parse_name_list,
    parse_rename,
    select_channels,
)

logger = logging.getLogger("dreamlink.sources.file")

#: Read-ahead block length in seconds (one ``raw.get_data`` call per block).
BLOCK_SEC = 30.0

_MNE_TYPES = {"eeg", "eog", "emg", "ecg", "misc", "stim"}
_TRIAL_TYPE = re.compile(r"^[a-z][a-z0-9_]*$")


def edf_channel_rates(path: str | Path) -> dict[str, float] | None:
    """Per-channel sampling rates (Hz) from an EDF/BDF header, in file order (annotation signals left out).

    Returns ``None`` for other formats or an unreadable header.
    """
    path = Path(path)
    if path.suffix.lower() not in (".edf", ".bdf", ".rec"):
        return None
    try:
        with path.open("rb") as fh:
            head = fh.read(256)
            n_signals = int(head[252:256].decode("ascii").strip())
            record_sec = float(head[244:252].decode("ascii").strip())
            sig = fh.read(256 * n_signals)
        labels = [sig[16 * i : 16 * i + 16].decode("latin-1").strip() for i in range(n_signals)]
        per_record = [int(sig[216 * n_signals + 8 * i : 216 * n_signals + 8 * i + 8]) for i in
                      range(n_signals)]
    except (OSError, ValueError):
        return None
    if record_sec <= 0:
        return None
    return {
        label: n / record_sec
        for label, n in zip(labels, per_record, strict=True)
        if label not in ("EDF Annotations", "BDF Annotations")
    }


def annotation_to_event(onset: float, duration: float, text: str, source: str = "file") -> Event:
    """One file annotation as an :class:`Event`.

    ``"trial_type:value"`` (what :func:`dreamlink.io.edf.event_annotation_text` writes) is split back;
    a bare snake_case word is a ``trial_type``; anything else becomes ``trial_type="annotation"`` with
    the text as ``value``.
    """
    text = text.strip()
    head, sep, tail = text.partition(":")
    if sep and _TRIAL_TYPE.match(head):
        value: str | float | int | None = tail
        for cast in (int, float):
            try:
                value = cast(tail)
                break
            except ValueError:
                continue
        return Event(onset, duration, head, value, source=source)
    if _TRIAL_TYPE.match(text):
        return Event(onset, duration, text, None, source=source)
    return Event(onset, duration, "annotation", text, source=source)


class FileSource(PacedSource):
    """A recording played back as a source.

    Parameters
    ----------
    path : str or Path
        EDF, EDF+, BDF or FIF file.
    speed : float | None
        Real time × ``speed``; ``None`` plays as fast as the consumer reads.
    picks : sequence of str | None
        Channels to keep, in order (names before or after renaming). Default: all channels at the
        file's fastest rate.
    rename : mapping | None
        ``{old: new}`` channel names.
    resample : float | None
        Output rate in Hz (block-wise polyphase FIR; see module notes). ``None`` keeps the file's rate.
    ch_types : mapping | None
        ``{name: type}`` (names after renaming) overriding the file's or inferred types.
    block_sec : float
        Read-ahead block in seconds.

    Raises
    ------
    InputFileError
        Missing, unreadable, truncated or corrupt file.
    ChannelError
        Unknown channel in ``picks`` or ``rename``.
    """

    def __init__(
        self,
        path: str | Path,
        speed: float | None = 1.0,
        picks: Sequence[str] | str | None = None,
        rename: Mapping[str, str] | str | None = None,
        resample: float | None = None,
        ch_types: Mapping[str, str] | None = None,
        block_sec: float = BLOCK_SEC,
    ) -> None:
        from dreamlink.io.edf import read_raw

        super().__init__(speed=speed)
        self.path = Path(path)
        picks_list = parse_name_list(picks)
        rename_map = parse_rename(rename)
        raw = read_raw(self.path, preload=False)
        file_names = list(raw.ch_names)
        extra: dict[str, Any] = {"path": str(self.path), "file_sfreq": float(raw.info["sfreq"])}

        # Mixed per-channel rates: drop channels slower than the fastest unless picked by name.
        rates = edf_channel_rates(self.path)
        slow: dict[str, float] = {}
        if rates is not None and len(rates) == len(file_names):
            fastest = max(rates.values())
            slow = {
                name: rate for name, rate in zip(file_names, rates.values(), strict=True) if rate < fastest
            }
            extra["channel_rates"] = dict(zip(file_names, rates.values(), strict=True))
        wanted_slow: list[str] = []
        if slow:
            if picks_list is None:
                candidates = [n for n in file_names if n not in slow]
                extra["dropped_channels"] = dict(slow)
                logger.warning(
                    "%s mixes sampling rates: dropped %d channel(s) slower than %g Hz (%s); "
                    "pick them by name to keep them upsampled",
                    self.path.name, len(slow), raw.info["sfreq"],
                    ", ".join(f"{n} {r:g} Hz" for n, r in slow.items()),
                )
            else:
                candidates = file_names
            indices, names = select_channels(candidates, picks_list, rename_map)
            indices = [file_names.index(candidates[i]) for i in indices]
            wanted_slow = [file_names[i] for i in indices if file_names[i] in slow]
        else:
            indices, names = select_channels(file_names, picks_list, rename_map)
        if wanted_slow:
            extra["upsampled_channels"] = {n: slow[n] for n in wanted_slow}
            logger.warning(
                "%s: channel(s) %s are upsampled to %g Hz; loading the file into memory to avoid "
                "edge artefacts", self.path.name, ", ".join(wanted_slow), raw.info["sfreq"],
            )
            raw = read_raw(self.path, preload=True)

        file_types = raw.get_channel_types()
        given = [file_types[i] if file_types[i] in _MNE_TYPES else "misc" for i in indices]
        types = infer_channel_types(names, given)
        for name, ch_type in (ch_types or {}).items():
            if name not in names:
                raise ChannelError(f"ch_types names unknown channel {name!r}; channels: {', '.join(names)}")
            if ch_type not in CHANNEL_TYPES:
                raise ChannelError(
                    f"unknown channel type {ch_type!r} for {name}; use one of {', '.join(CHANNEL_TYPES)}"
                )
            types[names.index(name)] = ch_type

        self._raw = raw
        self._picks = indices
        self._n_file = int(raw.n_times)
        file_sfreq = float(raw.info["sfreq"])
        self._resampler: BlockResampler | None = None
        sfreq = file_sfreq
        if resample is not None and abs(float(resample) - file_sfreq) > 1e-9:
            self._resampler = BlockResampler(self._read_file, self._n_file, file_sfreq, float(resample))
            sfreq = self._resampler.sfreq_out
            extra["resample"] = {"from_hz": file_sfreq, "to_hz": sfreq, "method": "polyphase FIR (blockwise)"}
        self._n_total = self._resampler.n_out if self._resampler else self._n_file
        meas = raw.info.get("meas_date")
        self._info = SourceInfo(
            ch_names=tuple(names),
            ch_types=tuple(types),
            sfreq=sfreq,
            name=f"file:{self.path}",
            duration=self._n_total / sfreq,
            meas_date=meas.timestamp() if meas is not None else None,
            extra=extra,
        )
        self._block_len = max(1, int(round(block_sec * sfreq)))
        self._block_start = 0
        self._block = np.zeros((len(indices), 0))
        self._events = self._read_annotations()

    # -- metadata ------------------------------------------------------------------------------
    @property
    def info(self) -> SourceInfo:
        return self._info

    @property
    def n_total(self) -> int:
        return self._n_total

    @property
    def events(self) -> list[Event]:
        """Annotations of the file as events (onset in seconds from the first sample)."""
        return list(self._events)

    def _read_annotations(self) -> list[Event]:
        annots = self._raw.annotations
        offset = self._raw.first_time if annots.orig_time is not None else 0.0
        return [
            annotation_to_event(float(o) - offset, float(d), str(t))
            for o, d, t in zip(annots.onset, annots.duration, annots.description, strict=True)
        ]

    # -- samples -------------------------------------------------------------------------------
    def _read_file(self, start: int, stop: int) -> np.ndarray:
        if stop <= start:
            return np.zeros((len(self._picks), 0))
        try:
            return self._raw.get_data(picks=self._picks, start=start, stop=stop)
        except (OSError, ValueError) as err:
            raise InputFileError(f"{self.path}: cannot read samples {start}..{stop} ({err})") from err

    def _read_out(self, start: int, stop: int) -> np.ndarray:
        if self._resampler is not None:
            return self._resampler.get(start, stop)
        return self._read_file(start, stop)

    def _generate(self, start: int, n: int) -> np.ndarray:
        stop = min(start + n, self._n_total)
        block_end = self._block_start + self._block.shape[1]
        if start >= self._block_start and stop <= block_end:
            a = start - self._block_start
            return self._block[:, a : a + (stop - start)]
        if stop - start >= self._block_len:
            return self._read_out(start, stop)
        self._block_start = start
        self._block = self._read_out(start, min(self._n_total, start + self._block_len))
        return self._block[:, : stop - start]

    def _close(self) -> None:
        super()._close()
        self._block = np.zeros((len(self._picks), 0))
        self._block_start = 0


def _split_inline_params(target: str) -> tuple[str, dict[str, str]]:
    """``PATH:key=value,...`` → (PATH, params) when PATH alone is not an existing file."""
    if Path(target).exists() or ":" not in target:
        return target, {}
    path, _, rest = target.rpartition(":")
    if "=" not in rest:
        return target, {}
    params: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        if "=" not in part:
            raise SourceError(
                f"bad source parameter {part!r} in file:{target}: write key=value pairs separated by commas"
            )
        key, value = part.split("=", 1)
        params[key.strip()] = value.strip()
    return path, params


def _speed(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, str):
        if value.strip().lower() in ("max", "none", "inf"):
            return None
        try:
            value = float(value)
        except ValueError as err:
            raise SourceError(f"speed must be a number or 'max', got {value!r}") from err
    return float(value)


def source_from_uri(target: str, params: Mapping[str, str], **options: Any) -> FileSource:
    """Create a :class:`FileSource` from ``file:PATH[:key=value,...]``.

    Parameters
    ----------
    target : str
        The path (optionally followed by ``:picks=A;B,speed=2,resample=100,rename=OLD>NEW``).
    params : mapping
        Parameters from the source string (``picks``, ``rename``, ``speed``, ``resample``).
    **options
        Keyword options from the caller (``speed=``, ``picks=``...); they override ``params``.
    """
    path, inline = _split_inline_params(target)
    merged: dict[str, Any] = {**inline, **dict(params), **options}
    known = {"speed", "picks", "rename", "resample", "ch_types", "block_sec"}
    unknown = sorted(set(merged) - known)
    if unknown:
        raise SourceError(
            f"unknown file source option(s) {', '.join(unknown)}; accepted: {', '.join(sorted(known))}"
        )
    resample = merged.get("resample")
    if isinstance(resample, str):
        try:
            resample = float(resample)
        except ValueError as err:
            raise SourceError(f"resample must be a rate in Hz, got {resample!r}") from err
    return FileSource(
        path,
        speed=_speed(merged.get("speed", 1.0)),
        picks=merged.get("picks"),
        rename=merged.get("rename"),
        resample=resample,
        ch_types=merged.get("ch_types"),
        block_sec=float(merged.get("block_sec", BLOCK_SEC)),
    )
