"""The engine: scanner -> encapsulation -> dependency graph -> compiler -> instances -> hooks."""
