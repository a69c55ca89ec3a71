"""The demonstration: what each check of the contract catches, shown on an image made to be
caught. Nothing of the service's kernel imports it; `nox -s lint`, `build` and `test` run it
when this folder is present (noxfile.py).

- ``Dockerfile.baseline`` (at the top level, with its .dockerignore): the common "basic"
  Dockerfile, bad on purpose;
- expected.py: the one table of what it gets wrong, with the evidence each check must observe,
  and what hadolint and checkov must find in it;
- plugin.py: brings it to the contract's checks (a pytest plugin, ``-p demonstration.plugin``);
- test_controls.py: the negative controls that are not the baseline;
- build.py and lint.py: its build and its lint.

Remove it with ``rm -r demonstration Dockerfile.baseline Dockerfile.baseline.dockerignore``
(README, "Layout"). The lab measures the journey from the baseline: remove the lab first.
"""

from tools import images
from tools.project import NAME

BASELINE = images.Image("baseline", f"{NAME}:baseline", "Dockerfile.baseline")
