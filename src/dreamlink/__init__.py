"""dreamlink: talk with people while they sleep, and let two sleepers talk to each other."""

__version__ = "0.1.0"
