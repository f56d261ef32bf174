"""Configuration on pydantic-settings (Nest's ``@nestjs/config``).

``ConfigModule.for_root(settings=AppSettings, is_global=True, env_file=".env")`` provides the
validated ``AppSettings`` instance and a ``ConfigService``.
"""

from nestpy.config.config_module import ConfigModule
from nestpy.config.config_service import ConfigKeyError, ConfigService
from nestpy.config.loader import ConfigValidationError, SettingError, load_settings

__all__ = [
    "ConfigKeyError",
    "ConfigModule",
    "ConfigService",
    "ConfigValidationError",
    "SettingError",
    "load_settings",
]
