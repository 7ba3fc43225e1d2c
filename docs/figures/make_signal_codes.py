"""Draw the signalling codes of docs/signal-codes.md: ``python docs/figures/make_signal_codes.py``.

Writes ``docs/figures/signal-codes.png`` from the codes themselves (:mod:`dreamlink.link.eye_code`,
:mod:`dreamlink.link.emg_code`), rendered as gaze by the simulator's gesture renderer, so the figure
always shows what the detectors expect.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from dreamlink.link import emg_code, eye_code, morse  # noqa: E402
from dreamlink.sim.gestures import render_gaze  # noqa: E402

OUT = Path(__file__).with_name("signal-codes.png")
SFREQ = 100.0
HOLD = 0.5  # s: a comfortable fixation


def _gaze_panel(ax: plt.Axes, gestures: list[eye_code.Gesture], title: str, frames: int = 2) -> None:
    """Plot the gaze of ``gestures`` and shade its LRLR frames (the first and, with 2, the last)."""
    trace = render_gaze([eye_code.Gesture(0, 0.5), *gestures], SFREQ)
    t = np.arange(trace.gaze.size) / SFREQ
    ax.plot(t, trace.gaze, color="tab:blue", lw=1.6)
    ax.axhline(0, color="0.8", lw=0.8, zorder=0)
    ax.set_yticks([-1, 0, 1], ["left", "centre", "right"])
    ax.set_ylim(-1.35, 1.35)
    ax.set_xlim(0, t[-1])
    ax.set_title(title, loc="left", fontsize=10)
    sweeps = trace.sweeps
    spans = [(sweeps[0].onset, sweeps[4].onset)]  # four looks, up to the way back to centre
    if frames == 2:
        spans.append((sweeps[-5].onset, sweeps[-1].onset))
    for a, b in spans:
        ax.axvspan(a, b, color="tab:orange", alpha=0.15, lw=0)
        ax.text((a + b) / 2, 1.2, "LRLR", ha="center", va="center", fontsize=8, color="tab:orange")


def main(out: Path = OUT) -> None:
    """Draw the figure into ``out`` (PNG)."""
    fig, axes = plt.subplots(4, 1, figsize=(11, 9.5), constrained_layout=True)

    title = 'LRLR marker: "I am lucid / ready" (each look held 0.5 s), then back to centre'
    _gaze_panel(axes[0], eye_code.lrlr(HOLD), title, frames=1)
    count = eye_code.count_answer(3, HOLD)
    _gaze_panel(axes[1], count, 'Count answer "3": LRLR, rest, three left-right pairs, rest, LRLR')

    text = "OK"
    gestures = eye_code.eye_morse(text, HOLD)
    _gaze_panel(
        axes[2],
        gestures,
        f'Eye-Morse "{text}" ({morse.code_string(text)}): dot = left→right, '
        "dash = right→left, rests at centre (2 / 5 / 10 units between elements / letters / words)",
    )
    axes[2].set_xlabel("time (s)")

    ax = axes[3]
    twitches = emg_code.emg_morse(text, short_sec=0.25, long_sec=0.9, gap_sec=0.4)
    n_text = len(twitches) - len(emg_code.END_MARK)
    for i, tw in enumerate(twitches):
        colour = "tab:red" if i < n_text else "tab:purple"
        ax.add_patch(plt.Rectangle((0.5 + tw.start, 0), tw.duration, 1, color=colour, alpha=0.8, lw=0))
    end = 0.5 + twitches[-1].start + twitches[-1].duration
    ax.set_xlim(0, end + 1.0)
    ax.set_ylim(0, 1.5)
    ax.set_yticks([])
    first_mark = 0.5 + twitches[n_text].start
    ax.text((0.5 + first_mark) / 2, 1.2, text, ha="center", fontsize=9, color="tab:red")
    ax.text(
        (first_mark + end) / 2,
        1.2,
        "end mark .-.-. (read at once)",
        ha="center",
        fontsize=9,
        color="tab:purple",
    )
    ax.set_title(
        f'EMG-Morse "{text}" on chin EMG: short twitch (< {emg_code.LONG_TWITCH_SEC:g} s) = dot, '
        f"long = dash, {emg_code.LETTER_PAUSE_SEC:g}-s pause between letters, then the end mark",
        loc="left",
        fontsize=10,
    )
    ax.set_xlabel("time (s)")
    fig.savefig(out, dpi=110)
    plt.close(fig)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
