"""The scripts in examples/ run against a live server and do what they say."""

import json
import os
import re
import sqlite3
import subprocess
import sys
import uuid

import pytest

from conftest import ROOT, TRACK_A, TRACK_B, UNKNOWN_TRACK, make_user
from contract_schemas import NS_2013, NS_2016, assert_entry_id_shape, child, element_names, validate_json, validate_xml
from groove_compat.app import create_app, get_store

CURL = os.path.join(ROOT, "examples", "curl")
PYTHON_EXAMPLE = os.path.join(ROOT, "examples", "python", "add_tracks.py")
EXAMPLES = os.path.join(ROOT, "examples", "groove")


def library_tracks(database, user):
    connection = sqlite3.connect(database)
    try:
        return [
            "music." + str(uuid.UUID(bytes=bytes(guid))).upper()
            for (guid,) in connection.execute(
                "SELECT t.guid FROM entries e JOIN users u ON u.library_id = e.collection_id"
                " JOIN tracks t ON t.id = e.track_id WHERE u.id = ? ORDER BY e.position",
                (user.user_id,),
            )
        ]
    finally:
        connection.close()


@pytest.fixture(scope="module")
def script_users(live_server):
    """Each test gets a user of its own, so that their collections do not mix."""
    app = create_app({"DATABASE": live_server.database})
    store = get_store(app)
    created = {name: make_user(store, name) for name in ("curl-json", "curl-xml", "curl-2016", "py-json", "py-xml", "py-2016", "py-ids")}
    store.close()
    return created


def run(command, live_server, token, *args):
    environment = dict(os.environ, BASE_URL=live_server.url, TOKEN=token)
    return subprocess.run([*command, *args], capture_output=True, text=True, env=environment, cwd="/", timeout=60)


@pytest.mark.parametrize("script", ["add-json.sh", "add-xml.sh"])
def test_curl_scripts_are_executable_and_need_their_settings(live_server, script):
    path = os.path.join(CURL, script)
    assert os.access(path, os.X_OK)
    result = subprocess.run([path], capture_output=True, text=True, env={"PATH": os.environ["PATH"]}, timeout=30)
    assert result.returncode != 0 and "BASE_URL" in result.stderr


def test_curl_json(live_server, script_users):
    user = script_users["curl-json"]
    result = run([os.path.join(CURL, "add-json.sh")], live_server, user.token)
    assert result.returncode == 0, result.stderr
    document = validate_json(result.stdout)
    failed, added = document["TrackActionResults"]
    assert failed["InputId"] == UNKNOWN_TRACK and failed["Error"]["ErrorCode"] == "COLLECTION-INVALID-ID"
    assert added["InputId"] == TRACK_A
    assert_entry_id_shape(added["Id"], TRACK_A)
    assert document["Error"]["ErrorCode"] == "COLLECTION-SOME-OPERATIONS-FAILED"
    assert library_tracks(live_server.database, user) == [TRACK_A]


@pytest.mark.parametrize(
    "user_name, body, namespace, track",
    [("curl-xml", None, NS_2013, TRACK_B), ("curl-2016", "add-request-2016.xml", NS_2016, TRACK_A)],
)
def test_curl_xml(live_server, script_users, user_name, body, namespace, track):
    user = script_users[user_name]
    args = [] if body is None else [os.path.join(EXAMPLES, body)]
    result = run([os.path.join(CURL, "add-xml.sh")], live_server, user.token, *args)
    assert result.returncode == 0, result.stderr
    root = validate_xml(result.stdout.strip().encode())
    assert root.nsmap[None] == namespace
    first = child(root, "TrackActionResults")[0]
    assert element_names(first) == ["Id", "InputId"] and child(first, "InputId").text == track
    assert library_tracks(live_server.database, user) == [track]


def test_curl_json_with_a_bad_token_prints_the_groove_401(live_server):
    result = run([os.path.join(CURL, "add-json.sh")], live_server, "not-a-token")
    assert result.returncode == 0
    assert json.loads(result.stdout)["Error"]["ErrorCode"] == "INVALID-AUTHORIZATION-HEADER"


ADDED = re.compile(r"^added   (\S+) -> (music\.AQQ\S+)$")


@pytest.mark.parametrize(
    "user_name, options",
    [("py-json", []), ("py-xml", ["--xml"]), ("py-2016", ["--xml", "--namespace", "2016"])],
)
def test_python_example_with_the_seed_ids(live_server, script_users, user_name, options):
    user = script_users[user_name]
    result = run([sys.executable, PYTHON_EXAMPLE], live_server, user.token, *options)
    assert result.returncode == 1, result.stderr  # the seed's unknown id fails
    lines = result.stdout.splitlines()
    assert lines[0] == (
        f"failed  {UNKNOWN_TRACK} COLLECTION-INVALID-ID: Invalid collection id for this operation"
        " (Collection ErrorCode=ArgumentInvalid, Details=ContentId)"
    )
    match = ADDED.match(lines[1])
    assert match and match.group(1) == TRACK_A
    assert_entry_id_shape(match.group(2), TRACK_A)
    assert lines[2] == "error   COLLECTION-SOME-OPERATIONS-FAILED: Some of the operations failed"
    assert len(lines) == 3
    assert library_tracks(live_server.database, user) == [TRACK_A]


@pytest.mark.parametrize("options", [[], ["--xml"]])
def test_python_example_with_given_ids(live_server, script_users, options):
    user = script_users["py-ids"]
    result = run([sys.executable, PYTHON_EXAMPLE], live_server, user.token, *options, TRACK_B, TRACK_A.lower())
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert [ADDED.match(line).group(1) for line in lines] == [TRACK_B, TRACK_A]
    assert library_tracks(live_server.database, user) == [TRACK_B, TRACK_A]


@pytest.mark.parametrize("options", [[], ["--xml"], ["--xml", "--namespace", "2016"]])
def test_python_example_with_a_bad_token(live_server, options):
    result = run([sys.executable, PYTHON_EXAMPLE], live_server, "not-a-token", *options)
    assert result.returncode == 2
    assert result.stdout.strip() == (
        "HTTP 401 INVALID-AUTHORIZATION-HEADER: Missing or invalid authorization header"
        " (You need user authentication to use this API)"
    )
