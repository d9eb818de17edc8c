"""The ceiling: a bare Flask app under exactly the server configuration ``groove-compat serve`` uses.

It only parses the add request's JSON body (with the fastest parser the real app may use) and answers a
JSON body of the same size as the real answer (one ``InputId``/``Id`` pair per id, ids of the real length),
so the ratio real/bare says how much of the machine the add endpoint leaves on the table.

    python bench/bare_app.py --bind 127.0.0.1:8001 --workers 2 [--threads N]
"""

import argparse

from flask import Flask, request

from groove_compat.server import serve

try:
    import orjson

    def loads(body):
        return orjson.loads(body)

    def dumps(value):
        return orjson.dumps(value)

except ImportError:  # pragma: no cover - the real app would use the standard library too
    import json

    def loads(body):
        return json.loads(body)

    def dumps(value):
        return json.dumps(value, separators=(",", ":")).encode("utf-8")


# A Groove entry id is "music." + 34 base64url characters.
ENTRY_ID = "music.AQQ" + "A" * 31

app = Flask(__name__)


@app.post("/1/content/music/collection/add")
def add():
    document = loads(request.get_data())
    results = [{"InputId": track_id, "Id": ENTRY_ID} for track_id in document["TrackIds"]]
    return app.response_class(dumps({"TrackActionResults": results}), content_type="application/json; charset=utf-8")


@app.get("/healthz")
def healthz():
    return {"status": "ok"}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bind", required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    arguments = parser.parse_args()
    serve(app, bind=arguments.bind, workers=arguments.workers, threads=arguments.threads)


if __name__ == "__main__":
    main()
