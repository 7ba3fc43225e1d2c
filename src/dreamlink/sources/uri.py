"""Parse the one string that names a source everywhere, and open it.

Grammar (see ``docs/ARCHITECTURE``)::

    sim[:seed=N,hours=H,...]
    file:PATH                      (EDF, EDF+, BDF, FIF)
    brainflow:BOARD_ID[:key=value,...]
    lsl:STREAM_NAME[:key=value,...]

A bare path to an existing file is accepted as ``file:PATH``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dreamlink.errors import SourceError
from dreamlink.sources.base import Source

#: kind -> "module:factory"; each factory is called as ``factory(target, params, speed=...)``.
_FACTORIES: dict[str, str] = {
    "sim": "dreamlink.sources.simulator:source_from_uri",
    "file": "dreamlink.sources.file:source_from_uri",
    "brainflow": "dreamlink.sources.brainflow:source_from_uri",
    "lsl": "dreamlink.sources.lsl:source_from_uri",
}


@dataclass(frozen=True)
class SourceSpec:
    """A parsed source string: ``kind``, ``target`` (path, board id, stream name) and ``params``."""

    kind: str
    target: str = ""
    params: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        text = self.kind
        if self.target:
            text += f":{self.target}"
        if self.params:
            text += ":" + ",".join(f"{k}={v}" for k, v in self.params.items())
        return text


def _parse_params(text: str, uri: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        if "=" not in part:
            raise SourceError(
                f"bad source parameter {part!r} in {uri!r}: write key=value pairs separated by commas"
            )
        key, value = part.split("=", 1)
        params[key.strip()] = value.strip()
    return params


def parse_source(uri: str) -> SourceSpec:
    """Parse a source string into a :class:`SourceSpec`.

    Raises
    ------
    SourceError
        Unknown kind or malformed parameters, with the accepted forms in the message.
    """
    uri = uri.strip()
    kind, _, rest = uri.partition(":")
    kind = kind.lower()
    if kind == "sim":
        return SourceSpec("sim", "", _parse_params(rest, uri))
    if kind == "file":
        if not rest:
            raise SourceError("file source needs a path: file:PATH")
        return SourceSpec("file", rest, {})
    if kind in ("brainflow", "lsl"):
        target, _, params = rest.partition(":")
        if not target:
            example = "brainflow:-1" if kind == "brainflow" else "lsl:MyStream"
            raise SourceError(f"{kind} source needs a target, e.g. {example}")
        return SourceSpec(kind, target, _parse_params(params, uri))
    if Path(uri).suffix and (Path(uri).exists() or "/" in uri or "." in uri):
        return SourceSpec("file", uri, {})
    raise SourceError(
        f"unknown source {uri!r}; use sim[:seed=N,hours=H], file:PATH, "
        "brainflow:BOARD_ID[:key=value,...] or lsl:STREAM_NAME"
    )


def open_source(uri: str | SourceSpec, **options: Any) -> Source:
    """Create (not yet open) the source named by ``uri``.

    Parameters
    ----------
    uri : str or SourceSpec
        The source string.
    **options
        Passed to the source's factory, e.g. ``speed=600`` or ``speed=None`` for as fast as
        possible (paced sources), ``timeout`` for network streams.
    """
    spec = parse_source(uri) if isinstance(uri, str) else uri
    module_name, _, attr = _FACTORIES[spec.kind].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise SourceError(f"{spec.kind} sources are unavailable here: {err}") from err
    factory = getattr(module, attr)
    return factory(spec.target, dict(spec.params), **options)
