"""Testing utilities: testing modules with overrides, in-memory transport, pytest fixtures."""
