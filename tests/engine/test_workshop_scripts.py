"""Lab 3 step 4 done the way the workshop's own scripts do it (its "Option 2"): the outputs
fetched with `aws cloudformation describe-stacks` into cfn-output.json and
cfn-output-secondary.json, the finished hint buildspecs (app/hints) filled in with `sed`, copied
over both clones, committed and pushed with git through the credential helper the workspace
clones are set up with. `mmtui check` recognises the result; a hint copied with a placeholder
left in is reported, naming the placeholder."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mmtui.sandbox.core.server import Sandbox
from mmtui.sandbox.workshop import stacks as workshop
from tests.conftest import run_by_hand
from tests.engine.test_solve_reset import check, target  # noqa: F401  (fixture)

PRIMARY = "us-west-2"
STEP = "build-artifacts"


def failing_messages(document: dict[str, Any]) -> dict[str, str]:
    return {
        c["id"]: c["message"]
        for step in document["steps"]
        for c in step["checks"]
        if c["status"] != "pass"
    }


def master_head(sandbox: Sandbox, repository: str) -> str:
    branch = sandbox.client("codecommit", PRIMARY).get_branch(
        repositoryName=repository, branchName="master"
    )
    return str(branch["branch"]["commitId"])


def wait_for_runs_of_master(sandbox: Sandbox, seconds: float = 180) -> dict[str, str]:
    """Each pipeline's execution of its repository's master head, once it has finished;
    pipeline → its status."""
    client = sandbox.client("codepipeline", PRIMARY)
    names = [p["name"] for p in client.list_pipelines()["pipelines"]]
    deadline = time.monotonic() + seconds
    while True:
        finished: dict[str, str] = {}
        for name in names:
            source = client.get_pipeline(name=name)["pipeline"]["stages"][0]["actions"][0]
            head = master_head(sandbox, source["configuration"]["RepositoryName"])
            for run in client.list_pipeline_executions(pipelineName=name)[
                "pipelineExecutionSummaries"
            ]:
                revisions = [r.get("revisionId") for r in run.get("sourceRevisions", [])]
                if head in revisions and run["status"] not in ("InProgress", "Stopping"):
                    finished[name] = run["status"]
                    break
        if len(finished) == len(names):
            return finished
        assert time.monotonic() < deadline, f"pipelines still running on master: {finished}"
        time.sleep(0.2)


def test_the_workshops_step4_scripts_are_recognised(
    lab_solved: Callable[..., Sandbox],
    target: list[str],  # noqa: F811
) -> None:
    # Step 4 requires steps 1 and 3 (lab.yaml); the snapshot is shared with other step 4 tests.
    sandbox = lab_solved("1", "3")
    folder = workshop.workshop_folder(sandbox)
    for script in ("app/hints/core-buildspec_prod.yml", "bootstrap/secondary-region/setup"):
        assert (folder / script).is_file(), script

    # An attendee copies the Core hint by hand and fills in two of its three placeholders.
    core: Path = next(sandbox.workspace.glob("core-service-*"))
    unfinished = run_by_hand(
        sandbox,
        f"""set -e
cd {folder}
bootstrap/fetch-outputs
bootstrap/secondary-region/fetch-outputs
get() {{ python3 bootstrap/outputs.py get "$1" "$2"; }}
sed -e "s|REPLACEME_PRIMARY_REPO_URI|$(get cfn-output.json CoreServiceEcrRepo)|" \\
    -e "s|REPLACEME_SECONDARY_REGION|$(get cfn-output-secondary.json SecondaryRegion)|" \\
    app/hints/core-buildspec_prod.yml > {core}/buildspec_prod.yml
cd {core}
git commit -am "Core buildspec from the hint"
git push origin master
""",
    )
    assert unfinished.returncode == 0, unfinished.stdout + unfinished.stderr
    code, document = check(target, STEP)
    assert code == 1
    failing = failing_messages(document)
    assert "REPLACEME_SECONDARY_REPO_URI" in failing["build_artifacts.core_secondary_uri"]

    # Then the workshop's way: its setup script (outputs, hints, sed, commit, push, both repos).
    done = run_by_hand(sandbox, f"cd {folder} && bootstrap/secondary-region/setup")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Found mm-secondary-region in us-east-1" in done.stdout
    runs = wait_for_runs_of_master(sandbox)
    assert set(runs.values()) == {"Succeeded"}, runs
    code, document = check(target, STEP)
    assert code == 0, failing_messages(document)
    assert document["steps"][0]["status"] == "pass"
