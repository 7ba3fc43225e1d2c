"""Every way samples come in, behind one :class:`~dreamlink.sources.base.Source` base class."""

from dreamlink.sources.base import Chunk, PacedSource, Source, SourceInfo
from dreamlink.sources.uri import SourceSpec, open_source, parse_source

__all__ = ["Chunk", "PacedSource", "Source", "SourceInfo", "SourceSpec", "open_source", "parse_source"]
