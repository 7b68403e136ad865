"""The Core service of Mythical Mysfits: the site's page and the mysfits it lists.

Written for mmtui's sandbox. It runs as the container `service` of the Core task definition,
behind the load balancer's default rule, on port 8080.
"""

import html
import os
from typing import Any

import boto3
from flask import Flask, Response, jsonify

REGION = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION", "us-west-2")
TABLE = os.environ.get("DDB_TABLE_NAME", "mm-ddbtable")

app = Flask(__name__)
dynamodb = boto3.client("dynamodb", region_name=REGION)


def as_mysfit(item: dict[str, Any]) -> dict[str, Any]:
    """A DynamoDB item as the site shows it."""

    def text(key: str) -> str:
        return str(item.get(key, {}).get("S", ""))

    return {
        "mysfitId": text("MysfitId"),
        "name": text("Name"),
        "species": text("Species"),
        "description": text("Description"),
        "age": int(item.get("Age", {}).get("N", "0")),
        "goodevil": text("GoodEvil"),
        "lawchaos": text("LawChaos"),
        "likes": int(item.get("Likes", {}).get("N", "0")),
        "adopted": bool(item.get("Adopted", {}).get("BOOL", False)),
    }


def all_mysfits() -> list[dict[str, Any]]:
    mysfits: list[dict[str, Any]] = []
    for page in dynamodb.get_paginator("scan").paginate(TableName=TABLE):
        mysfits.extend(as_mysfit(item) for item in page["Items"])
    return sorted(mysfits, key=lambda mysfit: mysfit["name"])


@app.route("/")
def index() -> str:
    cards = "".join(
        f"<li><b>{html.escape(m['name'])}</b> ({html.escape(m['species'])}, "
        f"{html.escape(m['goodevil'])} / {html.escape(m['lawchaos'])}): {m['likes']} likes</li>"
        for m in all_mysfits()
    )
    return (
        "<!doctype html><html><head><title>Mythical Mysfits</title></head><body>"
        f"<div>Current region: {html.escape(REGION)}</div>"
        f"<h1>Mythical Mysfits</h1><ul>{cards}</ul></body></html>"
    )


@app.route("/mysfits")
def mysfits() -> Response:
    return jsonify({"mysfits": all_mysfits()})


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=8080)
