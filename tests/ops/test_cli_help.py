"""The operations flags and the ``asyncapi`` command are in ``nestpy --help``."""

from __future__ import annotations

import pytest

from nestpy.cli.main import main


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["run"], "--health-port PORT"),
        (["run"], "--log-format {text,json}"),
        (["asyncapi"], "Print the AsyncAPI 3.0 document of an application without starting it"),
        ([], "asyncapi"),
    ],
)
def test_help_lists_the_operations_options(argv, expected, capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main([*argv, "--help"])
    assert info.value.code == 0
    assert expected in capsys.readouterr().out
