"""`make audit` (bin/audit-dependencies): a known vulnerability in a lock file fails it
unless .pip-audit-ignore.toml accepts it with a reason until a date."""

from __future__ import annotations

import datetime
import importlib.util
import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.machinery import SourceFileLoader
from pathlib import Path
from types import ModuleType

import pytest
from django.utils.timezone import now

ROOT = Path(__file__).resolve().parent.parent.parent
SCRIPT = ROOT / "bin" / "audit-dependencies"
TODAY = datetime.date(2027, 1, 15)


@pytest.fixture(scope="module")
def audit() -> ModuleType:
    # The script has no .py suffix, so the loader is named.
    loader = SourceFileLoader("audit_dependencies", str(SCRIPT))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[loader.name] = module  # dataclasses look their module up while the script runs
    loader.exec_module(module)
    return module


def entry(**changes: object) -> str:
    """One [[ignore]] table as TOML; a change to None leaves that key out."""
    fields = dict(id='"GHSA-aaaa-bbbb-cccc"', package='"django"', reason='"Not reachable."', expires="2027-01-31")
    fields.update(changes)
    return "[[ignore]]\n" + "".join(f"{key} = {value}\n" for key, value in fields.items() if value is not None)


def report(*dependencies: dict) -> dict:
    return {"dependencies": list(dependencies), "fixes": []}


DJANGO_WITH_A_VULNERABILITY = {
    "name": "django",
    "version": "5.2.19",
    "vulns": [
        {"id": "PYSEC-2027-1", "aliases": ["GHSA-aaaa-bbbb-cccc"], "fix_versions": ["5.2.20"], "description": "Bad."}
    ],
}


def test_an_ignore_entry_is_in_force_until_its_expiry_date(audit: ModuleType) -> None:
    ignored, problems = audit.load_ignored(text=entry(), today=TODAY)
    assert problems == []
    assert [(item.id, item.expires) for item in ignored] == [("GHSA-aaaa-bbbb-cccc", datetime.date(2027, 1, 31))]

    ignored, problems = audit.load_ignored(text=entry(), today=datetime.date(2027, 2, 1))
    assert ignored == []
    assert problems == [
        "ignore entry 1 (GHSA-aaaa-bbbb-cccc) expired on 2027-01-31: fix the package or renew the entry with a reason"
    ]


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"reason": None}, "lacks reason"),
        ({"reason": '""'}, "lacks reason"),
        ({"expires": None}, "lacks expires"),
        ({"expires": '"someday"'}, "expires must be a date"),
        ({"package": None, "id": None}, "lacks id, package"),
    ],
)
def test_an_ignore_entry_without_a_reason_or_a_date_is_refused(audit: ModuleType, changes: dict, problem: str) -> None:
    ignored, problems = audit.load_ignored(text=entry(**changes), today=TODAY)
    assert ignored == []
    assert len(problems) == 1
    assert problem in problems[0]


def test_the_committed_ignore_file_has_no_expired_or_incomplete_entry(audit: ModuleType) -> None:
    today = now().date()
    assert audit.load_ignored(text=audit.IGNORE_FILE.read_text(), today=today)[1] == []


def test_an_unlisted_vulnerability_fails_and_names_the_fixed_release(audit: ModuleType) -> None:
    verdict = audit.judge(report=report(DJANGO_WITH_A_VULNERABILITY), ignored=[], require_database=True)
    assert verdict.failures == ["django 5.2.19: PYSEC-2027-1 (fixed in 5.2.20): Bad."]


def test_a_vulnerability_listed_under_one_of_its_aliases_is_accepted(audit: ModuleType) -> None:
    ignored, _ = audit.load_ignored(text=entry(), today=TODAY)
    verdict = audit.judge(report=report(DJANGO_WITH_A_VULNERABILITY), ignored=ignored, require_database=True)
    assert verdict.failures == []
    assert verdict.notes == ["django 5.2.19: PYSEC-2027-1 accepted until 2027-01-31: Not reachable."]


def test_an_entry_for_another_package_does_not_accept_the_vulnerability(audit: ModuleType) -> None:
    ignored, _ = audit.load_ignored(text=entry(package='"redis"'), today=TODAY)
    verdict = audit.judge(report=report(DJANGO_WITH_A_VULNERABILITY), ignored=ignored, require_database=True)
    assert len(verdict.failures) == 1


def test_a_package_the_database_skipped_fails(audit: ModuleType) -> None:
    verdict = audit.judge(
        report=report({"name": "redis", "version": "6.4.0", "vulns": []}, {"name": "pgserver", "skip_reason": "gone"}),
        ignored=[],
        require_database=False,
    )
    assert verdict.failures == ["pgserver: gone"]


@pytest.mark.parametrize("require_database", [True, False])
def test_an_unreachable_database_fails_only_where_the_audit_is_required(
    audit: ModuleType, require_database: bool
) -> None:
    unreachable = report({"name": "django", "skip_reason": "not found"}, {"name": "redis", "skip_reason": "not found"})
    verdict = audit.judge(report=unreachable, ignored=[], require_database=require_database)
    assert verdict.audited is False
    assert bool(verdict.failures) is require_database
    assert "NOT AUDITED" in (verdict.failures + verdict.notes)[0]


@pytest.fixture
def vulnerability_database() -> Iterator[str]:
    """A stand-in for the OSV API that knows one advisory, for the locked Django."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            query = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            answer = {}
            if query["package"]["name"] == "django":
                affected = [{"package": {"name": "django", "ecosystem": "PyPI"}, "ranges": []}]
                affected[0]["ranges"] = [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "99.0"}]}]
                answer = {"vulns": [{"id": "PYSEC-2027-1", "aliases": ["GHSA-aaaa-bbbb-cccc"], "affected": affected}]}
            body = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1/query"
    server.shutdown()
    thread.join()


@pytest.mark.parametrize(("ignore_file", "exit_code"), [("", 1), (entry(expires="2999-12-31"), 0)])
def test_pip_audit_over_the_locks_fails_on_a_known_vulnerability_unless_it_is_listed(
    vulnerability_database: str, tmp_path: Path, ignore_file: str, exit_code: int
) -> None:
    (tmp_path / "ignore.toml").write_text(ignore_file)
    command = [sys.executable, str(SCRIPT), "--ignore-file", str(tmp_path / "ignore.toml")]
    command += ["--", "--vulnerability-service=osv", f"--osv-url={vulnerability_database}"]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert completed.returncode == exit_code, completed.stdout + completed.stderr
    (locked_django,) = re.findall(r"^django==(\S+)", (ROOT / "requirements.txt").read_text(), re.MULTILINE)
    assert f"django {locked_django}: PYSEC-2027-1" in completed.stdout
