"""AsyncAPI 3.0 documents: ``nestpy asyncapi`` and ``/asyncapi.json``, validated by the official
parser (``@asyncapi/parser`` from npm, installed by ``tests/ops/setup.sh``)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import httpx
import pytest
import yaml
from ops_app import AppModule
from pydantic import BaseModel
from transport_support import Harness, make_module

from nestpy import Controller
from nestpy.asyncapi import asyncapi_document, module_controllers
from nestpy.microservices import MessagePattern, Payload
from nestpy_mqtt import MqttOptions

HERE = Path(__file__).parent
PARSER = HERE / "asyncapi_parser"


def validate(document_file: Path) -> dict:
    if shutil.which("node") is None:
        pytest.skip("node is needed for the official AsyncAPI parser")
    if not (PARSER / "node_modules" / "@asyncapi" / "parser").is_dir():
        pytest.skip("@asyncapi/parser is not installed: run bash tests/ops/setup.sh")
    out = subprocess.run(
        ["node", str(PARSER / "validate.mjs"), str(document_file)],
        capture_output=True,
        text=True,
        timeout=50,
        check=True,
    )
    result = json.loads(out.stdout)
    problems = [d for d in result["diagnostics"] if d["severity"] <= 1]  # errors and warnings
    assert result["valid"], problems
    assert problems == []
    return result


def nestpy_asyncapi(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("NESTPY_")}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "nestpy.cli",
            "asyncapi",
            "ops_app:AppModule",
            "--app-dir",
            str(HERE),
            *args,
        ],
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )


def test_cli_writes_a_valid_document_with_channels_operations_schemas_and_qos(tmp_path):
    target = tmp_path / "asyncapi.json"
    env = {"NESTPY_MQTT_URL": "mqtts://broker.example:8883", "NESTPY_MQTT_PROTOCOL_VERSION": "5"}
    result = nestpy_asyncapi("-o", str(target), env=env)
    assert result.returncode == 0, result.stderr
    parsed = validate(target)
    assert parsed["version"] == "3.0.0"
    assert parsed["channels"] == [
        "ops/sum", "ops/sum/reply", "ops/divide", "ops/divide/reply", "ops/slow",
        "ops/slow/reply", "ops/count", "ops/count/reply", "ops/users/+/created",
    ]  # fmt: skip
    doc = json.loads(target.read_text())
    assert doc["servers"]["broker"] == {
        "host": "broker.example:8883",
        "protocol": "secure-mqtt",
        "protocolVersion": "5",
        "description": "The MQTT broker (from the service's MqttOptions).",
        "bindings": {"mqtt": {"cleanSession": True, "keepAlive": 60, "bindingVersion": "0.2.0"}},
    }
    divide = doc["operations"]["OpsController_divide"]
    assert divide["action"] == "receive"
    assert divide["bindings"]["mqtt"]["qos"] == 1
    assert divide["reply"]["channel"] == {"$ref": "#/channels/ops_divide_reply"}
    messages = doc["components"]["messages"]
    data = messages["ops_divide_request"]["payload"]["properties"]["data"]
    assert data["title"] == "Division"
    assert data["required"] == ["dividend", "divisor"]
    response = messages["ops_divide_reply"]["payload"]["properties"]["response"]
    assert response["properties"] == {"value": {"title": "Value", "type": "number"}}
    count = messages["ops_count_reply"]["payload"]["properties"]["response"]
    assert count == {"type": "integer"}  # AsyncIterator[int]: each value
    event = doc["operations"]["OpsController_user_created"]
    assert "reply" not in event
    assert event["bindings"]["mqtt"]["qos"] == 0
    assert "id" not in messages["ops_users_created_event"]["payload"]["properties"]
    assert doc["operations"]["OpsController_sum"]["description"] == "Add the numbers."


def test_cli_yaml_to_stdout_is_the_same_document(tmp_path):
    as_json = nestpy_asyncapi()
    as_yaml = nestpy_asyncapi("--yaml")
    assert as_yaml.returncode == 0, as_yaml.stderr
    assert yaml.safe_load(as_yaml.stdout) == json.loads(as_json.stdout)
    target = tmp_path / "asyncapi.yaml"
    target.write_text(as_yaml.stdout)
    validate(target)


class Sensor(BaseModel):
    id: str
    room: str


class Reading(BaseModel):
    sensor: Sensor
    celsius: float


@Controller()
class ReadingsController:
    @MessagePattern(["readings/latest", "readings/now"])
    def latest(
        self, sensor: Annotated[str, Payload("sensor_id")], limit: Annotated[int, Payload("limit")]
    ) -> list[Reading]:
        return []

    @MessagePattern("readings/store", transport=None)
    async def store(self, reading: Reading) -> None:
        return None


def test_nested_models_multiple_routes_and_keyed_payloads(tmp_path):
    doc = asyncapi_document(
        module_controllers(make_module([ReadingsController])),
        title="readings",
        options=MqttOptions(url="ws://localhost:9001/mqtt"),
    )
    target = tmp_path / "readings.json"
    target.write_text(json.dumps(doc))
    validate(target)
    assert doc["servers"]["broker"]["protocol"] == "ws"
    assert doc["servers"]["broker"]["pathname"] == "/mqtt"
    assert doc["components"]["schemas"].keys() == {"Reading", "Sensor"}
    assert set(doc["operations"]) == {
        "ReadingsController_latest",
        "ReadingsController_latest_readings_now",
        "ReadingsController_store",
    }
    store = doc["components"]["messages"]["readings_store_request"]["payload"]
    assert store["properties"]["data"]["properties"]["sensor"] == {
        "$ref": "#/components/schemas/Sensor"
    }
    latest = doc["components"]["messages"]["readings_latest_request"]["payload"]
    assert latest["properties"]["data"] == {
        "type": "object",
        "properties": {"sensor_id": {"type": "string"}, "limit": {"type": "integer"}},
    }
    reply = doc["components"]["messages"]["readings_store_reply"]["payload"]
    assert reply["properties"]["response"] == {"type": "null"}


@pytest.mark.mqtt
async def test_asyncapi_json_is_served_on_the_health_port(harness: Harness, tmp_path):
    app = await harness.app(AppModule, server={"health_port": 0, "health_host": "127.0.0.1"})
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.get(f"http://127.0.0.1:{app.operations.port}/asyncapi.json")
    assert response.status_code == 200
    doc = response.json()
    assert doc["info"]["title"] == "AppModule"
    assert doc["servers"]["broker"]["host"] == harness.url.removeprefix("mqtt://")
    assert doc["servers"]["broker"]["protocolVersion"] == (
        "5" if harness.protocol_version == 5 else "3.1.1"
    )
    target = tmp_path / "served.json"
    target.write_text(response.text)
    assert validate(target)["operations"][0] == "OpsController_sum"
