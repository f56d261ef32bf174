"""Transport-agnostic microservices: patterns, handlers, clients and servers."""
