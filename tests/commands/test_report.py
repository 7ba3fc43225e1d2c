"""``dreamlink report``: record a simulated night with the CLI, then report on the folder."""

from __future__ import annotations

import re


def test_record_then_report(run_cli, tmp_path):
    folder = tmp_path / "night"
    code, _, stderr = run_cli("record", "sim:seed=4,hours=0.2", "--duration", "600", "--speed", "max",
                              "--out", str(folder), "--quiet", "--truth", "--no-bids")
    assert code == 0, stderr
    out = tmp_path / "report" / "night.html"
    code, stdout, stderr = run_cli("report", str(folder), "--out", str(out))
    assert code == 0, stderr
    assert f"report: {out}" in stdout and "hypnogram: 20 epochs" in stdout
    assert re.search(r"TST \d+\.\d min, SE \d+\.\d %", stdout)
    html = out.read_text(encoding="utf-8")
    assert "Morning report: night" in html and out.with_suffix(".pdf").stat().st_size > 10_000
    assert "sim:seed=4,hours=0.2" in html  # the source, from the folder's manifest


def test_report_help_teaches():
    from click.testing import CliRunner

    from dreamlink.commands.report import command

    result = CliRunner().invoke(command, ["--help"])
    assert result.exit_code == 0 and "--expert" in result.output and "Examples:" in result.output
