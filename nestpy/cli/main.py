"""The ``nestpy`` command line (argparse; ``nestpy COMMAND --help`` for each command)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence

from nestpy.cli.loader import CliError, load_module
from nestpy.errors import NestpyError

DESCRIPTION = "nestpy: NestJS's module system and MQTT microservices, in Python."

RUN_HELP = """\
Start the microservice of a module and serve until SIGTERM or SIGINT, then shut down
cleanly (in-flight handlers reply, shutdown hooks run, exit status 0).

MQTT options come from the NESTPY_MQTT_* environment variables (NESTPY_MQTT_URL,
NESTPY_MQTT_PROTOCOL_VERSION, NESTPY_MQTT_USERNAME, NESTPY_MQTT_PASSWORD,
NESTPY_MQTT_SHARED_GROUP, ...); flags win over the environment.

example: nestpy run samples.math_service:AppModule --url mqtt://localhost:1883
"""

GRAPH_HELP = """\
Print the module graph of an application without starting it: each module with its
imports, providers, exports and controllers, and each handler with its pattern (the MQTT
topic) and QoS.

example: nestpy graph samples.math_service:AppModule
"""

NEW_HELP = """\
Create a project directory NAME with a module, a controller, a service, a test that runs
the controller over the in-memory transport, a pyproject.toml and a README.

example: nestpy new math-service && cd math-service && pytest
"""

TARGET_HELP = "package.module:AppModule (the attribute defaults to AppModule)"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    parser = argparse.ArgumentParser(prog="nestpy", description=DESCRIPTION)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    formatter = argparse.RawDescriptionHelpFormatter

    run = commands.add_parser(
        "run", help="start a microservice", description=RUN_HELP, formatter_class=formatter
    )
    run.add_argument("target", metavar="MODULE", help=TARGET_HELP)
    run.add_argument(
        "--transport",
        choices=["mqtt", "in-memory"],
        default="mqtt",
        help="transport to serve on (default: mqtt)",
    )
    run.add_argument("--url", help="broker URL, e.g. mqtt://localhost:1883 (NESTPY_MQTT_URL)")
    run.add_argument("--app-dir", default=".", help="directory to import MODULE from (default: .)")
    run.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="log level (default: INFO)",
    )

    graph = commands.add_parser(
        "graph", help="print the module graph", description=GRAPH_HELP, formatter_class=formatter
    )
    graph.add_argument("target", metavar="MODULE", help=TARGET_HELP)
    graph.add_argument(
        "--app-dir", default=".", help="directory to import MODULE from (default: .)"
    )
    graph.add_argument("--json", action="store_true", help="print JSON instead of text")

    from nestpy.cli import asyncapi, ops_flags

    ops_flags.add_run_flags(run)
    asyncapi.add_parser(commands, TARGET_HELP)

    new = commands.add_parser(
        "new", help="scaffold a new project", description=NEW_HELP, formatter_class=formatter
    )
    new.add_argument("name", metavar="NAME", help="project name, e.g. math-service")
    new.add_argument(
        "--directory", default=".", help="where to create the project directory (default: .)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``nestpy`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "run":
            from nestpy.cli.logs import configure_logging
            from nestpy.cli.ops_flags import configure_ops
            from nestpy.cli.run import run

            configure_logging(args.log_level)
            extra = configure_ops(args)
            return run(load_module(args.target, args.app_dir), args.transport, args.url, **extra)
        if args.command == "asyncapi":
            from nestpy.cli.asyncapi import command

            return command(args)
        if args.command == "graph":
            from nestpy.cli.graph import module_graph, render

            modules = module_graph(load_module(args.target, args.app_dir))
            if args.json:
                print(json.dumps([dataclasses.asdict(m) for m in modules], indent=2))
            else:
                print(render(modules))
            return 0
        from nestpy.cli.new import scaffold

        directory = scaffold(args.name, args.directory)
        print(f"Created {directory}\nNext: cd {directory} && pip install -e '.[dev]' && pytest")
        return 0
    except CliError as exc:
        print(f"nestpy {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except NestpyError as exc:  # a bootstrap error: its message says what to fix
        print(f"nestpy {args.command}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
