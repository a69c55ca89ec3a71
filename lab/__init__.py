"""The lab: what proves and measures this reference, apart from what a cloner keeps. The kernel
never imports it; `rm -r lab` removes it (README, "Layout"). It measures the journey from the
demonstration's baseline, so it needs demonstration/: remove the lab first, or with it."""

from demonstration import BASELINE
from tools import images

# What the lab builds and measures side by side: the service's images and the baseline.
IMAGES = (*images.shipped(), BASELINE)
