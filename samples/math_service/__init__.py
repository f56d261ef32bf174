"""The math service sample: ``python -m samples.math_service``."""

from samples.math_service.app_module import AppModule

__all__ = ["AppModule"]
