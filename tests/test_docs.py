"""The documentation keeps up with the code: every command, option and public method.

A command or option added to ``cli.build_parser`` or a public method added
to :class:`SessionKit` fails here until ``docs/`` says what it does (and
the README lists the command). Each check is parametrized, so a failure
names exactly what is missing.
"""

from __future__ import annotations

import argparse
import functools
import inspect
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from sessionkit import SessionKit, cli

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"


def subcommands() -> dict[str, argparse.ArgumentParser]:
    """``{name: parser}`` of every ``sessionkit`` command."""
    for action in cli.build_parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("sessionkit has no subcommands")


def options(parser: argparse.ArgumentParser) -> Iterator[str]:
    """Every option string (``--db``, ``--not-liked``) and positional metavar of a parser."""
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        if action.option_strings:
            yield from action.option_strings
        else:
            yield str(action.metavar or action.dest)


def cli_section(name: str) -> str:
    """The part of docs/cli.md under the heading ``## `sessionkit NAME` ``."""
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    match = re.search(rf"^## `sessionkit {re.escape(name)}`\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"docs/cli.md has no section '## `sessionkit {name}`'"
    return match.group(1)


def mentions(text: str, word: str) -> bool:
    """Whether ``word`` occurs on its own (``--to`` is not found inside ``--tone``)."""
    return re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text) is not None


COMMANDS = sorted(subcommands())
COMMAND_OPTIONS = [(name, option) for name in COMMANDS for option in options(subcommands()[name])]


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_a_section_in_the_cli_docs(name: str) -> None:
    assert cli_section(name).strip(), f"the section of sessionkit {name} is empty"


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_is_listed_in_the_readme(name: str) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert f"`{name}`" in readme


@pytest.mark.parametrize(("name", "option"), COMMAND_OPTIONS)
def test_every_option_is_explained_in_its_command_section(name: str, option: str) -> None:
    assert mentions(cli_section(name), option), f"docs/cli.md: sessionkit {name} lacks {option}"


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_help(name: str) -> None:
    assert subcommands()[name].description


def test_the_global_options_are_documented() -> None:
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    assert mentions(text, "--version")


PUBLIC_METHODS = sorted(
    name
    for name, member in inspect.getmembers(SessionKit)
    if not name.startswith("_")
    and (callable(member) or isinstance(member, property | functools.cached_property))
)


@pytest.mark.parametrize("name", PUBLIC_METHODS)
def test_every_public_method_is_in_the_python_api_docs(name: str) -> None:
    api = (DOCS / "python-api.md").read_text(encoding="utf-8")
    assert mentions(api, f"kit.{name}"), f"docs/python-api.md never mentions kit.{name}"


def test_the_method_list_is_read_from_the_class() -> None:
    """Guard the guard: the parametrization above really found the API."""
    assert {"index", "sessions", "update_metadata", "sql", "duckdb", "close"} <= set(PUBLIC_METHODS)
    assert {"index", "list", "show", "tag", "like", "sql"} <= set(COMMANDS)
    assert ("list", "--not-liked") in COMMAND_OPTIONS
    assert ("show", "SESSION") in COMMAND_OPTIONS


def test_docs_links_point_at_existing_pages() -> None:
    """Relative links between the README, the changelog and docs/*.md resolve."""
    pages = [REPO / "README.md", REPO / "CHANGELOG.md", *sorted(DOCS.glob("*.md"))]
    broken = []
    for page in pages:
        for target in re.findall(r"\]\(([^)#\s]+\.md)(?:#[^)]*)?\)", page.read_text("utf-8")):
            if not target.startswith("http") and not (page.parent / target).is_file():
                broken.append(f"{page.relative_to(REPO)} -> {target}")
    assert broken == []


def test_docs_cited_in_the_code_exist() -> None:
    """Comments cite a page of ``docs/`` for the rules they follow: each page must be there."""
    cited = {
        (path.relative_to(REPO), page)
        for folder in ("sessionkit", "tests", "tests_e2e", "benchmarks")
        for path in sorted((REPO / folder).rglob("*.py"))
        for page in re.findall(r"docs/([\w-]+\.md)", path.read_text(encoding="utf-8"))
    }
    assert len(cited) > 10  # the walk found the citations
    assert [f"{source}: docs/{page}" for source, page in cited if not (DOCS / page).is_file()] == []
