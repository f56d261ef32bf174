"""Benchmarks for nestpy: MQTT request/reply and events against raw paho, in-memory transport,
memory use and DI bootstrap. See ``benchmarks/README.md``."""
