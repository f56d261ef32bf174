"""The math service's root module."""

from __future__ import annotations

from nestpy import Module
from samples.math_service.math_controller import MathController, RequestController
from samples.math_service.providers import Calculator, RequestInfo, UserDirectory


@Module(
    controllers=[MathController, RequestController],
    providers=[Calculator, UserDirectory, RequestInfo],
)
class AppModule:
    """Run with ``python -m samples.math_service``."""
