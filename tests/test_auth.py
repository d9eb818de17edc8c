"""Authentication of collection/add: Bearer tokens, seed 003's 401 body in JSON and XML, revocation through the
CLI, and the legacy accessToken query parameter, which is accepted and never logged."""

import hashlib
import logging

import pytest

from conftest import TRACK_A
from contract_schemas import NS_2013, NS_2016, NS_INSTANCE, validate_answer, validate_json, validate_xml
from groove_compat import ids
from groove_compat.cli import main

ADD = "/1/content/music/collection/add"
BODY = {"TrackIds": [TRACK_A]}

# Seed 003, "Access is denied if the user authentication token is missing or invalid", as compact JSON.
SEED_401_JSON = (
    b'{"Error":{"ErrorCode":"INVALID-AUTHORIZATION-HEADER","Description":"Missing or invalid authorization header",'
    b'"Message":"You need user authentication to use this API"}}'
)


def seed_401_xml(namespace):
    # Contract 3.5 "401 in XML", in the seed's (hyphenated) spelling.
    return (
        f'<TrackActionResponse xmlns:i="{NS_INSTANCE}" xmlns="{namespace}"><Error>'
        "<Description>Missing or invalid authorization header</Description>"
        "<ErrorCode>INVALID-AUTHORIZATION-HEADER</ErrorCode>"
        "<Message>You need user authentication to use this API</Message>"
        "</Error></TrackActionResponse>"
    ).encode()


def xml_request(namespace):
    return (
        f'<TrackActionRequest xmlns:i="{NS_INSTANCE}" xmlns="{namespace}"><TrackIds>'
        f"<TrackId>{TRACK_A}</TrackId></TrackIds></TrackActionRequest>"
    ).encode()


def stored_tracks(store, user):
    return store.collection_track_ids(store.user(user.user_id)["library_id"])


BAD_HEADERS = {
    "missing": lambda token: None,
    "empty": lambda token: "",
    "scheme-only": lambda token: "Bearer",
    "scheme-and-space": lambda token: "Bearer ",
    "no-scheme": lambda token: token,
    "basic": lambda token: f"Basic {token}",
    "token-scheme": lambda token: f"Token {token}",
    "bearer-glued": lambda token: f"Bearer{token}",
    "unknown": lambda token: "Bearer gct_" + "A" * 43,
    "truncated": lambda token: f"Bearer {token[:-1]}",
    "extended": lambda token: f"Bearer {token}x",
    "other-case": lambda token: f"Bearer {token.swapcase()}",
    "10-kilobytes": lambda token: "Bearer " + "k" * 10_240,
    "control-characters": lambda token: "Bearer \x01\x02",
}


@pytest.mark.parametrize("case", list(BAD_HEADERS))
def test_bad_credentials_get_seed_401_in_json(client, store, alice, case):
    value = BAD_HEADERS[case](alice.token)
    headers = {} if value is None else {"Authorization": value}
    before = store.snapshot()
    response = client.post(ADD, json=BODY, headers=headers)
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert response.data == SEED_401_JSON
    validate_json(response.data)
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert store.snapshot() == before


@pytest.mark.parametrize("case", ["missing", "unknown", "basic", "10-kilobytes"])
@pytest.mark.parametrize("namespace", [NS_2013, NS_2016])
def test_bad_credentials_get_401_in_xml(client, store, alice, case, namespace):
    value = BAD_HEADERS[case](alice.token)
    headers = {"Content-Type": "application/xml"}
    if value is not None:
        headers["Authorization"] = value
    before = store.snapshot()
    response = client.post(ADD, data=xml_request(namespace), headers=headers)
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/xml; charset=utf-8"
    assert response.data == seed_401_xml(namespace)
    validate_xml(response.data)
    assert store.snapshot() == before


@pytest.mark.parametrize("how", [{"Accept": "application/xml"}, {"Accept": "text/xml"}, "?contentType=xml"])
def test_401_to_a_json_request_asking_for_xml(client, store, how):
    path, headers = (ADD + how, {}) if isinstance(how, str) else (ADD, how)
    response = client.post(path, json=BODY, headers=headers)
    assert response.status_code == 401
    assert response.data == seed_401_xml(NS_2013)


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "bEaReR"])
def test_the_scheme_is_case_insensitive(client, store, alice, scheme):
    response = client.post(ADD, json=BODY, headers={"Authorization": f"{scheme} {alice.token}"})
    assert response.status_code == 200
    fmt, document = validate_answer(response)
    assert document["TrackActionResults"][0]["InputId"] == TRACK_A
    assert len(stored_tracks(store, alice)) == 1


def test_each_token_names_its_own_user(client, store, alice, bob):
    assert client.post(ADD, json=BODY, headers=bob.headers).status_code == 200
    assert stored_tracks(store, alice) == []
    assert len(stored_tracks(store, bob)) == 1


