"""README.md tells operators the truth: every setting, every command, and the test command CI runs."""

import os
import re

import pytest

from conftest import ROOT
from groove_compat.cli import main
from groove_compat.config import SETTINGS

README = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda setting: setting.name)
def test_every_setting_is_in_the_settings_table_with_its_help(setting):
    row = next((line for line in README.splitlines() if line.startswith(f"| `{setting.environment_variable}` |")), None)
    assert row is not None, f"{setting.environment_variable} is missing from README's settings table"
    assert setting.help.replace("|", "/") in row


def _commands(group, prefix=()):
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            yield from _commands(command, (*prefix, name))
        else:
            yield " ".join((*prefix, name))


@pytest.mark.parametrize("command", sorted(_commands(main)))
def test_every_command_is_named(command):
    assert f"groove-compat {command}" in README


def test_ci_runs_the_readme_test_command():
    command = re.search(r"^(python3 -m pip install -e '\.\[test\]' && python3 -m pytest)$", README, re.M).group(1)
    with open(os.path.join(ROOT, ".ci", "run"), encoding="utf-8") as ci:
        assert command in ci.read().splitlines()
