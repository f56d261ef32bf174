"""ConfigModule.for_root on pydantic-settings: providers, ConfigService, errors, secrets."""

from __future__ import annotations

import logging
import traceback
from pathlib import Path

import pytest
from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from nestpy import Injectable, Module, NestFactory, Provider
from nestpy.config import (
    ConfigKeyError,
    ConfigModule,
    ConfigService,
    ConfigValidationError,
)
from nestpy.microservices import ClientsModule, Transport
from nestpy.testing import InMemoryClient, InMemoryOptions, Test
from tests.testing.apps import Calculator, MathController

SECRET = "s3cr3t-passw0rd"


class MqttSettings(BaseModel):
    url: str = "mqtt://localhost:1883"
    qos: int = Field(default=0, ge=0, le=2)


class AppSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="APP_", env_nested_delimiter="__")

    name: str = "math"
    port: int = 8080
    password: SecretStr
    request_timeout: float = 5.0
    mqtt: MqttSettings = Field(default_factory=MqttSettings)
    tags: dict[str, str] = Field(default_factory=dict)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("APP_"):
            monkeypatch.delenv(name)


@Injectable()
class Greeter:
    def __init__(self, settings: AppSettings, config: ConfigService) -> None:
        self.settings = settings
        self.config = config


async def test_for_root_provides_the_validated_settings_and_a_config_service(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("APP_PASSWORD", SECRET)
    monkeypatch.setenv("APP_PORT", "9090")
    monkeypatch.setenv("APP_MQTT__URL", "mqtt://broker:1884")

    @Module(providers=[Greeter])
    class FeatureModule: ...

    @Module(imports=[ConfigModule.for_root(settings=AppSettings, is_global=True), FeatureModule])
    class AppModule: ...

    app = await NestFactory.create_application_context(AppModule)
    greeter = app.get(Greeter)
    assert greeter.settings is app.get(AppSettings)
    assert greeter.settings.port == 9090
    assert greeter.settings.password.get_secret_value() == SECRET
    config = greeter.config
    assert config.settings is greeter.settings
    assert config.get("port") == 9090
    assert config.get("mqtt.url") == "mqtt://broker:1884"
    assert config.get("mqtt.qos") == 0
    assert config.get("mqtt.nope") is None
    assert config.get("missing", "fallback") == "fallback"
    assert config.get_or_throw("name") == "math"
    with pytest.raises(ConfigKeyError) as info:
        config.get_or_throw("mqtt.host")
    assert str(info.value) == 'Configuration key "mqtt.host" does not exist'
    await app.close()


async def test_without_is_global_only_importers_see_the_settings() -> None:
    from nestpy import UnknownDependenciesError

    config = ConfigModule.for_root(settings=AppSettings, values={"password": SECRET})

    @Module(providers=[Greeter])
    class FeatureModule: ...

    @Module(imports=[config, FeatureModule])
    class AppModule: ...

    with pytest.raises(UnknownDependenciesError, match="AppSettings"):
        await NestFactory.create_application_context(AppModule)

    @Module(imports=[config], providers=[Greeter])
    class ImportingModule: ...

    app = await NestFactory.create_application_context(ImportingModule)
    assert app.get(Greeter).settings.password.get_secret_value() == SECRET
    await app.close()


async def test_env_file_is_read_and_the_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(f"APP_PASSWORD={SECRET}\nAPP_NAME=from-file\nAPP_PORT=1\n")
    monkeypatch.setenv("APP_PORT", "2")
    module = await Test.create_testing_module(
        imports=[ConfigModule.for_root(settings=AppSettings, env_file=env_file)]
    ).compile()
    config = module.get(ConfigService)
    assert (config.get("name"), config.get("port")) == ("from-file", 2)
    await module.close()


async def test_a_settings_instance_is_provided_as_it_is() -> None:
    settings = AppSettings(password=SecretStr(SECRET), port=1)
    module = await Test.create_testing_module(
        imports=[ConfigModule.for_root(settings=settings, is_global=True)]
    ).compile()
    assert module.get(AppSettings) is settings
    assert module.get(ConfigService).get("port") == 1
    await module.close()


async def test_register_async_builds_client_options_from_the_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("APP_PASSWORD", SECRET)
    monkeypatch.setenv("APP_REQUEST_TIMEOUT", "2.5")

    def client_options(settings: AppSettings) -> InMemoryOptions:
        return InMemoryOptions(request_timeout=settings.request_timeout)

    @Module(
        imports=[
            ConfigModule.for_root(settings=AppSettings, is_global=True),
            ClientsModule.register_async(
                name="MATH_SERVICE",
                use_factory=client_options,
                inject=[AppSettings],
                transport=Transport.IN_MEMORY,
            ),
        ],
        controllers=[MathController],
        providers=[Calculator],
    )
    class AppModule: ...

    module = await Test.create_testing_module(imports=[AppModule]).compile()
    client = module.get("MATH_SERVICE")
    assert isinstance(client, InMemoryClient)
    assert client.options.request_timeout == 2.5
    async with await module.create_microservice():
        assert await client.send("sum", [1, 2]) == 3


async def test_register_async_builds_mqtt_options_from_the_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from nestpy_mqtt import ClientMqtt, MqttOptions

    monkeypatch.setenv("APP_PASSWORD", SECRET)
    monkeypatch.setenv("APP_MQTT__URL", "mqtt://broker.example:1884")

    @Module(
        imports=[
            ConfigModule.for_root(settings=AppSettings, is_global=True),
            ClientsModule.register_async(
                name="MATH_SERVICE",
                use_factory=lambda s: MqttOptions(url=s.mqtt.url, password=s.password),
                inject=[AppSettings],
            ),
        ]
    )
    class AppModule: ...

    module = await Test.create_testing_module(imports=[AppModule]).compile()
    client = module.get("MATH_SERVICE")
    assert isinstance(client, ClientMqtt)
    assert (client.options.host, client.options.port) == ("broker.example", 1884)
    assert SECRET not in repr(client.options)
    await module.close()


class StrictSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="APP_", env_nested_delimiter="__")

    port: int
    password: SecretStr = Field(min_length=32)
    mqtt: MqttSettings = Field(default_factory=MqttSettings)
    token: str = Field(validation_alias="SERVICE_TOKEN")


