"""The lock files pin every package with its hashes, agree with each other, and are the only
thing `make` and the Docker image install (docs/development.md)."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent.parent
INPUTS_AND_LOCKS = {
    "requirements.in": "requirements.txt",
    "requirements-dev.in": "requirements-dev.txt",
    "requirements-bench.in": "requirements-bench.txt",
}
PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;\\]+)")


def entries(lock: str) -> list[list[str]]:
    """Each requirement of a lock with its continuation lines (hashes), comments left out."""
    grouped: list[list[str]] = []
    for line in (ROOT / lock).read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if line[0].isspace():
            grouped[-1].append(stripped)
        else:
            grouped.append([stripped])
    return grouped


def pins(lock: str) -> dict[str, str]:
    matches = [PIN.match(requirement) for requirement, *_ in entries(lock)]
    return {canonicalize_name(match["name"]): match["version"] for match in matches}


@pytest.mark.parametrize("lock", INPUTS_AND_LOCKS.values())
def test_every_package_in_the_lock_is_pinned_with_its_hashes(lock: str) -> None:
    for requirement, *continuation in entries(lock):
        assert PIN.match(requirement), f"{lock}: {requirement} is not pinned with =="
        assert any(line.startswith("--hash=sha256:") for line in continuation), f"{lock}: {requirement} has no hash"


@pytest.mark.parametrize(("source", "lock"), INPUTS_AND_LOCKS.items())
def test_the_lock_satisfies_every_direct_dependency_of_its_input(source: str, lock: str) -> None:
    locked = pins(lock)
    direct = [
        Requirement(line.split("#")[0])
        for line in (ROOT / source).read_text().splitlines()
        if line.strip() and not line.startswith(("#", "-"))
    ]
    assert direct
    for requirement in direct:
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{lock} lacks {requirement}: run make lock"
        assert requirement.specifier.contains(locked[name], prereleases=True), f"{lock} pins {name}=={locked[name]}"


@pytest.mark.parametrize("lock", ["requirements-dev.txt", "requirements-bench.txt"])
def test_a_package_shared_with_the_runtime_lock_has_the_runtime_version(lock: str) -> None:
    runtime = pins("requirements.txt")
    other = pins(lock)
    assert runtime.keys() <= other.keys(), f"{lock} lacks {sorted(runtime.keys() - other.keys())}"
    assert {name: other[name] for name in runtime} == runtime


def test_the_bench_lock_agrees_with_the_dev_lock_they_share_a_venv_with() -> None:
    dev, bench = pins("requirements-dev.txt"), pins("requirements-bench.txt")
    assert {name: version for name, version in bench.items() if name in dev} == {
        name: dev[name] for name in bench.keys() & dev.keys()
    }


def make_pip_installs() -> list[list[str]]:
    """Every pip install that make would run to set up a venv from nothing, as arguments."""
    venv = "/nonexistent/venv"
    dry_run = subprocess.run(
        ["make", "--dry-run", "--always-make", f"VENV={venv}", "install", "install-dev", f"{venv}/.installed-bench"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return [shlex.split(line) for line in dry_run.stdout.splitlines() if "pip install" in line]


def test_make_installs_only_the_lock_files_and_checks_their_hashes() -> None:
    installs = make_pip_installs()
    assert {tuple(command[command.index("-r") + 1 :]) for command in installs} == {
        (lock,) for lock in INPUTS_AND_LOCKS.values()
    }
    for command in installs:
        assert "--require-hashes" in command, command
        assert not {"--upgrade", "-U", "--no-deps"} & set(command), command


def test_the_image_installs_the_runtime_lock_with_the_options_make_uses() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    image_installs = [
        shlex.split(step)
        for run in re.findall(r"^RUN (.*)$", dockerfile, re.MULTILINE)
        for step in run.split("&&")
        if "pip install" in step
    ]
    assert len(image_installs) == 1, image_installs
    (image_install,) = image_installs
    (make_runtime_install,) = [command for command in make_pip_installs() if command[-1] == "requirements.txt"]

    def options(command: list[str]) -> list[str]:
        return [argument for argument in command[command.index("install") + 1 :] if argument != "--quiet"]

    assert options(image_install) == options(make_runtime_install) == ["--require-hashes", "-r", "requirements.txt"]
    assert re.search(r"^COPY requirements\.txt \./$", dockerfile, re.MULTILINE)
