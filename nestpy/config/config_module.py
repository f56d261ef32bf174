"""``ConfigModule.for_root``: validated pydantic-settings as injectable providers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic_settings import BaseSettings

from nestpy.common.decorators import Module
from nestpy.common.dynamic_module import DynamicModule
from nestpy.common.providers import Provider
from nestpy.config.config_service import ConfigService
from nestpy.config.loader import EnvFile, load_settings


@Module()
class ConfigModule:
    """Nest's ``ConfigModule`` on pydantic-settings.

    >>> class AppSettings(BaseSettings):
    ...     model_config = SettingsConfigDict(env_prefix="APP_")
    ...     mqtt_url: str = "mqtt://localhost:1883"
    ...     password: SecretStr
    >>> @Module(imports=[ConfigModule.for_root(settings=AppSettings, is_global=True,
    ...                                        env_file=".env")])
    ... class AppModule: ...

    Providers inject ``AppSettings`` (the validated instance) or ``ConfigService``.
    """

    @staticmethod
    def for_root(
        *,
        settings: type[BaseSettings] | BaseSettings,
        is_global: bool = False,
        env_file: EnvFile | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> DynamicModule:
        """Provide ``settings`` under its class and a ``ConfigService`` reading it.

        A class is instantiated at bootstrap from the environment, ``env_file`` and ``values``
        (which win); invalid settings fail the bootstrap with ``ConfigValidationError``,
        naming each invalid field, its env variable and pydantic's message. An instance is
        provided as it is. ``is_global`` makes both visible to every module.
        """
        if isinstance(settings, BaseSettings):
            token: type[BaseSettings] = type(settings)
            settings_provider = Provider(token, use_value=settings)
        else:
            token = settings
            frozen_values = dict(values or {})
            settings_provider = Provider(
                token,
                use_factory=lambda: load_settings(token, env_file=env_file, values=frozen_values),
            )
        return DynamicModule(
            module=ConfigModule,
            providers=[
                settings_provider,
                Provider(ConfigService, use_factory=ConfigService, inject=[token]),
            ],
            exports=[token, ConfigService],
            global_=is_global,
        )
