"""The figures of docs/ are drawn from the code, so they must still draw after the code changes."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import matplotlib.image as mpimg

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_signal_codes_figure_draws_every_code(tmp_path):
    script = DOCS / "figures" / "make_signal_codes.py"
    spec = importlib.util.spec_from_file_location("make_signal_codes", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "codes.png"
    module.main(out)
    image = mpimg.imread(out)
    assert image.shape[0] > 900 and image.shape[1] > 1100  # four panels, 11 × 9.5 in at 110 dpi
    assert (DOCS / "figures" / "signal-codes.png").exists()
    assert "figures/signal-codes.png" in (DOCS / "signal-codes.md").read_text()
