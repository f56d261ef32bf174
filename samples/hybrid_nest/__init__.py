"""The hybrid sample: a NestJS client calls a nestpy service (``python -m samples.hybrid_nest``)."""
