"""Build and measurement tooling for the project's images; the service never imports it."""
