"""Errors a user can cause.

Every error a user can trigger (a wrong path, a missing channel, a device that is not plugged in)
is a :class:`DreamlinkError` subclass whose message names the problem *and* the fix. The command line
prints that one line and exits non-zero; a traceback reaching a user is a bug.
"""

from __future__ import annotations


class DreamlinkError(Exception):
    """Base class of every error a user can cause; ``str(err)`` is one line naming the fix."""

    exit_code: int = 2


class InputFileError(DreamlinkError):
    """A file is missing, unreadable, truncated or not in the expected format."""


class ChannelError(DreamlinkError):
    """A requested channel does not exist, or a channel is unusable (flat, clipped)."""


class SamplingRateError(DreamlinkError):
    """A sampling rate is too low or otherwise unsuitable for the requested analysis."""


class SourceError(DreamlinkError):
    """A source string is malformed or a source cannot be opened or read."""


class DeviceError(SourceError):
    """A hardware device (BrainFlow board) is not connected or stopped answering."""


class StreamTimeoutError(SourceError):
    """A network stream (LSL) did not appear or stopped sending within the timeout."""


class RecordingError(DreamlinkError):
    """A recording cannot be written (disk full, read-only folder) or recovered."""


class DesignError(DreamlinkError):
    """A dream-design file is malformed; the message carries file, line, column and field."""


class CueSafetyError(DreamlinkError):
    """A cue request was refused by the safety layer (above a hard cap, aborted, sleeper awake)."""


class ConfigError(DreamlinkError):
    """A required setting is missing or invalid; the message names the option and the variable."""
