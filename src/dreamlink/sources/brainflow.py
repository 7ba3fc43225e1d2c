"""A BrainFlow board as a source: ``brainflow:BOARD_ID[:key=value,...]``.

BrainFlow (https://brainflow.org) drives many EEG boards (OpenBCI Cyton/Ganglion, Muse, ...) behind one
``BoardShim``; its synthetic board (``-1``) and playback-file board (``-3``) sit behind the same API, which
is what makes this module testable without hardware.

* Keys of the source string map to ``BrainFlowInputParams`` fields (``serial_port``, ``ip_address``,
  ``ip_port``, ``ip_protocol``, ``mac_address``, ``serial_number``, ``file``, ``master_board``,
  ``timeout``, ``other_info``...). dreamlink's own keys: ``names`` (``;``-separated channel names,
  types inferred from them), ``picks`` (``;``-separated), ``stall_timeout`` (seconds without data before
  the board counts as gone, default 5).
* Channels: the board's ExG rows (union of its eeg/eog/emg/ecg channel lists from
  ``BoardShim.get_board_descr``), named from its ``eeg_names`` when present. A row listed only as eog,
  emg or ecg gets that type; general-purpose rows that BrainFlow lists under several types are eeg
  (rename them with ``names=`` to get eog/emg types inferred from the names).
* Units: BrainFlow delivers ExG in µV; this module converts to volts (the one place it does).
* A board that cannot be opened raises :class:`~dreamlink.errors.DeviceError` with a fix-it line; a board
  that stops delivering for ``stall_timeout`` seconds raises :class:`DeviceError` (the playback board
  ends cleanly instead), so a read never hangs.
* BrainFlow's own logger is silenced unless dreamlink's logger is at DEBUG level.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from dreamlink.errors import DeviceError, SourceError
from dreamlink.sources.base import Source, SourceInfo
from dreamlink.sources.channels import infer_channel_types, parse_name_list, select_channels

logger = logging.getLogger("dreamlink.sources.brainflow")

#: BrainFlow board ids that take their channel layout from ``master_board``.
_META_BOARDS = {-2: "streaming", -3: "playback file"}
SYNTHETIC_BOARD = -1
PLAYBACK_FILE_BOARD = -3

_INT_PARAMS = {"ip_port", "ip_port_aux", "ip_port_anc", "ip_protocol", "timeout", "master_board"}
_OWN_KEYS = {"names", "picks", "stall_timeout", "ring_size"}


def _quiet_brainflow() -> None:
    from brainflow.board_shim import BoardShim

    if logging.getLogger("dreamlink").getEffectiveLevel() <= logging.DEBUG:
        BoardShim.enable_dev_board_logger()
    else:
        BoardShim.disable_board_logger()


def input_params(params: Mapping[str, Any]) -> Any:
    """Build ``BrainFlowInputParams`` from ``key=value`` pairs, with fix-it errors for unknown keys."""
    from brainflow.board_shim import BrainFlowInputParams

    bf = BrainFlowInputParams()
    allowed = sorted(k for k in vars(bf) if not k.startswith("_"))
    for key, value in params.items():
        if key not in allowed:
            raise SourceError(
                f"unknown BrainFlow parameter {key!r}; accepted: {', '.join(allowed + sorted(_OWN_KEYS))}"
            )
        if key in _INT_PARAMS:
            try:
                value = int(value)
            except (TypeError, ValueError) as err:
                raise SourceError(f"BrainFlow parameter {key} must be an integer, got {value!r}") from err
        setattr(bf, key, value if key in _INT_PARAMS else str(value))
    return bf


def board_layout(
    board_id: int, master_board: int | None = None
) -> tuple[list[int], list[str], list[str], float]:
    """ExG rows, default names, types and sampling rate (Hz) of a BrainFlow board.

    Raises
    ------
    SourceError
        Unknown board id, or a meta board (playback/streaming) without ``master_board``.
    """
    from brainflow.board_shim import BoardShim, BrainFlowError

    descr_id = board_id
    if board_id in _META_BOARDS:
        if master_board is None or master_board in _META_BOARDS:
            raise SourceError(
                f"the BrainFlow {_META_BOARDS[board_id]} board needs master_board=ID "
                f"(the board that produced the data), e.g. brainflow:{board_id}:file=data.csv,master_board=-1"
            )
        descr_id = int(master_board)
    try:
        descr = BoardShim.get_board_descr(descr_id)
    except BrainFlowError as err:
        raise SourceError(
            f"unknown BrainFlow board id {descr_id}; run `dreamlink sys-info` for the ids "
            "(-1 = synthetic board)"
        ) from err
    kinds = {k: set(descr.get(f"{k}_channels", [])) for k in ("eeg", "eog", "emg", "ecg")}
    rows = sorted(set().union(*kinds.values()))
    if not rows:
        raise SourceError(f"BrainFlow board {descr_id} ({descr.get('name')}) has no EEG/EOG/EMG/ECG channels")
    eeg_rows = sorted(kinds["eeg"])
    eeg_names = [n.strip() for n in str(descr.get("eeg_names", "")).split(",") if n.strip()]
    names_by_row = dict(zip(eeg_rows, eeg_names, strict=False)) if len(eeg_names) == len(eeg_rows) else {}
    names = [names_by_row.get(r, f"ch{r}") for r in rows]
    types = []
    for r in rows:
        member = [k for k in ("eeg", "eog", "emg", "ecg") if r in kinds[k]]
        types.append("eeg" if "eeg" in member or not member else member[0])
    return rows, names, types, float(descr["sampling_rate"])


class BrainFlowSource(Source):
    """Samples from a BrainFlow board.

    Parameters
    ----------
    board_id : int
        BrainFlow board id (``-1`` synthetic, ``-3`` playback file, ``0`` Cyton...).
    params : mapping
        ``BrainFlowInputParams`` fields (strings or ints).
    names : sequence of str | None
        Channel names replacing the board's (one per ExG row); types are inferred from them.
    picks : sequence of str | None
        Channels to keep (names after ``names``).
    stall_timeout : float
        Seconds without any sample after which the board counts as gone (s).
    ring_size : int
        BrainFlow's internal ring buffer in samples.
    """

    default_chunk_sec = 0.1

    def __init__(
        self,
        board_id: int,
        params: Mapping[str, Any] | None = None,
        names: Sequence[str] | str | None = None,
        picks: Sequence[str] | str | None = None,
        stall_timeout: float = 5.0,
        ring_size: int = 45000,
    ) -> None:
        super().__init__()
        self.board_id = int(board_id)
        params = dict(params or {})
        self._params = input_params(params)
        master = params.get("master_board")
        rows, default_names, default_types, sfreq = board_layout(
            self.board_id, int(master) if master is not None else None
        )
        names_list = parse_name_list(names)
        if names_list is not None:
            if len(names_list) != len(rows):
                raise SourceError(
                    f"names= gives {len(names_list)} names but board {self.board_id} has {len(rows)} "
                    f"ExG channels ({', '.join(default_names)})"
                )
            ch_names, ch_types = names_list, infer_channel_types(names_list)
        else:
            ch_names, ch_types = default_names, default_types
        indices, kept = select_channels(ch_names, parse_name_list(picks))
        self._rows = [rows[i] for i in indices]
        self.stall_timeout = float(stall_timeout)
        self.ring_size = int(ring_size)
        extra = {"board_id": self.board_id, "rows": list(self._rows)}
        if master is not None:
            extra["master_board"] = int(master)
        self._info = SourceInfo(
            ch_names=tuple(kept),
            ch_types=tuple(ch_types[i] for i in indices),
            sfreq=sfreq,
            name=f"brainflow:{self.board_id}",
            duration=None,
            extra=extra,
        )
        self._board: Any = None
        self._last_data = 0.0
        self._pending = np.zeros((len(self._rows), 0))

    @property
    def info(self) -> SourceInfo:
        return self._info

    def _fix_it(self) -> str:
        p = self._params
        if self.board_id == SYNTHETIC_BOARD:
            return "the synthetic board should always open; reinstall brainflow"
        if self.board_id == PLAYBACK_FILE_BOARD:
            return f"check that file={p.file or '(missing)'} exists and master_board matches the file"
        where = p.serial_port or p.ip_address or p.mac_address or p.serial_number or "(no port given)"
        return (
            f"check that the board is powered on and connected at {where} "
            "(`dreamlink sys-info` lists serial ports), and that no other program holds it"
        )

    def _open(self) -> None:
        from brainflow.board_shim import BoardShim, BrainFlowError

        _quiet_brainflow()
        try:
            board = BoardShim(self.board_id, self._params)
            board.prepare_session()
        except BrainFlowError as err:
            raise DeviceError(
                f"BrainFlow board {self.board_id} did not open ({err}); {self._fix_it()}"
            ) from err
        try:
            board.start_stream(self.ring_size)
        except BrainFlowError as err:
            board.release_session()
            raise DeviceError(
                f"BrainFlow board {self.board_id} opened but did not start streaming ({err}); "
                f"{self._fix_it()}"
            ) from err
        self._board = board
        self._last_data = time.monotonic()
        self._pending = np.zeros((len(self._rows), 0))

    def _close(self) -> None:
        from brainflow.board_shim import BrainFlowError

        board, self._board = self._board, None
        if board is None:
            return
        try:
            if board.is_prepared():
                with contextlib.suppress(BrainFlowError):
                    board.stop_stream()
                board.release_session()
        except BrainFlowError as err:  # closing must not raise over the user's real error
            logger.warning("BrainFlow board %s did not close cleanly: %s", self.board_id, err)

    def _pull(self) -> None:
        from brainflow.board_shim import BrainFlowError

        try:
            count = self._board.get_board_data_count()
            if count:
                data = self._board.get_board_data(count)
                self._pending = np.concatenate([self._pending, data[self._rows] * 1e-6], axis=1)
                self._last_data = time.monotonic()
        except BrainFlowError as err:
            raise DeviceError(f"BrainFlow board {self.board_id} failed while streaming ({err}); "
                              f"{self._fix_it()}") from err

    def _read(self, max_samples: int, timeout: float | None) -> np.ndarray | None:
        deadline = time.monotonic() + (self.stall_timeout if timeout is None else timeout)
        while True:
            if self._pending.shape[1] == 0:
                self._pull()
            if self._pending.shape[1]:
                out, self._pending = self._pending[:, :max_samples], self._pending[:, max_samples:]
                return out
            now = time.monotonic()
            if now - self._last_data > self.stall_timeout:
                if self.board_id == PLAYBACK_FILE_BOARD:
                    return None  # the file has been played to its end
                raise DeviceError(
                    f"BrainFlow board {self.board_id} sent no data for {self.stall_timeout:g} s; "
                    f"{self._fix_it()}"
                )
            if now >= deadline:
                return np.zeros((len(self._rows), 0))
            time.sleep(min(0.005, max(0.0, deadline - now)))


def source_from_uri(target: str, params: Mapping[str, str], **options: Any) -> BrainFlowSource:
    """Create a :class:`BrainFlowSource` from ``brainflow:BOARD_ID[:key=value,...]``.

    ``options`` may carry ``names``, ``picks``, ``stall_timeout`` (and ``speed``, ignored: a board runs
    in real time).
    """
    try:
        board_id = int(target)
    except ValueError as err:
        raise SourceError(
            f"BrainFlow board id must be an integer, got {target!r} "
            "(e.g. brainflow:-1 for the synthetic board)"
        ) from err
    params = dict(params)
    own = {k: params.pop(k) for k in list(params) if k in _OWN_KEYS}
    own.update({k: v for k, v in options.items() if k in _OWN_KEYS})
    unknown = sorted(set(options) - _OWN_KEYS - {"speed"})
    if unknown:
        raise SourceError(f"unknown BrainFlow source option(s) {', '.join(unknown)}")
    return BrainFlowSource(
        board_id,
        params,
        names=own.get("names"),
        picks=own.get("picks"),
        stall_timeout=float(own.get("stall_timeout", 5.0)),
        ring_size=int(own.get("ring_size", 45000)),
    )
