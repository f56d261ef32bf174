"""The ``nestpy`` command line (argparse; ``nestpy COMMAND --help`` for each command)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from nestpy.cli import asyncapi, ops_flags
from nestpy.cli.connection import add_connection_flags, export_flags, given_flags
from nestpy.cli.loader import CliError, load_module
from nestpy.errors import NestpyError

DESCRIPTION = "nestpy: NestJS's module system and MQTT microservices, in Python."

RUN_HELP = """\
Start the microservice of a module and serve until SIGTERM or SIGINT, then shut down
cleanly (in-flight handlers reply, shutdown hooks run, exit status 0).

MQTT options come from the NESTPY_MQTT_* environment variables (NESTPY_MQTT_URL,
NESTPY_MQTT_PROTOCOL_VERSION, NESTPY_MQTT_USERNAME, NESTPY_MQTT_PASSWORD,
NESTPY_MQTT_SHARED_GROUP, ...); flags win over the environment. The connection flags apply
to the server and to every MQTT client of the application registered without its own URL.

examples:
  nestpy run samples.math_service:AppModule --url mqtt://localhost:1883
  nestpy run samples.math_service:AppModule --workers 2      # 2 processes, one shared group
  nestpy run samples.math_service:AppModule --reload         # restart when a .py file changes
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

example: nestpy new math-service && cd math-service && pip install -e '.[dev]' && pytest
"""

SEND_HELP = """\
Send one request to a running service over MQTT and print the reply as JSON (each value on
its own line when the handler streams). An error reply is printed to stderr, exit status 1.

examples:
  nestpy send sum '[1, 2, 3]' --url mqtt://localhost:1883
  nestpy send '{"cmd": "sum"}' '[1, 2]'                         # an object pattern
"""

EMIT_HELP = """\
Publish one event over MQTT (no reply); returns once it is sent.

example: nestpy emit user_created '{"id": 1}' --qos 1
"""

TARGET_HELP = "package.module:AppModule (the attribute defaults to AppModule)"
FORMATTER = argparse.RawDescriptionHelpFormatter


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        msg = f"must be at least 1, got {value}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        msg = f"must be more than 0, got {text}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _add_run(commands: Any) -> None:
    run = commands.add_parser(
        "run", help="start a microservice", description=RUN_HELP, formatter_class=FORMATTER
    )
    run.add_argument("target", metavar="MODULE", help=TARGET_HELP)
    run.add_argument(
        "--transport",
        choices=["mqtt", "in-memory"],
        default="mqtt",
        help="transport to serve on (default: mqtt)",
    )
    add_connection_flags(run)
    run.add_argument(
        "--workers",
        type=_positive_int,
        default=1,
        metavar="N",
        help="serve in N processes sharing the subscriptions (mqtt; default: 1)",
    )
    run.add_argument(
        "--reload",
        action="store_true",
        help="restart when a Python file under --app-dir changes (needs watchfiles)",
    )
    run.add_argument("--app-dir", default=".", help="directory to import MODULE from (default: .)")
    run.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="log level (default: INFO)",
    )
    ops_flags.add_run_flags(run)


def _add_call(commands: Any, name: str, help_text: str, description: str) -> None:
    call = commands.add_parser(
        name, help=help_text, description=description, formatter_class=FORMATTER
    )
    call.add_argument("pattern", metavar="PATTERN", help="the pattern: a topic, or a JSON object")
    call.add_argument("data", metavar="DATA", help="the payload, as JSON")
    add_connection_flags(call)
    call.add_argument(
        "--timeout",
        type=_positive_float,
        default=5.0,
        help="seconds to wait, connecting included (default: 5)",
    )
    call.add_argument("--qos", type=int, choices=[0, 1, 2], help="publish with this QoS")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    from nestpy import __version__

    parser = argparse.ArgumentParser(prog="nestpy", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_run(commands)

    graph = commands.add_parser(
        "graph", help="print the module graph", description=GRAPH_HELP, formatter_class=FORMATTER
    )
    graph.add_argument("target", metavar="MODULE", help=TARGET_HELP)
    graph.add_argument(
        "--app-dir", default=".", help="directory to import MODULE from (default: .)"
    )
    graph.add_argument("--json", action="store_true", help="print JSON instead of text")

    _add_call(commands, "send", "send a request and print the reply", SEND_HELP)
    _add_call(commands, "emit", "publish an event", EMIT_HELP)

    asyncapi.add_parser(commands, TARGET_HELP)

    new = commands.add_parser(
        "new", help="scaffold a new project", description=NEW_HELP, formatter_class=FORMATTER
    )
    new.add_argument("name", metavar="NAME", help="project name, e.g. math-service")
    new.add_argument(
        "--directory", default=".", help="where to create the project directory (default: .)"
    )
    return parser


def _run(args: argparse.Namespace) -> int:
    from nestpy.cli.logs import configure_logging
    from nestpy.cli.ops_flags import configure_ops
    from nestpy.cli.run import TRANSPORTS, run, transport_options

    transport = TRANSPORTS[args.transport]
    flags = given_flags(args)
    options = transport_options(transport, flags, args.workers)
    configure_logging(args.log_level)
    extra = configure_ops(args)
    if args.reload:
        from nestpy.cli.reload import child_command, run_with_reload

        export_flags(flags)
        return run_with_reload(child_command(), args.app_dir)
    # Before the application is imported: the flags become the default of every MqttOptions.
    export_flags(flags)
    return run(
        load_module(args.target, args.app_dir), transport, options, workers=args.workers, **extra
    )


def _call(args: argparse.Namespace) -> int:
    import asyncio

    from nestpy.cli import call
    from nestpy.cli.connection import mqtt_options

    pattern = call.parse_pattern(args.pattern)
    data = call.parse_data(args.data)
    options = mqtt_options(given_flags(args))
    command = call.send if args.command == "send" else call.emit
    return asyncio.run(command(options, pattern, data, args.timeout, args.qos))


def _main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "run":
            return _run(args)
        if args.command in ("send", "emit"):
            return _call(args)
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
    except NestpyError as exc:  # a bootstrap or request error: its message says what to fix
        print(f"nestpy {args.command}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``nestpy`` command; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        status = _main(argv)
        sys.stdout.flush()  # inside the try: a closed pipe is reported here, not at exit
    except BrokenPipeError:
        # The reader went away (``nestpy graph --json | head``): stop quietly, and point
        # stdout at /dev/null so that the interpreter's own flush at exit does not fail too.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    return status
