"""``nestpy asyncapi``: print or write the AsyncAPI 3.0 document of an application."""

from __future__ import annotations

import argparse
import importlib
import json
from pathlib import Path
from typing import Any

from nestpy.cli.loader import CliError, load_module
from nestpy.common.dynamic_module import DynamicModule

HELP = """\
Print the AsyncAPI 3.0 document of an application without starting it: a channel per
pattern (and its reply channel for @MessagePattern), a receive operation per handler with
its reply, payload schemas from the handlers' type hints, QoS in the MQTT bindings, and the
broker from the NESTPY_MQTT_* environment (or --url).

example: nestpy asyncapi samples.math_service:AppModule --yaml -o asyncapi.yaml
"""


def add_parser(commands: Any, target_help: str) -> None:
    """Register the ``asyncapi`` command."""
    parser = commands.add_parser(
        "asyncapi",
        help="print the AsyncAPI document",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("target", metavar="MODULE", help=target_help)
    parser.add_argument("--app-dir", default=".", help="directory to import MODULE from")
    parser.add_argument("--yaml", action="store_true", help="YAML instead of JSON")
    parser.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    parser.add_argument("--url", help="broker URL for the servers section (NESTPY_MQTT_URL)")
    parser.add_argument("--title", help="info.title (default: the module's name)")
    parser.add_argument("--version", default="1.0.0", help="info.version (default: 1.0.0)")


def render(document: dict[str, Any], as_yaml: bool) -> str:
    """The document as JSON (indented) or YAML (keys in document order)."""
    if not as_yaml:
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    try:
        yaml = importlib.import_module("yaml")
    except ImportError:
        msg = "--yaml needs PyYAML: pip install 'nestpy-mqtt[ops]' (or pyyaml)"
        raise CliError(msg) from None
    text: str = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    return text


def command(args: argparse.Namespace) -> int:
    """Run ``nestpy asyncapi``; returns the exit status."""
    from nestpy.asyncapi import asyncapi_document, module_controllers
    from nestpy.cli.run import transport_options
    from nestpy.microservices.transports import Transport

    module = load_module(args.target, args.app_dir)
    root = module.module if isinstance(module, DynamicModule) else module
    document = asyncapi_document(
        module_controllers(module),
        title=args.title or root.__name__,
        version=args.version,
        options=transport_options(Transport.MQTT, args.url),
    )
    text = render(document, args.yaml)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        print(text, end="")
    return 0
