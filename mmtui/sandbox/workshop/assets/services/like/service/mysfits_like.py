"""The Like service of Mythical Mysfits: counts the hearts a mysfit gets.

Written for mmtui's sandbox. It runs as the container `like-service` behind the load
balancer's rule for /mysfits/*/like, on port 8080. With CHAOSMODE=on (the primary region's
task definition) it fails some requests on purpose, which is what Lab 1 traces with X-Ray.
"""

import logging
import os
import random

import boto3
from flask import Flask, Response, jsonify

REGION = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION", "us-west-2")
TABLE = os.environ.get("DDB_TABLE_NAME", "mm-ddbtable")
CHAOS = os.environ.get("CHAOSMODE", "off") == "on"

logging.basicConfig(level=os.environ.get("LOGLEVEL", "ERROR"))
app = Flask(__name__)
dynamodb = boto3.client("dynamodb", region_name=REGION)


@app.route("/")
def health() -> Response:
    return jsonify({"service": "like", "region": REGION, "healthy": True})


@app.route("/mysfits/<mysfit_id>/like", methods=["POST"])
def like(mysfit_id: str) -> Response | tuple[Response, int]:
    if CHAOS:
        roll = random.randint(1, 100)  # noqa: S311  (chaos, not cryptography)
        if roll <= 25:
            return jsonify({"message": "Internal Server Error"}), 500
        if roll <= 50:
            return jsonify({"message": "Not Found"}), 404
    dynamodb.update_item(
        TableName=TABLE,
        Key={"MysfitId": {"S": mysfit_id}},
        UpdateExpression="SET Likes = Likes + :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
    )
    return jsonify({"Update": "Success"})


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=8080)
