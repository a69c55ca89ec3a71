"""What the arm64 proof allows for: an emulated machine is many times slower than a real one."""

ARM64 = "linux/arm64"
# Startup, health and stop under qemu: generous, as nothing here measures speed.
STARTUP_SECONDS = 180
HEALTH_SECONDS = 120
STOP_SECONDS = 10
# The image's HEALTHCHECK allows its command 3 s, a native figure: under qemu Python alone can
# take longer to start. The container gets more (`--health-timeout`); command and verdict stay
# the image's.
HEALTH_TIMEOUT = "60s"