@pytest.mark.parametrize("by", ["token", "credential-id"])
def test_a_revoked_token_fails_from_the_next_request_on(client, store, runner, alice, by):
    assert client.post(ADD, json=BODY, headers=alice.headers).status_code == 200
    listed = runner.invoke(main, ["tokens", "list", alice.public_id])
    assert listed.exit_code == 0, listed.output
    (credential_id,) = [line.split()[0] for line in listed.output.splitlines()]
    result = runner.invoke(main, ["tokens", "revoke", alice.token if by == "token" else credential_id])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"revoked {credential_id}"

    before = store.snapshot()
    response = client.post(ADD, json={"TrackIds": [TRACK_A, "music.873FB507-0100-11DB-89CA-0019B92A3933"]}, headers=alice.headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer error='token_expired'"
    assert response.data == SEED_401_JSON
    assert store.snapshot() == before

    xml = client.post(ADD, data=xml_request(NS_2016), headers=dict(alice.headers, **{"Content-Type": "text/xml"}))
    assert xml.status_code == 401
    assert xml.headers["WWW-Authenticate"] == "Bearer error='token_expired'"
    assert xml.data == seed_401_xml(NS_2016)


def test_revoking_one_token_leaves_the_others(client, store, runner, alice):
    issued = runner.invoke(main, ["tokens", "issue", alice.public_id])
    assert issued.exit_code == 0, issued.output
    second = issued.output.strip().splitlines()[-1]
    assert runner.invoke(main, ["tokens", "revoke", alice.token]).exit_code == 0
    assert client.post(ADD, json=BODY, headers=alice.headers).status_code == 401
    response = client.post(ADD, json=BODY, headers={"Authorization": f"Bearer {second}"})
    assert response.status_code == 200
    assert len(stored_tracks(store, alice)) == 1


# ---------------------------------------------------------------------------------------------------------
# The legacy accessToken query parameter

SECRET = "AdmDeveloperToken0123456789SECRET"


def log_text(caplog):
    return "\n".join(
        [record.getMessage() for record in caplog.records]
        + [caplog.text]
        + [str(record.exc_info) for record in caplog.records if record.exc_info]
    )


@pytest.mark.parametrize(
    "query",
    [
        f"accessToken=Bearer%20{SECRET}",
        f"accessToken=Bearer+{SECRET}",
        f"accessToken={SECRET}",
        f"accesstoken=Bearer%20{SECRET}",
        f"ACCESSTOKEN=Bearer%20{SECRET}&contentType=json",
    ],
)
def test_access_token_parameter_is_accepted_and_never_logged(client, store, alice, caplog, query):
    caplog.set_level(logging.DEBUG, logger="groove_compat")
    response = client.post(f"{ADD}?{query}", json=BODY, headers=alice.headers)
    assert response.status_code == 200
    assert validate_json(response.data)["TrackActionResults"][0]["InputId"] == TRACK_A
    assert len(stored_tracks(store, alice)) == 1
    access = [record for record in caplog.records if record.name == "groove_compat.access"]
    assert len(access) == 1 and response.headers["X-Request-Id"] in access[0].getMessage()
    text = log_text(caplog)
    assert SECRET not in text
    assert alice.token not in text


def test_a_user_token_in_access_token_alone_is_not_a_user_credential_and_is_not_logged(client, store, alice, caplog):
    """Collection endpoints need the user token in Authorization (contract 6); the parameter is never logged."""
    caplog.set_level(logging.DEBUG, logger="groove_compat")
    before = store.snapshot()
    response = client.post(f"{ADD}?accessToken=Bearer%20{alice.token}", json=BODY)
    assert response.status_code == 401
    assert response.data == SEED_401_JSON
    assert store.snapshot() == before
    assert caplog.records
    assert alice.token not in log_text(caplog)


def test_access_token_is_not_logged_when_the_request_fails_inside(client, store, alice, caplog, monkeypatch):
    """An internal error is logged with its request id and traceback, still without the query."""

    def explode(*args, **kwargs):
        raise RuntimeError("store exploded")

    monkeypatch.setattr(store, "append_entries", explode)
    caplog.set_level(logging.DEBUG, logger="groove_compat")
    response = client.post(f"{ADD}?accessToken=Bearer%20{SECRET}", json=BODY, headers=alice.headers)
    assert response.status_code == 500
    document = validate_json(response.data)
    assert document["Error"]["ErrorCode"] == "INTERNAL-SERVER-ERROR"
    request_id = response.headers["X-Request-Id"]
    errors = [record for record in caplog.records if record.name == "groove_compat.errors"]
    assert len(errors) == 1 and request_id in errors[0].getMessage() and errors[0].exc_info
    assert SECRET not in log_text(caplog)


@pytest.mark.parametrize(
    "token", ["gct_" + "A" * 43, "a" * 5000, "token with spaces", "\u00e9\ud800"], ids=["token", "long", "spaces", "non-ascii"]
)
def test_a_token_hash_is_its_sha256(token):
    """CPython's own SHA-256 where there is one (not OpenSSL's): the same bytes, so stored hashes stay valid."""
    assert ids.token_hash(token) == hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


def test_a_credential_stored_as_a_plain_sha256_signs_in(client, store):
    token = "gct_" + "B" * 43
    user_id = store.create_user(name="hashed", organization_id=1)
    store.add_credential(user_id=user_id, token_hash=hashlib.sha256(token.encode()).digest())
    response = client.post(ADD, json=BODY, headers={"Authorization": "Bearer " + token, "Accept": "application/json"})
    assert response.status_code == 200, response.data
    assert response.get_json()["TrackActionResults"][0]["InputId"] == TRACK_A
