#!/usr/bin/env python3
"""Add tracks to a Groove collection with requests, in JSON or in DataContract XML, and print the results.

    BASE_URL=http://127.0.0.1:8000 TOKEN=<bearer token> python3 examples/python/add_tracks.py [--xml [--namespace 2016]] [TRACK_ID ...]

Without track ids, the ids of seed 003's first example (examples/groove/add-request.json) are sent.
One line per result, in request order:

    added   <InputId> -> <Id>
    failed  <InputId> <ErrorCode>: <Description> (<Message>)

then ``error <ErrorCode>: <Description>`` when some items failed. A whole-request failure (401, 400, ...)
prints ``HTTP <status> <ErrorCode>: <Description> (<Message>)``. Exit status: 0 when every item was added,
1 when some failed, 2 on a whole-request failure.
"""

import argparse
import json
import os
import sys

import requests
from lxml import etree

NAMESPACES = {
    "2013": "http://schemas.microsoft.com/xboxmusic/2013/10/platform",
    "2016": "http://schemas.microsoft.com/groovemusic/2016/09/api",
}
ARRAYS = "http://schemas.microsoft.com/2003/10/Serialization/Arrays"
INSTANCE = "http://www.w3.org/2001/XMLSchema-instance"
SEED_REQUEST = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "groove", "add-request.json")


def xml_request(track_ids, namespace):
    """A TrackActionRequest as DataContractSerializer writes it: 2013 with List<string> items
    (``<d2p1:string>``, as in seed 003), 2016 with the SDK's ``<TrackId>`` items."""
    if namespace == NAMESPACES["2013"]:
        root = etree.Element(f"{{{namespace}}}TrackActionRequest", nsmap={"i": INSTANCE, None: namespace})
        items = etree.SubElement(root, f"{{{namespace}}}TrackIds", nsmap={"d2p1": ARRAYS})
        item_tag = f"{{{ARRAYS}}}string"
    else:
        root = etree.Element(f"{{{namespace}}}TrackActionRequest", nsmap={"i": INSTANCE, None: namespace})
        items = etree.SubElement(root, f"{{{namespace}}}TrackIds")
        item_tag = f"{{{namespace}}}TrackId"
    for track_id in track_ids:
        etree.SubElement(items, item_tag).text = track_id
    return etree.tostring(root, encoding="utf-8")


def _plain(element):
    """An XML answer as the dict a JSON answer gives: element names as members, lists for the results."""
    if etree.QName(element).localname == "TrackActionResults":
        return [_plain(item) for item in element]
    if len(element) == 0:
        return element.text or ""
    return {etree.QName(member).localname: _plain(member) for member in element}


def describe(error):
    text = f"{error.get('ErrorCode')}: {error.get('Description')}"
    return text + (f" ({error['Message']})" if error.get("Message") else "")


def add_tracks(base_url, token, track_ids, *, xml=False, namespace=NAMESPACES["2013"]):
    """POST the ids; return (HTTP status, the TrackActionResponse as a dict)."""
    url = base_url.rstrip("/") + "/1/content/music/collection/add"
    headers = {"Authorization": f"Bearer {token}"}
    if xml:
        headers["Content-Type"] = "application/xml"
        response = requests.post(url, data=xml_request(track_ids, namespace), headers=headers, timeout=30)
        return response.status_code, _plain(etree.fromstring(response.content))
    headers["Accept"] = "application/json"
    response = requests.post(url, json={"TrackIds": track_ids}, headers=headers, timeout=30)
    return response.status_code, response.json()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("track_ids", nargs="*", metavar="TRACK_ID", help="catalog ids such as music.A83EB907-0100-11DB-89CA-0019B92A3933")
    parser.add_argument("--xml", action="store_true", help="send and receive DataContract XML instead of JSON")
    parser.add_argument("--namespace", choices=sorted(NAMESPACES), default="2013", help="XML namespace (default 2013)")
    arguments = parser.parse_args(argv)
    base_url = os.environ.get("BASE_URL", "http://127.0.0.1:8000")
    token = os.environ.get("TOKEN")
    if not token:
        parser.error("set TOKEN to a bearer token (groove-compat tokens issue USER)")
    track_ids = arguments.track_ids
    if not track_ids:
        with open(SEED_REQUEST, encoding="utf-8") as handle:
            track_ids = json.load(handle)["TrackIds"]

    status, answer = add_tracks(
        base_url, token, track_ids, xml=arguments.xml, namespace=NAMESPACES[arguments.namespace]
    )
    if status != 200:
        print(f"HTTP {status} {describe(answer.get('Error', {}))}")
        return 2
    for result in answer.get("TrackActionResults", []):
        if "Error" in result:
            print(f"failed  {result.get('InputId')} {describe(result['Error'])}")
        else:
            print(f"added   {result['InputId']} -> {result['Id']}")
    if "Error" in answer:
        print(f"error   {describe(answer['Error'])}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
