"""Schemathesis over the OpenAPI document, against a live server over real HTTP.

Every operation the document holds (``GET /openapi.json`` of the running server: the Groove routes join
as they are documented) gets a bounded number of generated requests with a valid token; each answer
must not be a 5xx and must conform to the document: its status is one the operation lists, its
Content-Type and headers are the documented ones, and its body validates against the response schema.

Path ids: generated ``org_``/``mcoll_`` strings name nothing (a 404 the isolation suite already
proves), so half the requests aim at the caller's own organization and collections, where the
generated bodies and queries reach validation and the store.

``GROOVE_COMPAT_FUZZ_EXAMPLES`` sets the examples per operation (CI default 12; the long run uses 200).
"""

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from conftest import seeded_database
from reliability import ServerProcess, snapshot, targets_of

EXAMPLES = int(os.environ.get("GROOVE_COMPAT_FUZZ_EXAMPLES", "12"))
# What the document promises, and no 5xx. Left out: positive_data_acceptance (a schema-valid request may
# still be a documented 400: a cursor of another collection, a move of a track not in the collection,
# an XML body whose items are elements) and the checks that send methods or requests no operation
# declares (OPTIONS answers CORS preflights).
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    database = folder / "groove-compat.sqlite"
    users = seeded_database(database)
    targets = targets_of(database, users["alice"], track="music.A83EB907-0100-11DB-89CA-0019B92A3933")
    with ServerProcess(database) as server:
        server.users = users
        server.targets = targets
        yield server
        log = server.log_text()
    assert "Traceback" not in log, log[-3000:]


@pytest.fixture(scope="module")
def api_schema(fuzz_server):
    return schemathesis.openapi.from_url(fuzz_server.url + "/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


def aim(case, targets):
    """Point half the cases (by a stable hash of what was generated) at the caller's own things."""
    parameters = case.path_parameters or {}
    if not parameters or hash(repr(sorted(parameters.items()))) % 2:
        return
    if "organization_id" in parameters:
        parameters["organization_id"] = targets["organization"]
    if "collection_id" in parameters:
        parameters["collection_id"] = targets["playlist"] if hash(repr(case.body)) % 2 else targets["library"]


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_the_server_answers_as_documented(case, fuzz_server):
    aim(case, fuzz_server.targets)
    token = fuzz_server.users["alice"].token
    case.call_and_validate(
        base_url=fuzz_server.url,
        headers={"Authorization": f"Bearer {token}", "X-API-Key": token},
        timeout=10,
        checks=CHECKS,
    )


def test_the_database_is_sound_after_the_fuzz_run(fuzz_server):
    """Whatever the fuzzer sent, the database is consistent (runs after the fuzz cases of this module)."""
    import sqlite3

    connection = sqlite3.connect(fuzz_server.database)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        connection.close()
    assert snapshot(fuzz_server.database)["users"]
