"""DI and module errors: message builders and exception classes."""
