"""Helpers the tests use to build, start and inspect what the guide documents."""
