"""Fuzz every operation of the published OpenAPI schema (schemathesis): no input gives a 500.

Requests are made as an admin who is also an operator of a real session, and as a dreamer, so the
fuzzer reaches the handlers instead of stopping at authentication.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402

from dreamlink.server.app import create_app  # noqa: E402
from dreamlink.server.auth import create_user, issue_token  # noqa: E402
from dreamlink.server.sessions import add_member, create_session, grant  # noqa: E402

_tmp = Path(tempfile.mkdtemp(prefix="dreamlink-fuzz-"))
APP = create_app(_tmp / "fuzz.sqlite")
_db = APP.state.db
_root = create_user(_db, "root", "admin", "fuzz-password-1")
_alice = create_user(_db, "alice", "dreamer", "fuzz-password-1")
SID = create_session(_db, "fuzz night", _root)
add_member(_db, SID, "alice", "dreamer")
grant(_db, SID, _alice, None)
TOKENS = {"admin": issue_token(_db, _root)[0], "dreamer": issue_token(_db, _alice)[0]}

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    schema = schemathesis.openapi.from_asgi(
        "/openapi.json", APP, headers={"Authorization": f"Bearer {TOKENS['admin']}"}
    )


@schema.parametrize()
@settings(max_examples=15, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@pytest.mark.parametrize("sid", ["fuzzed", "real"])
@pytest.mark.parametrize("who", ["admin", "dreamer"])
def test_no_server_errors(case, who, sid) -> None:
    if sid == "real" and case.path_parameters:
        if "sid" in case.path_parameters:
            case.path_parameters["sid"] = SID
        if "dreamer" in case.path_parameters:
            case.path_parameters["dreamer"] = "alice"
    response = case.call(headers={"Authorization": f"Bearer {TOKENS[who]}"})
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path}: {response.status_code} {response.text}"
    )
