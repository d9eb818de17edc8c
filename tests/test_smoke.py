import requests

from conftest import TRACK_A


def test_live_server_adds_a_track(live_server):
    alice = live_server.users["alice"]
    response = requests.post(
        live_server.url + "/1/content/music/collection/add",
        json={"TrackIds": [TRACK_A]},
        headers=alice.headers,
        timeout=10,
    )
    assert response.status_code == 200
    assert response.json()["TrackActionResults"][0]["InputId"] == TRACK_A
