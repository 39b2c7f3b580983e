"""The image is built and run on every CI run (deploy/check-image, issue 17 "Ship it"), and
the Dockerfile keeps what that check found it needs."""

from __future__ import annotations

import re

from tests.support import REPOSITORY


def test_ci_runs_the_image_check_after_the_static_checks() -> None:
    ci = (REPOSITORY / ".ci" / "run").read_text()

    assert "\ndeploy/check-image\n" in ci
    assert ci.index("deploy/check-image") > ci.index("spectacular --validate")


def test_the_stand_in_cache_stays_out_of_git_and_the_build_context() -> None:
    assert ".image-cache/" in (REPOSITORY / ".gitignore").read_text().splitlines()
    assert ".image-cache" in (REPOSITORY / ".dockerignore").read_text().splitlines()


def test_the_dockerfile_builds_on_the_real_base_image_and_runs_unprivileged() -> None:
    dockerfile = (REPOSITORY / "Dockerfile").read_text()

    assert re.search(r"^FROM python:3\.11-slim$", dockerfile, re.M)
    assert dockerfile.index("\nUSER sigwise\n") < dockerfile.index("\nCMD ")
    # slim has no curl; the health check asks python.
    assert re.search(r'^HEALTHCHECK .*\n\s+CMD \["python", "-c"', dockerfile, re.M)


def test_the_build_time_secret_is_random_not_a_literal() -> None:
    # The settings refuse a key that reads like a placeholder, so a literal one failed the
    # build's collectstatic the first time the image was really built.
    dockerfile = (REPOSITORY / "Dockerfile").read_text()

    (assignment,) = re.findall(r"DJANGO_SECRET_KEY=(\S+)", dockerfile)
    assert assignment.startswith('"$(python'), assignment
