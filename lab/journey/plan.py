"""The journey's steps, said once: from the baseline to the `Dockerfile`, one lesson per step,
then the step beyond it. Each step's Dockerfile is the one before it plus that lesson, so their
diff is the lesson. Pure data: measure.py, test_steps.py and anything else may import it.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    # Short, unique, lower case: the image tag, the chart's label, the result's heading.
    name: str
    # What changed, in a few words (Markdown).
    change: str
    # Why, in one sentence (Markdown).
    why: str
    # Relative to the repository's root.
    dockerfile: str


STEPS = (
    Step(
        "baseline",
        "the bad start",
        "The common basic Dockerfile: a generic OS on a rolling tag, Python and pip from apt with "
        "recommends, poetry via pip, `COPY . .`, a secret in `ARG`/`ENV`, root, shell-form `CMD`.",
        "Dockerfile.baseline",
    ),
    Step(
        "language-image",
        "`FROM python`",
        "Python comes built and tested; apt is left with only what the app adds.",
        "lab/journey/steps/1-language-image.Dockerfile",
    ),
    Step(
        "slim-variant",
        "`FROM python:slim`",
        "No compilers, headers or VCS tools: a pure-Python app with wheels never uses them.",
        "lab/journey/steps/1b-slim-variant.Dockerfile",
    ),
    Step(
        "pinned-tag",
        "`FROM python:3.14-slim-trixie`",
        "The same base on every build until you change it on purpose: nothing measurable today, "
        "everything the day `latest` moves.",
        "lab/journey/steps/2-pinned-tag.Dockerfile",
    ),
    Step(
        "lean-apt",
        "`--no-install-recommends`, lists removed in the same `RUN`",
        "No layer keeps what apt only needed while it ran.",
        "lab/journey/steps/3-lean-apt.Dockerfile",
    ),
    Step(
        "uv",
        "uv instead of poetry and pip",
        "uv installs from the lock, fast, and the dependencies get a cached layer of their own "
        "before `COPY . .`, so a source edit no longer reinstalls them.",
        "lab/journey/steps/4-uv.Dockerfile",
    ),
    Step(
        "multi-stage",
        "builder and runtime stages",
        "uv, its cache and the build stay in the builder; the runtime starts again from the base.",
        "lab/journey/steps/5-multi-stage.Dockerfile",
    ),
    Step(
        "only-the-venv",
        "dependencies then project, non-editable; only the venv copied",
        "The runtime receives the installed app and nothing else: no sources, no tests, no `.env`.",
        "lab/journey/steps/6-only-the-venv.Dockerfile",
    ),
    Step(
        "allow-list-context",
        "the project's allow-list `.dockerignore`",
        "The builder is sent only what the images use, so a secret or a large folder in the "
        "checkout never reaches any build.",
        "lab/journey/steps/7-allow-list-context.Dockerfile",
    ),
    Step(
        "secret-mounts",
        "build secrets by secret mount only",
        "A secret in `ARG` or `ENV` stays in the image's config and history; a secret mount "
        "exists only while its `RUN` runs.",
        "lab/journey/steps/8-secret-mounts.Dockerfile",
    ),
    Step(
        "exec-form-cmd",
        "exec-form `CMD`, unbuffered output",
        "With shell form `/bin/sh` is PID 1 and ignores SIGTERM, so `docker stop` kills after "
        "10 s; in exec form the app gets the signal and stops gracefully.",
        "lab/journey/steps/9-exec-form-cmd.Dockerfile",
    ),
    Step(
        "healthcheck",
        "`HEALTHCHECK` by a stdlib probe; no curl",
        "The engine and orchestrators learn when the service is ready or stuck, without a curl "
        "(and its libraries) installed for it.",
        "lab/journey/steps/10-healthcheck.Dockerfile",
    ),
    Step(
        "non-root",
        "numeric non-root user, `/data` for it, no setuid bits",
        "Code execution in the app cannot rewrite the app or the image, Kubernetes can verify "
        "`runAsNonRoot`, and nothing in the image can gain privileges.",
        "lab/journey/steps/11-non-root.Dockerfile",
    ),
    Step(
        "stdlib-bytecode",
        "the standard library's bytecode compiled at build time",
        "The official base has no stdlib bytecode, so each start compiled what it imported; now "
        "what the service and its probe import is compiled once, at build time.",
        "lab/journey/steps/12-stdlib-bytecode.Dockerfile",
    ),
    Step(
        "reproducible",
        "`SOURCE_DATE_EPOCH`, no install-time marker",
        "The same commit gives the same bytecode and image dates, so two builds can be compared "
        "and verified.",
        "lab/journey/steps/13-reproducible.Dockerfile",
    ),
    Step(
        "labels",
        "OCI labels and `/version`, set last",
        "An image says what it is and which commit built it; set last, a new commit rebuilds no "
        "layer above them.",
        "lab/journey/steps/14-labels.Dockerfile",
    ),
    Step(
        "why-per-line",
        "one short comment per instruction (the `Dockerfile`)",
        "The Dockerfile is read far more often than it is written: each line says why it is "
        "there, and uv is copied next to the `RUN` that uses it.",
        "Dockerfile",
    ),
    Step(
        "distroless",
        "distroless runtime (the `Dockerfile.minimal`)",
        "The step beyond the `Dockerfile`, not a replacement: no shell, package manager, pip or "
        "coreutils for an attacker to use; Python and the libraries it links copied from the "
        "base.",
        "Dockerfile.minimal",
    ),
)
