"""The math client sample: ``python -m samples.math_client``."""
