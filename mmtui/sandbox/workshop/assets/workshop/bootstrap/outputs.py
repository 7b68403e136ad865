"""Helpers for the bootstrap scripts (the workshop's scripts use jq; python3 is always there
where the aws CLI is, jq is not). Usage:

    python3 outputs.py flatten < describe-stacks.json > cfn-output.json
    python3 outputs.py get FILE KEY
"""

import json
import sys


def flatten() -> None:
    """describe-stacks' answer → {OutputKey: OutputValue} of its first stack."""
    stacks = json.load(sys.stdin)["Stacks"]
    outputs = stacks[0].get("Outputs", []) if stacks else []
    json.dump({o["OutputKey"]: o["OutputValue"] for o in outputs}, sys.stdout, indent=2)
    sys.stdout.write("\n")


def get(path: str, key: str) -> None:
    """One value of a flat outputs file; a missing key is an error naming the file."""
    with open(path, encoding="utf-8") as handle:
        values = json.load(handle)
    if key not in values:
        sys.exit(f"{path} has no output {key}: run the fetch-outputs script for that stack again")
    print(values[key])


if __name__ == "__main__":
    if sys.argv[1:2] == ["flatten"]:
        flatten()
    elif sys.argv[1:2] == ["get"] and len(sys.argv) == 4:
        get(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
