"""The eye-signal protocol: eye-Morse gestures and their timing."""

from __future__ import annotations

from dreamlink.link import eye_code


def test_eye_morse_code_timing():
    g = eye_code.eye_morse("E", hold=0.3)  # unit is at least 0.5 s
    body = g[5:-5]
    # A dot: far left, then straight across to far right, each held 1 unit, then back to centre.
    assert body[1:4] == [eye_code.Gesture(-1, 0.5), eye_code.Gesture(1, 0.5), eye_code.Gesture(0, 2.5)]
    g = eye_code.eye_morse("T", hold=1.0)
    assert g[5:-5][1:3] == [eye_code.Gesture(1, 1.0), eye_code.Gesture(-1, 1.0)]  # a dash: right, left
    g = eye_code.eye_morse("II", hold=1.0)[5:-5]
    assert g[3] == eye_code.Gesture(0, eye_code.ELEMENT_GAP_UNITS) and g[6] == eye_code.Gesture(0, 5.0)
