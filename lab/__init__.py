"""The lab: what proves and measures this reference, apart from what a cloner keeps. The kernel
never imports it; `rm -r lab` removes it (README, "Layout")."""