async def test_invalid_settings_fail_at_bootstrap_naming_the_env_variables(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("APP_PORT", "eighty")
    monkeypatch.setenv("APP_PASSWORD", SECRET)
    monkeypatch.setenv("APP_MQTT__QOS", "7")
    monkeypatch.delenv("SERVICE_TOKEN", raising=False)

    @Module(imports=[ConfigModule.for_root(settings=StrictSettings, env_file=".env.missing")])
    class AppModule: ...

    with caplog.at_level(logging.DEBUG), pytest.raises(ConfigValidationError) as info:
        await NestFactory.create_application_context(AppModule)
    assert str(info.value) == (
        "StrictSettings is invalid (4 errors):\n"
        "  port (env APP_PORT): Input should be a valid integer, unable to parse string as an"
        " integer\n"
        "  password (env APP_PASSWORD): Value should have at least 32 items after validation,"
        " not 15\n"
        "  mqtt.qos (env APP_MQTT__QOS): Input should be less than or equal to 2\n"
        "  token (env SERVICE_TOKEN): Field required\n"
        "Set these variables in the environment or .env.missing."
    )
    assert [e.env for e in info.value.errors] == [
        "APP_PORT",
        "APP_PASSWORD",
        "APP_MQTT__QOS",
        "SERVICE_TOKEN",
    ]
    assert isinstance(info.value, ValueError)
    # the secret (and the other inputs) appear nowhere: not in the message, the traceback
    # with its causes, nor the logs
    shown = "".join(traceback.format_exception(info.value))
    assert SECRET not in shown
    assert "eighty" not in shown
    assert SECRET not in caplog.text


def test_secrets_stay_out_of_reprs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_PASSWORD", SECRET)
    from nestpy.config import load_settings

    settings = load_settings(AppSettings)
    service = ConfigService(settings)
    assert SECRET not in repr(settings)
    assert SECRET not in str(settings)
    assert repr(service) == "ConfigService(AppSettings)"
    assert SECRET not in repr(service.get("password"))
    assert service.get("password").get_secret_value() == SECRET


async def test_config_service_can_be_injected_by_token_in_factories() -> None:
    @Module(
        imports=[ConfigModule.for_root(settings=AppSettings, values={"password": SECRET})],
        providers=[
            Provider(
                "GREETING",
                use_factory=lambda config: f"hello {config.get('name')}",
                inject=[ConfigService],
            )
        ],
    )
    class AppModule: ...

    app = await NestFactory.create_application_context(AppModule)
    assert app.get("GREETING") == "hello math"
    await app.close()


class NoDelimiter(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="svc_", case_sensitive=True)

    mqtt: MqttSettings
    token: str = Field(validation_alias="Token")


@pytest.mark.parametrize(
    ("settings", "loc", "env"),
    [
        (AppSettings, ("mqtt", "url"), "APP_MQTT__URL"),
        (AppSettings, ("tags", "x"), "APP_TAGS__X"),
        (NoDelimiter, ("mqtt", "url"), "svc_mqtt"),
        (NoDelimiter, ("Token",), "Token"),
    ],
)
def test_env_name_follows_the_settings_config(settings, loc, env) -> None:
    from nestpy.config.loader import env_name

    assert env_name(settings, loc) == env
