"""The checks of `nox -s lint` that are no pre-commit hook: ``python -m tools.lint``, after
`pre-commit run` (.pre-commit-config.yaml: ruff, hadolint, shellcheck, check-jsonschema, zizmor,
kubernetes-validate).

- The Kubernetes manifests `kubectl apply` is given, the templates written with the profile
  (tools/kubernetes.py), against Kubernetes' schemas by kubernetes-validate --strict (whose hook
  validates the templates as they are).
- checkov on the service's Dockerfiles and on those manifests (nothing fails), run
  by uvx at its pin (tools/checkov-requirements.txt: why not in the lint group) and judged on
  its JSON report: a file it could not parse, or nothing found to check, fails, which its exit
  code would not say. dev.Dockerfile and the tests' toolbox are not services anyone deploys:
  hadolint's only.
- The controls: a broken copy of that Deployment, which kubernetes-validate --strict and
  checkov must each reject, so a check that no longer looks cannot pass quietly.

Run in the lint session's venv, where those tools are installed. Exits 1 with what failed.
(The demonstration's bad Dockerfile has its expected findings: demonstration/lint.py.)
"""

import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from tools import images, kubernetes
from tools.engine import ImageToolError
from tools.profile import profile
from tools.project import ROOT

# checkov's pin (why it is not in pyproject.toml: that file's comment).
CHECKOV_PIN = ROOT / "tools" / "checkov-requirements.txt"
# What checkov reads here: the Dockerfiles, the Kubernetes manifests.
FRAMEWORKS = ("dockerfile", "kubernetes")
# What checkov must flag in a Deployment whose container lost its securityContext: privilege
# escalation (20), a writable root (22), capabilities kept (37).
UNLOCKED_FINDINGS = {"CKV_K8S_20", "CKV_K8S_22", "CKV_K8S_37"}


class LintError(Exception):
    """A tool that could not give a verdict: one line saying why."""


def run(command: list[str]) -> subprocess.CompletedProcess[str]:
    """``command`` in the project root, its output captured; LintError when it is missing."""
    try:
        return subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    except FileNotFoundError:
        raise LintError(f"{command[0]} is not installed: run `nox -s lint`") from None


def checkov_pin() -> str:
    """The one requirement line of CHECKOV_PIN (checkov==VERSION)."""
    lines = [line.strip() for line in CHECKOV_PIN.read_text().splitlines()]
    pins = [line for line in lines if line and not line.startswith("#")]
    if len(pins) != 1 or not re.fullmatch(r"checkov==[\w.]+", pins[0]):
        raise LintError(f"{CHECKOV_PIN.relative_to(ROOT)}: expected one line checkov==VERSION")
    return pins[0]


def checkov(files: list[Path], frameworks: tuple[str, ...] = FRAMEWORKS) -> dict[Path, set[str]]:
    """checkov's failed check ids on ``files`` (of ``frameworks``: Dockerfiles, Kubernetes
    manifests), by the file's absolute path: one run for all, as each spends about 13 s
    starting.

    Run by uvx in an environment of its own, at the pinned version; offline once installed
    (--skip-download: no guidelines from Prisma Cloud). LintError when it parsed nothing of a
    framework, could not parse a file, or answered no JSON."""
    done = run(
        ["uvx", "--from", checkov_pin(), "checkov", "--framework", *frameworks,
         "-f", *map(str, files), "--skip-download", "--quiet", "--compact", "--output", "json"],
    )  # fmt: skip
    try:
        reports = json.loads(done.stdout)
    except ValueError:
        said = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise LintError(f"checkov gave no report: {said}") from None
    # One report per framework that found something; a lone one is not in a list.
    reports = reports if isinstance(reports, list) else [reports]
    found = {r.get("check_type") for r in reports if r.get("summary", {}).get("resource_count")}
    if missing := [framework for framework in frameworks if framework not in found]:
        raise LintError(f"checkov found nothing to check as {', '.join(missing)}")
    if any(r["summary"]["parsing_errors"] for r in reports):
        raise LintError(f"checkov could not parse one of {' '.join(map(str, files))}")
    failed: dict[Path, set[str]] = {}
    for report in reports:
        for check in report["results"]["failed_checks"]:
            failed.setdefault(Path(check["file_abs_path"]), set()).add(check["check_id"])
    return failed


def shown(failed: dict[Path, set[str]], files: list[Path]) -> str:
    """What fails among ``files``, or that nothing does."""
    said = [
        f"{path.name} fails {', '.join(sorted(failed[path]))}" for path in files if path in failed
    ]
    return "; ".join(said) or "nothing fails"


def unlocked(deployment: Path, folder: Path) -> Path:
    """A copy of the Deployment whose container has no securityContext, and whose first field
    of the pod's securityContext is misspelt (what --strict validation must reject)."""
    try:
        documents = list(yaml.safe_load_all(deployment.read_text()))
        for document in documents:
            pod = document["spec"]["template"]["spec"]
            for container in pod["containers"]:
                container.pop("securityContext", None)
            pod["securityContext"]["runAsNonroot"] = pod["securityContext"].pop("runAsNonRoot")
    except (yaml.YAMLError, KeyError, TypeError) as error:
        said = " ".join(f"{type(error).__name__}: {error}".split())
        raise LintError(f"{deployment.name} is not the Deployment lint expects: {said}") from None
    copy = folder / deployment.name
    copy.write_text(yaml.safe_dump_all(documents))
    return copy


def problems() -> list[str]:
    """The service's Dockerfiles (tools/images.shipped) and the templates written with the
    profile into a folder of lint's own (build/kubernetes/, the user's, is left alone):
    kubernetes-validate --strict and checkov pass them; a broken copy of their Deployment is
    rejected by both."""
    dockerfiles = [ROOT / image.dockerfile for image in images.shipped()]
    templates = kubernetes.TEMPLATES.relative_to(ROOT)
    with tempfile.TemporaryDirectory() as folder:
        rendered = Path(folder) / "rendered"
        try:
            written = kubernetes.write(kubernetes.render(profile()), rendered)
        except ImageToolError as error:
            raise LintError(str(error)) from None
        found = []
        done = run(["kubernetes-validate", "--strict", "--quiet", *map(str, written)])
        verdict = "rejected" if done.returncode else "valid"
        print(f"kubernetes-validate --strict on {templates} with the profile: {verdict}")
        said = (done.stdout + done.stderr).replace(f"{rendered}/", "").splitlines()
        found += [f"kubernetes-validate: {line}" for line in said if done.returncode]
        broken = unlocked(rendered / "deployment.yaml", Path(folder))
        if not run(["kubernetes-validate", "--strict", "--quiet", str(broken)]).returncode:
            found.append("kubernetes-validate --strict accepts a misspelt field")
        failed = checkov([*dockerfiles, *written, broken])
    names = ", ".join(path.name for path in dockerfiles)
    print(f"checkov on {names}: {shown(failed, dockerfiles)}")
    print(f"checkov on {templates} with the profile: {shown(failed, written)}")
    found += [
        f"checkov: {path.name} fails {sorted(failed[path])}"
        for path in [*dockerfiles, *written]
        if path in failed
    ]
    flagged = failed.get(broken, set())
    print(f"checkov on a Deployment without the container's securityContext: {sorted(flagged)}")
    if missing := UNLOCKED_FINDINGS - flagged:
        found.append(f"checkov no longer flags {sorted(missing)} on an unlocked Deployment")
    return found


def main() -> int:
    try:
        found = problems()
    except LintError as error:
        found = [str(error)]
    for problem in found:
        print(f"error: {problem}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
