"""Runnable samples: ``python -m samples.math_service``, ``samples.math_client``,
``samples.sensor_fleet``, ``samples.hybrid_nest`` and ``samples.demo`` (see samples/README.md)."""
