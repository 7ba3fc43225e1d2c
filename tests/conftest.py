"""Shared fixtures: where the real data lives, temporary folders, the CLI runner."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` next to the repository; the test is skipped when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent (read-only ../shared/data)")
    return SHARED_DATA


def real_file(shared_data: Path, relative: str) -> Path:
    """Path of one real data file, skipping the test with a reason if it is missing."""
    path = shared_data / relative
    if not path.exists():
        pytest.skip(f"real data file {relative} is absent from {shared_data}")
    return path


@pytest.fixture
def run_cli():
    """Run ``dreamlink ARGS...`` in-process; returns (exit_code, stdout, stderr)."""
    import contextlib
    import io

    from dreamlink.cli import main

    def _run(*args: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        code = 0
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main(list(args))
            except SystemExit as exc:  # click and main() exit this way
                code = int(exc.code or 0) if not isinstance(exc.code, str) else 1
        return code, out.getvalue(), err.getvalue()

    return _run
