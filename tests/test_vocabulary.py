"""The filter vocabulary is declared once (``query.FILTER_TERMS``); everything offering
filters must follow it: the API, the CLI, the browser and the docs."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from sessionkit import SessionKit
from sessionkit.cli import build_parser
from sessionkit.kit import Filters
from sessionkit.query import FILTER_TERMS, FLAG_TERMS, SessionFilter
from sessionkit.widgets import address
from sessionkit.widgets.browser import CHIPS, SessionBrowser

DOCS = Path(__file__).resolve().parent.parent / "docs"
NAMES = [term.name for term in FILTER_TERMS]


def list_options() -> dict[str, argparse.Action]:
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    listing = commands.choices["list"]
    return {option: action for action in listing._actions for option in action.option_strings}


def test_the_api_offers_exactly_the_vocabulary() -> None:
    assert list(SessionFilter.names()) == NAMES
    assert set(Filters.__required_keys__ | Filters.__optional_keys__) == set(NAMES)


def test_the_cli_offers_every_option_of_the_vocabulary() -> None:
    options = list_options()
    for term in FILTER_TERMS:
        for option in term.options:
            assert option in options, option
    for term in FLAG_TERMS:
        yes, no = (options[option] for option in term.options)
        assert (yes.dest, yes.const, no.dest, no.const) == (term.name, True, term.name, False)
        assert (yes.help, no.help) == term.helps


def test_flag_words_come_from_the_vocabulary() -> None:
    for term in FLAG_TERMS:
        assert SessionFilter(**{term.name: True}).describe() == term.words[0]  # type: ignore[arg-type]
        assert SessionFilter(**{term.name: False}).describe() == term.words[1]  # type: ignore[arg-type]


def test_the_browser_filters_with_the_vocabulary(demo_kit: SessionKit) -> None:
    browser = SessionBrowser(demo_kit)
    assert {name for _, name in CHIPS} <= {term.name for term in FLAG_TERMS}
    browser.set_filters(liked=True, complete=False, search="y")
    assert browser.filters()
    assert set(browser.filters()) <= set(NAMES)


def test_the_app_address_names_filters_by_the_vocabulary() -> None:
    assert set(address.FILTERS) <= set(NAMES)
    assert set(address.FLAGS) == {name for _, name in CHIPS}  # a chip for each flag


def test_the_docs_name_every_filter_and_option() -> None:
    api = (DOCS / "python-api.md").read_text()
    cli = (DOCS / "cli.md").read_text()
    for term in FILTER_TERMS:
        assert re.search(rf"`{term.name}\b", api), term.name
        for option in term.options:
            assert f"{option}" in cli, option
