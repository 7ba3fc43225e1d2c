"""``dreamlink check``: valid designs pass; invalid ones print located lines and exit non-zero."""

from __future__ import annotations

from pathlib import Path

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples" / "designs").glob("*.yaml"))


def test_check_examples(run_cli):
    code, out, err = run_cli("check", *map(str, EXAMPLES))
    assert code == 0, err
    assert out.count(": ok") == len(EXAMPLES)


def test_check_reports_located_errors(run_cli, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "design: bad\nversion: 1\ninitial: wait\nstates:\n  wait:\n    on:\n"
        "      - trigger: lrrl\n        goto: aks\n"
        "  ask:\n    enter:\n      - ask: {text: hi, answer: count, on_answer: wait, on_timeout: wait}\n"
    )
    code, out, err = run_cli("check", str(bad))
    assert code == 1
    lines = err.strip().splitlines()
    assert f"{bad}:7:18: states.wait.on[0].trigger: unknown trigger type 'lrrl'" in lines[0]
    assert lines[0].endswith("(did you mean 'lrlr'?)")
    assert any(line.startswith(f"{bad}:11:9: states.ask.enter[0].ask: a question needs timeout_sec")
               for line in lines)
    assert lines[-1] == f"{bad}: 2 error(s)"


def test_check_second_pass_errors(run_cli, tmp_path):
    bad = tmp_path / "bad2.yaml"
    bad.write_text(
        "design: bad\nversion: 1\ninitial: wait\nstates:\n  wait:\n    on:\n"
        "      - trigger: lrlr\n        goto: aks\n"
        "  ask:\n    on:\n      - trigger: wake\n        goto: wait\n"
    )
    code, _, err = run_cli("check", str(bad))
    assert code == 1
    assert f"{bad}:8:15: states.wait.on[0].goto: goto names a state 'aks' that does not exist" in err
    assert "(did you mean 'ask'?)" in err
    assert f"{bad}:9:3: states.ask: state 'ask' is unreachable" in err


def test_check_missing_file(run_cli, tmp_path):
    code, _, err = run_cli("check", str(tmp_path / "nope.yaml"))
    assert code == 2
    assert err.startswith("error: design file not found")
    assert "Traceback" not in err
