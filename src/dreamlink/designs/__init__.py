"""Dream designs: a declarative protocol language, its validator, runtime and rehearsal.

A *dream design* is what a dream architect writes before the night: what to present, when, under which
conditions, and how to talk with the dreamer. :func:`load_design` reads and validates a YAML file
(every error located at file:line:col with a suggestion), :class:`DesignRuntime` runs it against the live
event stream, and :func:`dreamlink.designs.rehearse.rehearse` runs it against a recorded or simulated
night as fast as possible.
"""

from dreamlink.designs.loader import DesignIssue, DesignValidationError
from dreamlink.designs.model import Design
from dreamlink.designs.validate import check_file, check_text, design_from_text, load_design

__all__ = [
    "Design",
    "DesignIssue",
    "DesignValidationError",
    "check_file",
    "check_text",
    "design_from_text",
    "load_design",
]
