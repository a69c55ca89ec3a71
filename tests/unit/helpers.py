"""Shared by the unit tests: the planted admin token and the test client's host."""

ADMIN_TOKEN = "unit-test-admin-token"
TEST_HOST = "testserver"
