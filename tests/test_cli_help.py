"""Every subcommand's help prints: a help text argparse cannot format (a bare % sign, say)
would be a traceback for the first user who asks for help."""
from __future__ import annotations

import pytest

from odbench.cli.main import SUBCOMMANDS, main


def test_odbench_help_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert all(name in out for name in SUBCOMMANDS)


@pytest.mark.parametrize("name", list(SUBCOMMANDS))
def test_each_subcommand_s_help(name, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([name, "--help"])
    assert exit_.value.code == 0 and "usage: odbench " + name in capsys.readouterr().out
