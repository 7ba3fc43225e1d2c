"""One module per ``dreamlink`` command; each exposes a click command named ``command``."""
