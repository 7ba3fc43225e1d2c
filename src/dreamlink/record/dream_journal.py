"""The dream journal: what the dreamer remembers after waking, attached to the recording.

An entry holds the free-text report, whether the cue (sound, light, vibration, message) appeared in
the dream, and a lucidity rating. Entries are appended to ``dream_journal.json`` in the recording
folder (atomically rewritten) and can be turned into an :class:`~dreamlink.events.Event`
(``trial_type="dream_report"``) to send to the session server, which attaches it to the session.

Lucidity is rated on the response scale of the Dream Lucidity Questionnaire (0 = not at all,
1 = just a little, 2 = moderately, 3 = pretty much, 4 = very much) to the question "I was aware
that I was dreaming".

References
----------
Stumbrys T, Erlacher D, Johnson M, Schredl M (2013). The phenomenology of lucid dreaming: an online
survey. Am J Psychol 126(2):191-201. doi:10.5406/amerjpsyc.126.2.0191 (Dream Lucidity Questionnaire,
DLQ; items rated 0-4)
Konkoly KR et al. (2021). Real-time dialogue between experimenters and dreamers during REM sleep.
Curr Biol 31(7):1417-1427. doi:10.1016/j.cub.2021.01.026 (post-awakening reports of perceived cues)
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dreamlink.errors import InputFileError, RecordingError
from dreamlink.events import Event
from dreamlink.record.folder import DREAM_JOURNAL, RecordingFolder, utc_now

#: Labels of the 0-4 lucidity scale.
LUCIDITY_SCALE: dict[int, str] = {
    0: "not at all",
    1: "just a little",
    2: "moderately",
    3: "pretty much",
    4: "very much",
}
#: Accepted answers to "did the cue appear in the dream?".
CUE_ANSWERS: tuple[str, ...] = ("yes", "no", "unsure", "no_cue")
#: Who wrote the entry.
AUTHORS: tuple[str, ...] = ("dreamer", "operator")


@dataclass
class DreamReport:
    """One dream-journal entry.

    Parameters
    ----------
    text : str
        The dream report, in the dreamer's words.
    cue_appeared : {"yes", "no", "unsure", "no_cue"}
        Whether a cue was perceived in the dream (``no_cue``: none was given).
    lucidity : int
        0-4 on the DLQ response scale (see :data:`LUCIDITY_SCALE`).
    author : {"dreamer", "operator"}
        Who wrote the entry.
    awakening : float | None
        Time of the awakening the report belongs to, in seconds from the recording's start.
    cue_description : str
        How the cue appeared (e.g. "the doorbell rang three times").
    written_at : str
        Wall-clock time of writing (UTC, ISO 8601); set automatically.
    session_id : str | None
        The session server's session this night belongs to.
    extra : dict
        Anything else (questionnaire answers...).
    """

    text: str
    cue_appeared: str = "unsure"
    lucidity: int = 0
    author: str = "dreamer"
    awakening: float | None = None
    cue_description: str = ""
    written_at: str = ""
    session_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.text = str(self.text).strip()
        if not self.text:
            raise RecordingError(
                "a dream report needs some text (write 'no recall' if nothing is remembered)"
            )
        answer = str(self.cue_appeared).strip().lower()
        answer = {"true": "yes", "false": "no", "y": "yes", "n": "no", "?": "unsure"}.get(answer, answer)
        if answer not in CUE_ANSWERS:
            raise RecordingError(
                f"cue_appeared must be one of {', '.join(CUE_ANSWERS)}, got {self.cue_appeared!r}"
            )
        self.cue_appeared = answer
        try:
            lucidity = int(self.lucidity)
        except (TypeError, ValueError):
            lucidity = -1
        if lucidity not in LUCIDITY_SCALE or str(self.lucidity).strip() not in (str(lucidity),):
            raise RecordingError(
                "lucidity must be a whole number 0-4 (0 = not at all ... 4 = very much), "
                f"got {self.lucidity!r}"
            )
        self.lucidity = lucidity
        if self.author not in AUTHORS:
            raise RecordingError(f"author must be 'dreamer' or 'operator', got {self.author!r}")
        if not self.written_at:
            self.written_at = utc_now().isoformat()

    @property
    def lucidity_label(self) -> str:
        """Text of the lucidity rating."""
        return LUCIDITY_SCALE[self.lucidity]

    def to_event(self, onset: float | None = None) -> Event:
        """The entry as an event (``trial_type="dream_report"``) for the session server."""
        t = onset if onset is not None else (self.awakening or 0.0)
        return Event(t, 0.0, "dream_report", self.text, None, f"journal.{self.author}", asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DreamReport:
        """Inverse of :func:`dataclasses.asdict`."""
        names = cls.__dataclass_fields__.keys()
        return cls(**{k: v for k, v in data.items() if k in names})


def journal_path(target: str | Path) -> Path:
    """The journal file of a recording folder (or a path to a ``.json`` journal itself)."""
    target = Path(target)
    return target if target.suffix == ".json" else target / DREAM_JOURNAL


def read_journal(target: str | Path) -> list[DreamReport]:
    """Entries of a recording folder's dream journal (empty if none was written)."""
    path = journal_path(target)
    if not path.is_file():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise InputFileError(f"{path}: unreadable dream journal ({err})") from err
    return [DreamReport.from_dict(d) for d in data.get("entries", [])]


def add_entry(target: str | Path, report: DreamReport) -> Path:
    """Append an entry to the recording folder's dream journal (atomic rewrite); returns the file.

    Raises
    ------
    InputFileError
        If ``target`` is not a recording folder.
    RecordingError
        If the journal cannot be written.
    """
    target = Path(target)
    if target.suffix != ".json":
        RecordingFolder(target).read_manifest()  # fix-it error if this is not a recording folder
    path = journal_path(target)
    entries = read_journal(path)
    entries.append(report)
    payload = {
        "format": "dreamlink-dream-journal",
        "version": 1,
        "lucidity_scale": {str(k): v for k, v in LUCIDITY_SCALE.items()},
        "entries": [asdict(e) for e in entries],
        "updated": _dt.datetime.now(_dt.UTC).isoformat(),
    }
    tmp = path.with_suffix(".json.tmp")
    try:
        tmp.write_text(json.dumps(payload, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
        with tmp.open("rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as err:
        raise RecordingError(f"cannot write the dream journal {path}: {err.strerror or err}") from err
    return path
