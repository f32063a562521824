"""The ``sessionkit`` command line: a thin shell over :class:`~sessionkit.kit.SessionKit`.

Each command is a small function that reads its arguments, calls the API and
prints the result; none of them touches SQLite or DuckDB itself. Every
:class:`~sessionkit.errors.SessionKitError` becomes ``Error: message`` on
stderr and exit code 1 in one place, :func:`main`; usage errors keep
argparse's exit code 2.

Output is meant to be compared exactly (by tests and by scripts): tables are
plain text with fixed rules, ``csv`` and ``json`` carry full rows.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import io
import ipaddress
import json
import math
import os
import secrets
import subprocess
import sys
import urllib.parse
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sessionkit
from sessionkit.demo import DemoSummary, write_demo_root
from sessionkit.errors import SessionKitError
from sessionkit.kit import DB_ENV, ROOT_ENV, TOKEN_ENV, Filters, NotConfigured, SessionKit
from sessionkit.notebook import DEMO_FOLDER, index_and_mark, repository
from sessionkit.query import FLAG_TERMS
from sessionkit.store import NOTE_MAX_CHARS

if TYPE_CHECKING:  # loaded by the commands that show rows: index and marks need neither
    import pandas as pd

CELL_MAX_CHARS = 60
"""Table cells longer than this are cut (with ``…``); csv and json keep everything."""
FORMATS = ("table", "csv", "json")
APP_NOTEBOOK = "app.ipynb"
"""What ``sessionkit serve`` shows: notebook 1's browser without its index printouts."""
SERVE_HOST = "127.0.0.1"
SERVE_PORT = 8866
"""Voila's own default port."""
CULL_AFTER_S = 120
"""A page's kernel (~170 MB) is stopped once it has had no page for this long and is idle."""
_CONTROL_CHARS = {
    **{code: f"\\x{code:02x}" for code in (*range(0x20), 0x7F, *range(0x80, 0xA0))},
    ord("\n"): "\\n",
    ord("\r"): "\\r",
    ord("\t"): "\\t",
}
"""Shown escaped, so that a name or prompt cannot break a line or drive the terminal."""

Command = Callable[[argparse.Namespace], int]


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command and return its exit code (the console script passes it to ``sys.exit``)."""
    args = build_parser().parse_args(argv)
    command: Command = args.command
    try:
        code = command(args)
        sys.stdout.flush()  # a closed pipe must show up here, not at interpreter exit
    except SessionKitError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # `sessionkit list | head` closed our stdout: stop quietly, and point
        # stdout at devnull so the interpreter's final flush cannot fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    return code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sessionkit",
        description="Index, filter, tag and query Stable Diffusion generation sessions.",
    )
    parser.add_argument(
        "--version", action="version", version=f"sessionkit {sessionkit.__version__}"
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    index = _command(commands, "index", run_index, "scan a sessions root into sessions.db")
    index.add_argument(
        "root", metavar="ROOT", nargs="?", help=f"the sessions root (default: ${ROOT_ENV})"
    )
    _add_db(index)
    index.add_argument("--force", action="store_true", help="recompute every session")
    index.add_argument("--dry-runs", action="store_true", help="also index ROOT/dryrun")
    index.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")

    listing = _command(commands, "list", run_list, "list the sessions matching filters")
    listing.epilog = "Flags column: L liked, S seed sweep, T test, D dry run, M folder missing."
    _add_db(listing)
    _add_filters(listing)
    _add_format(listing)
    listing.add_argument("--limit", type=int, metavar="N", help="at most N sessions (default: all)")
    listing.add_argument(
        "--offset", type=int, default=0, metavar="N", help="skip the first N sessions"
    )
    listing.add_argument(
        "--order-by",
        default="session_created_at",
        metavar="COLUMN",
        help="sort column (default: session_created_at, newest first)",
    )
    listing.add_argument("--asc", action="store_true", help="sort ascending")

    show = _command(commands, "show", run_show, "show one session's stats and metadata")
    show.add_argument("session", metavar="SESSION", help="the session id (its folder name)")
    _add_db(show)
    show.add_argument("--format", choices=("text", "json"), default="text", help="default: text")

    refresh = _command(
        commands, "refresh", run_refresh, "recompute one session's stats now and print them"
    )
    refresh.add_argument("session", metavar="SESSION", help="the session id (its folder name)")
    _add_db(refresh)

    tag = _command(commands, "tag", run_tag, "add or remove tags, print the resulting tags")
    tag.add_argument("session", metavar="SESSION", help="the session id (its folder name)")
    _add_db(tag)
    tag.add_argument("--add", action="append", default=[], metavar="TAG", help="repeatable")
    tag.add_argument(
        "--remove",
        action="append",
        default=[],
        metavar="TAG",
        help="repeatable; removing a tag the session lacks does nothing",
    )

    like = _command(commands, "like", run_like, "mark a session as liked")
    like.add_argument("session", metavar="SESSION", help="the session id (its folder name)")
    _add_db(like)
    like.add_argument("--undo", action="store_true", help="clear the liked mark")

    mark = _command(
        commands, "mark", run_mark, "set a session's rating, test and complete flags or note"
    )
    mark.add_argument("session", metavar="SESSION", help="the session id (its folder name)")
    _add_db(mark)
    mark.add_argument(
        "--rating", choices=("like", "dislike", "none"), help="the verdict (none: clear it)"
    )
    _add_flag_pair(mark, "test", "test", "not-test", ("mark as a test", "clear the test mark"))
    _add_flag_pair(
        mark,
        "complete",
        "complete",
        "not-complete",
        ("mark as complete (your flag, not the computed completion)", "mark as not complete"),
    )
    note = mark.add_mutually_exclusive_group()
    note.add_argument(
        "--note", metavar="TEXT", help=f"replace the note (at most {NOTE_MAX_CHARS} characters)"
    )
    note.add_argument("--clear-note", action="store_true", help="remove the note")

    images = _command(commands, "images", run_images, "list a session's images and their marks")
    images.add_argument("session", metavar="SESSION", help="the session id (its folder name)")
    _add_db(images)
    images.add_argument(
        "--rating", choices=("like", "dislike", "none"), help="the image's rating (none: unrated)"
    )
    images.add_argument("--stars", type=int, metavar="N", help="N stars or more (1 to 5)")
    images.add_argument(
        "--tag", dest="tags", action="append", metavar="TAG", help="carries TAG (repeatable: all)"
    )
    _add_format(images)

    rate = _command(commands, "rate", run_rate, "mark one image: rating, stars, tags, note")
    rate.add_argument("session", metavar="SESSION", help="the session id (its folder name)")
    rate.add_argument("file", metavar="FILE", help="the image's file name in the session folder")
    _add_db(rate)
    verdict = rate.add_mutually_exclusive_group()
    verdict.add_argument(
        "--like", dest="rating", action="store_const", const="like", help="rate it like"
    )
    verdict.add_argument(
        "--dislike", dest="rating", action="store_const", const="dislike", help="rate it dislike"
    )
    verdict.add_argument(
        "--clear", dest="rating", action="store_const", const=CLEAR, help="remove the rating"
    )
    stars = rate.add_mutually_exclusive_group()
    stars.add_argument("--stars", type=int, metavar="N", help="give it N stars (1 to 5)")
    stars.add_argument(
        "--clear-stars", dest="stars", action="store_const", const=CLEAR, help="remove the stars"
    )
    rate.add_argument(
        "--add-tag", action="append", default=[], metavar="TAG", help="add TAG (repeatable)"
    )
    rate.add_argument(
        "--remove-tag",
        action="append",
        default=[],
        metavar="TAG",
        help="remove TAG (repeatable; any case; a tag the image lacks is ignored)",
    )
    image_note = rate.add_mutually_exclusive_group()
    image_note.add_argument(
        "--note", metavar="TEXT", help=f"replace the note (at most {NOTE_MAX_CHARS} characters)"
    )
    image_note.add_argument(
        "--clear-note", dest="note", action="store_const", const=CLEAR, help="remove the note"
    )

    sql = _command(commands, "sql", run_sql, "run read-only SQL on the DuckDB mirror")
    sql.add_argument(
        "query", metavar="SQL", help='e.g. "SELECT sd_model, count(*) FROM sessions GROUP BY 1"'
    )
    _add_db(sql)
    _add_format(sql)

    demo = _command(commands, "demo", run_demo, "write the demo sessions root")
    demo.add_argument("dir", metavar="DIR", type=Path, help="the folder to write")
    demo.add_argument(
        "--sessions", type=int, default=24, metavar="N", help="how many sessions (default: 24)"
    )
    demo.add_argument(
        "--images", type=int, metavar="N", help="images per session (default: 4 to 40)"
    )
    demo.add_argument("--seed", type=int, default=42, metavar="S", help="random seed (default: 42)")
    demo.add_argument(
        "--anchor",
        type=_date,
        metavar="YYYY-MM-DD",
        help="the day the newest session starts (default: today)",
    )
    demo.add_argument("--tiny", action="store_true", help="tiny images instead of small pictures")

    lab = _command(commands, "lab", run_lab, "open JupyterLab on the notebooks")
    _add_server_root(lab)
    lab.add_argument("--port", type=int, metavar="P", help="the server's port (default: Jupyter's)")
    lab.add_argument("--no-browser", action="store_true", help="do not open a browser")

    serve = _command(commands, "serve", run_serve, "serve the session browser as a web app (Voila)")
    _add_server_root(serve)
    serve.add_argument(
        "--port", type=int, default=SERVE_PORT, metavar="P", help=f"default: {SERVE_PORT}"
    )
    serve.add_argument(
        "--host",
        default=SERVE_HOST,
        metavar="H",
        help=f"the address to listen on (default: {SERVE_HOST}: this machine only; "
        "0.0.0.0: every network this machine is on, e.g. to open it from a phone)",
    )
    serve.add_argument(
        "--token",
        metavar="T",
        help=f"the token every request must carry (default: ${TOKEN_ENV}, else a new random "
        "one, printed in the URL)",
    )
    serve.add_argument(
        "--no-token",
        action="store_true",
        help="ask no token: allowed only with a loopback --host (this machine only)",
    )
    serve.add_argument(
        "--cull-after",
        type=int,
        default=CULL_AFTER_S,
        metavar="S",
        help="stop a closed page's kernel after S seconds without a page and without work "
        f"(default: {CULL_AFTER_S}; 0: keep every kernel until the server stops)",
    )
    return parser


def _command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    run: Command,
    summary: str,
) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        name, help=summary, description=summary[0].upper() + summary[1:] + "."
    )
    parser.set_defaults(command=run)
    return parser


def _add_db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", metavar="DB", help=f"the sessions.db (default: ${DB_ENV})")


def _add_server_root(parser: argparse.ArgumentParser) -> None:
    """``--root`` and ``--db`` of the commands that start a server (lab, serve)."""
    parser.add_argument(
        "--root",
        metavar="ROOT",
        help=f"the sessions root (default: ${ROOT_ENV}, else the root recorded in the "
        f"database, else the demo root written to <repository>/{DEMO_FOLDER})",
    )
    parser.add_argument(
        "--db", metavar="DB", help=f"the sessions.db (default: ${DB_ENV}, else beside the root)"
    )


def _add_format(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=FORMATS, default="table", help="default: table")


def _add_flag_pair(
    parser: argparse._ActionsContainer, dest: str, yes: str, no: str, helps: tuple[str, str]
) -> None:
    """``--yes`` / ``--no`` set ``dest`` to True / False; neither leaves it None (no filter)."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument(f"--{yes}", dest=dest, action="store_const", const=True, help=helps[0])
    group.add_argument(f"--{no}", dest=dest, action="store_const", const=False, help=helps[1])


def _add_filters(parser: argparse.ArgumentParser) -> None:
    filters = parser.add_argument_group("filters (all must match)")
    for term in FLAG_TERMS:
        yes, no = (option.removeprefix("--") for option in term.options)
        _add_flag_pair(filters, term.name, yes, no, term.helps)
    filters.add_argument("--model", metavar="TEXT", help="model name contains TEXT (any case)")
    filters.add_argument(
        "--from",
        dest="from_date",
        metavar="WHEN",
        help="started at or after WHEN: 2025-11-01 (the whole day) or 2025-11-01T14:30",
    )
    filters.add_argument(
        "--to",
        dest="to_date",
        metavar="WHEN",
        help="started at or before WHEN: 2025-11-01 (the whole day) or 2025-11-01T14:30",
    )
    filters.add_argument(
        "--tag", dest="tags", action="append", metavar="TAG", help="carries TAG (repeatable: all)"
    )
    filters.add_argument(
        "--rating", choices=("like", "dislike", "none"), help="the user's rating (none: unrated)"
    )
    filters.add_argument(
        "--search", metavar="TEXT", help="name, prompt or note contains TEXT (any case)"
    )
    filters.add_argument("--dry-runs", action="store_true", help="include dry runs (flag D)")
    filters.add_argument(
        "--missing",
        action="store_true",
        help="include sessions whose folder vanished (flag M)",
    )


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2025-11-01") from None


# -- commands --------------------------------------------------------------


def run_index(args: argparse.Namespace) -> int:
    """Index ROOT; failed sessions are reported, not errors: the index itself completed."""
    # Without a root to scan, only a database that records one is worth opening.
    create = bool(args.root or os.environ.get(ROOT_ENV))
    with open_kit(args, root=args.root, create=create, progress=not args.no_progress) as kit:
        if kit.root is None:
            raise NotConfigured(f"no sessions root: pass ROOT or set {ROOT_ENV}")
        report = kit.index(force=args.force, dry_runs=args.dry_runs)
    print(
        f"scanned {report.scanned}, computed {report.computed}, unchanged {report.unchanged}, "
        f"missing {report.missing}, failed {len(report.failed)}"
    )
    for session_id, reason in report.failed:
        print(f"failed: {escape(session_id)}: {escape(reason)}")
    print(f"in {report.seconds:.2f} s", file=sys.stderr)
    return 0


def run_list(args: argparse.Namespace) -> int:
    filters: Filters = {
        "liked": args.liked,
        "test": args.test,
        "complete": args.complete,
        "seed_sweep": args.seed_sweep,
        "model": args.model,
        "from_date": args.from_date,
        "to_date": args.to_date,
        "tags": args.tags,
        "rating": args.rating,
        "search": args.search,
        "dry_run": None if args.dry_runs else False,
        "missing": None if args.missing else False,
    }
    with open_kit(args) as kit:
        frame = kit.sessions(
            order_by=args.order_by,
            descending=not args.asc,
            limit=args.limit,
            offset=args.offset,
            **filters,
        )
        if args.format != "table":
            print(render(frame, args.format))
            return 0
        summary = kit.describe(**filters)
        total = kit.count(**filters)
    if len(frame):
        print(session_table(frame))
    if len(frame) < total:
        shown = f"{args.offset + 1}-{args.offset + len(frame)}" if len(frame) else "none"
        summary += f" (showing {shown})"
    print(summary)
    return 0


def run_show(args: argparse.Namespace) -> int:
    with open_kit(args) as kit:
        stats = kit.stats(args.session)
        metadata = kit.metadata(args.session)
    if args.format == "json":
        print(dumps({"stats": stats, "metadata": metadata}))
        return 0
    # session_id and session_path are in both; show them once, under Stats.
    metadata = {k: v for k, v in metadata.items() if k not in ("session_id", "session_path")}
    metadata["tags"] = ", ".join(metadata["tags"])
    for title, values in (("Stats", stats), ("Metadata", metadata)):
        print(title)
        for key, value in values.items():
            print(f"  {key}: {escape(cell_text(value))}".rstrip())
    return 0


def run_refresh(args: argparse.Namespace) -> int:
    """Recompute one session, then show it as ``list`` would, and where its stats came from."""
    with open_kit(args) as kit:
        stats = kit.refresh(args.session)
        metadata = kit.metadata(args.session)
    import pandas as pd

    print(session_table(pd.DataFrame([session_row(stats, metadata)])))
    if stats["missing_since"]:
        print(f"folder missing since {stats['missing_since']}")
    else:
        source = SOURCES.get(stats["stats_source"], str(stats["stats_source"]))
        print(f"stats computed at {stats['stats_computed_at']} from {source}")
    if stats["stats_error"]:
        print(f"manifest not used: {escape(stats['stats_error'])}")
    return 0


SOURCES = {"manifest": "the manifest", "images": "the image files", "none": "nothing (no files)"}
"""``stats_source`` in words (docs/data-model.md)."""


def session_row(stats: Mapping[str, Any], metadata: Mapping[str, Any]) -> dict[str, Any]:
    """One session's stats and marks as a ``sessions`` row, for :func:`session_table`."""
    return {**stats, **metadata, "is_missing": stats["missing_since"] is not None}


def run_tag(args: argparse.Namespace) -> int:
    """Apply ``--remove`` then ``--add`` in one write, to the tags stored at that moment."""
    with open_kit(args) as kit:
        if args.add or args.remove:
            row = kit.update_metadata(args.session, add_tags=args.add, remove_tags=args.remove)
        else:
            row = kit.metadata(args.session)
    tags: list[str] = row["tags"]
    print(escape(", ".join(tags)) if tags else "(no tags)")
    return 0


def run_like(args: argparse.Namespace) -> int:
    with open_kit(args) as kit:
        kit.update_metadata(args.session, is_favorite=not args.undo)
    print(f"{'unliked' if args.undo else 'liked'} {escape(args.session)}")
    return 0


def run_mark(args: argparse.Namespace) -> int:
    """Change only the marks given (a partial update), then print every mark of the session."""
    fields: dict[str, Any] = {}
    if args.rating is not None:
        fields["user_rating"] = None if args.rating == "none" else args.rating
    if args.test is not None:
        fields["is_test"] = args.test
    if args.complete is not None:
        fields["is_complete"] = args.complete
    if args.note is not None or args.clear_note:
        fields["user_note"] = args.note
    if not fields:
        raise SessionKitError(
            "nothing to mark: give --rating, --test/--not-test, --complete/--not-complete, "
            "--note or --clear-note"
        )
    with open_kit(args) as kit:
        saved = kit.update_metadata(args.session, **fields)
    print(escape(args.session))
    for label, value in (
        ("liked", _yes_no(saved["is_favorite"])),
        ("test", _yes_no(saved["is_test"])),
        ("complete", _yes_no(saved["is_complete"])),
        ("rating", saved["user_rating"] or "none"),
        ("tags", ", ".join(saved["tags"]) or "(none)"),
        ("note", saved["user_note"] or "(none)"),
    ):
        print(f"  {label}: {escape(value)}")
    return 0


def _yes_no(flag: object) -> str:
    return "yes" if flag else "no"


def run_images(args: argparse.Namespace) -> int:
    """One session's images with their marks; the last line says how many and which."""
    with open_kit(args) as kit:
        frame = kit.images(args.session, rating=args.rating, stars=args.stars, tags=args.tags)
    if args.format != "table":
        print(render(frame, args.format))
        return 0
    if len(frame):
        print(image_table(frame))
    print(_image_summary(len(frame), args))
    return 0


def image_table(frame: pd.DataFrame) -> str:
    """The ``images`` table: file, seed, marks, then the values it applied."""
    rows = [
        [
            escape(str(row["filename"])) + ("" if row["on_disk"] else " (no file)"),
            cell_text(row["seed"]),
            cell_text(row["rating"]),
            cell_text(row["stars"]),
            shorten(", ".join(row["image_tags"])),
            shorten(_applied(row["applied_variations"])),
        ]
        for row in frame.to_dict("records")
    ]
    headers = ["filename", "seed", "rating", "stars", "tags", "values"]
    return table(headers, rows, right={1, 3})


def _applied(text: Any) -> str:
    """``applied_variations`` (JSON text) as ``placeholder=value; ...``."""
    if not isinstance(text, str):
        return ""
    try:
        values = json.loads(text)
    except ValueError:
        return text
    if not isinstance(values, dict):
        return text
    return "; ".join(f"{key}={cell_text(value)}" for key, value in values.items())


def _image_summary(count: int, args: argparse.Namespace) -> str:
    words = []
    if args.rating is not None:
        words.append("not rated" if args.rating == "none" else f"rated {args.rating}")
    if args.stars is not None:
        words.append(f"{args.stars}+ stars")
    if args.tags:
        words.append(f"{'tag' if len(args.tags) == 1 else 'tags'} {', '.join(args.tags)}")
    noun = "image" if count == 1 else "images"
    where = f" where {' and '.join(words)}" if words else ""
    return escape(f"{count} {noun}{where}")


class _Clear:
    """The type of :data:`CLEAR`."""


CLEAR = _Clear()
"""What ``--clear``, ``--clear-stars`` and ``--clear-note`` store (no text can equal it)."""


def run_rate(args: argparse.Namespace) -> int:
    """Change only the marks given on one image, then print all of its marks."""
    marks: dict[str, Any] = {
        name: None if value is CLEAR else value
        for name, value in (("rating", args.rating), ("stars", args.stars), ("note", args.note))
        if value is not None
    }
    if not (marks or args.add_tag or args.remove_tag):
        raise SessionKitError(
            "nothing to mark: give --like, --dislike, --clear, --stars N, --clear-stars, "
            "--add-tag, --remove-tag, --note or --clear-note"
        )
    with open_kit(args) as kit:
        saved = kit.update_image_metadata(
            args.session, args.file, add_tags=args.add_tag, remove_tags=args.remove_tag, **marks
        )
    print(escape(f"{args.session}/{args.file}"))
    for label, value in (
        ("rating", saved["rating"] or "none"),
        ("stars", str(saved["stars"] or "none")),
        ("tags", ", ".join(saved["tags"]) or "(none)"),
        ("note", saved["note"] or "(none)"),
    ):
        print(f"  {label}: {escape(value)}")
    return 0


def run_sql(args: argparse.Namespace) -> int:
    with open_kit(args) as kit:
        frame = kit.sql(args.query)
    print(render(frame, args.format))
    return 0


def run_demo(args: argparse.Namespace) -> int:
    summary = write_demo(
        args.dir,
        sessions=args.sessions,
        images_per_session=args.images,
        seed=args.seed,
        anchor=args.anchor,
        tiny_images=args.tiny,
    )
    print(f"wrote {summary.sessions} sessions and {summary.images} images to {summary.root}")
    return 0


def write_demo(root: Path, **arguments: Any) -> DemoSummary:
    """Write the demo root; its refusals become :class:`SessionKitError` like the API's.

    ``sessionkit.demo`` uses no other sessionkit module, so it cannot raise
    their errors.
    """
    try:
        return write_demo_root(root, **arguments)
    except (ValueError, OSError) as exc:
        raise SessionKitError(str(exc)) from exc


def run_lab(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("jupyterlab") is None:
        raise SessionKitError("JupyterLab is not installed: pip install 'sessionkit[notebook]'")
    command, env = lab_command(args, os.environ, repository())
    print(f"sessions root: {env[ROOT_ENV]}", file=sys.stderr)
    return _run_server(command, env)


def _run_server(command: list[str], env: dict[str, str]) -> int:
    """Run a server (JupyterLab, Voila) until it stops; its exit code is ours.

    Ctrl-C reaches the server too, which handles it (JupyterLab asks before
    shutting down, Voila stops): we keep waiting for its exit code.
    """
    with subprocess.Popen(command, env=env) as server:
        while True:
            try:
                return server.wait()
            except KeyboardInterrupt:
                continue


def lab_command(
    args: argparse.Namespace, environ: Mapping[str, str], repo: Path
) -> tuple[list[str], dict[str, str]]:
    """The JupyterLab command line and its environment (root and db: :func:`notebook_env`)."""
    env = notebook_env(args, environ, repo)
    notebooks = repo / "notebooks"
    notebooks.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "jupyter", "lab", f"--ServerApp.root_dir={notebooks}"]
    if args.port is not None:
        command.append(f"--ServerApp.port={args.port}")
    if args.no_browser:
        command.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # Jupyter refuses to start as root without it
    return command, env


def notebook_env(
    args: argparse.Namespace, environ: Mapping[str, str], repo: Path
) -> dict[str, str]:
    """``environ`` plus the root and database the notebooks read, writing the demo if needed.

    The root is ``--root``, else ``$SESSIONKIT_ROOT``, else the one recorded
    in an existing database (so a configured database is never pointed at
    the demo), else ``repo/demo-root``, written on first use.
    """
    env = dict(environ)
    db = args.db or environ.get(DB_ENV) or None
    root = args.root or environ.get(ROOT_ENV) or _recorded_root(db)
    if root is None:
        root = str(write_demo(repo / DEMO_FOLDER).root)  # a no-op once it is there
    env[ROOT_ENV] = str(Path(root).expanduser().resolve())
    if db:
        env[DB_ENV] = str(Path(db).expanduser().resolve())
    return env


def run_serve(args: argparse.Namespace) -> int:
    """Run Voila on the app notebook until it stops; its exit code is ours."""
    if importlib.util.find_spec("voila") is None:
        raise SessionKitError("Voila is not installed: pip install 'sessionkit[app]'")
    app = repository() / "notebooks" / APP_NOTEBOOK
    if not app.is_file():  # an installed wheel carries no notebooks
        raise SessionKitError(f"the app notebook is missing: {app}; serve runs from a clone")
    command, env = serve_command(args, os.environ, repository())
    print(f"sessions root: {env[ROOT_ENV]}", file=sys.stderr)
    prepare_app(env[ROOT_ENV], env.get(DB_ENV))
    url = serve_url(args.host, args.port, env.get(TOKEN_ENV))
    print(f"serving the session browser on {url}", flush=True)
    return _run_server(command, env)


def prepare_app(root: str, db: str | None) -> None:
    """Index the root before the first page asks, with a progress bar and counts on stderr.

    A page's kernel then finds the index done (its own scan only confirms
    that nothing changed) and shows the cards at once, instead of a page
    that says "Executing" for as long as a first index of a large root
    takes. A demo root gets its demo marks here too.
    """
    with SessionKit(root, db or None, progress=True) as kit:
        print(index_and_mark(kit), file=sys.stderr, flush=True)


def serve_command(
    args: argparse.Namespace, environ: Mapping[str, str], repo: Path
) -> tuple[list[str], dict[str, str]]:
    """The Voila command line serving ``notebooks/app.ipynb``, and its environment.

    Root and database are found as for ``lab`` (:func:`notebook_env`). Voila
    shows outputs only (its default ``--strip_sources``), opens no browser,
    and must not wander to another port when ``--port`` is taken: the URL we
    printed would then be wrong, so ``port_retries=0`` makes it fail instead.

    A page opens on a kernel Voila started and ran the app notebook in
    ahead of time (``preheat_kernel``, one kept ready): without it, every
    page waits for Python to start, import and query (seconds), before its
    first card shows. The notebook rescans when the page opens.

    Voila starts a kernel per page and, by default, keeps it until the
    server stops. Jupyter's culler stops a kernel with no page connected
    (``cull_connected`` stays off, so an open page keeps its kernel however
    idle) once it has been idle for ``--cull-after`` seconds, checking a
    few times in that span.
    """
    env = notebook_env(args, environ, repo)
    env.pop(TOKEN_ENV, None)
    command = [
        sys.executable,
        "-m",
        "voila",
        str(repo / "notebooks" / APP_NOTEBOOK),
        "--no-browser",
        f"--port={args.port}",
        f"--Voila.ip={args.host}",
        "--Voila.port_retries=0",
        "--preheat_kernel=True",
    ]
    token = serve_token(args, environ)
    if token is not None:
        env[TOKEN_ENV] = token
        command.append("--Voila.identity_provider_class=sessionkit.servetoken.TokenOnly")
    if args.cull_after > 0:
        command += [
            f"--MappingKernelManager.cull_idle_timeout={args.cull_after}",
            f"--MappingKernelManager.cull_interval={cull_interval(args.cull_after)}",
            "--MappingKernelManager.cull_connected=False",
        ]
    return command, env


def cull_interval(cull_after: int) -> int:
    """How often the culler looks: four times per ``cull_after``, at most every 30 s."""
    return max(1, min(30, cull_after // 4))


def serve_token(args: argparse.Namespace, environ: Mapping[str, str]) -> str | None:
    """The token ``serve`` asks of every request: ``--token``, ``$SESSIONKIT_TOKEN`` or new.

    ``None`` with ``--no-token``, which a host other than this machine's
    loopback refuses: anyone on the network could then open the app and
    edit the marks.
    """
    if args.no_token:
        if not is_loopback(args.host):
            raise SessionKitError(
                f"--no-token serves {args.host} with no token: anyone who can reach it could "
                "edit your marks; use it only with --host 127.0.0.1 (or localhost, ::1)"
            )
        return None
    token: str = args.token or environ.get(TOKEN_ENV) or secrets.token_urlsafe(24)
    return token


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (``localhost``, ``127.x``, ``::1``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def serve_url(host: str, port: int, token: str | None = None) -> str:
    """The address to open (with ``?token=`` when one is asked); an IPv6 host in brackets."""
    base = f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"
    return f"{base}?token={urllib.parse.quote(token)}" if token else base


def _recorded_root(db: str | None) -> str | None:
    if db is None or not Path(db).expanduser().is_file():
        return None
    with SessionKit(db=db, progress=False) as kit:
        return None if kit.root is None else str(kit.root)


def open_kit(
    args: argparse.Namespace,
    *,
    root: str | None = None,
    create: bool = False,
    progress: bool = False,
) -> SessionKit:
    """The kit on ``--db`` (or ``$SESSIONKIT_DB``); only ``index`` may create the file."""
    db = args.db or os.environ.get(DB_ENV)
    if not db:
        raise NotConfigured(f"no sessions.db: pass --db or set {DB_ENV}")
    if not create and not Path(db).expanduser().is_file():
        raise NotConfigured(
            f"no sessions.db at {db}: create it with 'sessionkit index ROOT --db {db}'"
        )
    return SessionKit(root, db, progress=progress)


# -- output ----------------------------------------------------------------


def session_table(frame: pd.DataFrame) -> str:
    """The ``list`` table: one line per session, the columns a person scans for."""
    rows = [
        [
            escape(str(row["session_id"])),
            shorten(cell_text(row["sd_model"])),
            f"{row['images_actual']}/{row['images_expected']}",
            f"{row['completion_percentage']:.1f}%",
            flags(row),
            shorten(", ".join(row["tags"])),
        ]
        for row in frame.to_dict("records")
    ]
    headers = ["session_id", "model", "images", "completion", "flags", "tags"]
    return table(headers, rows, right={2, 3})


def flags(row: Mapping[Any, Any]) -> str:
    """``L`` liked, ``S`` seed sweep, ``T`` test, ``D`` dry run, ``M`` folder missing."""
    marks = (
        ("L", row["is_favorite"]),
        ("S", row["is_seed_sweep"]),
        ("T", row["is_test"]),
        ("D", row["is_dryrun"]),
        ("M", row["is_missing"]),
    )
    return "".join(mark for mark, on in marks if on)


def render(frame: pd.DataFrame, form: str) -> str:
    """Any result as ``table``, ``csv`` or ``json`` (full rows in the last two)."""
    if form == "json":
        return dumps(frame.to_dict("records"))
    if form == "csv":
        return frame_csv(frame)
    import pandas as pd

    right = {
        i
        for i, column in enumerate(frame.columns)
        if pd.api.types.is_numeric_dtype(frame[column])
        and not pd.api.types.is_bool_dtype(frame[column])
    }
    rows = [
        [shorten(cell_text(value)) for value in row]
        for row in frame.itertuples(index=False, name=None)
    ]
    return table([escape(str(column)) for column in frame.columns], rows, right)


def frame_csv(frame: pd.DataFrame) -> str:
    """CSV with a header; lists and maps as JSON, NULL as an empty cell."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([str(column) for column in frame.columns])
    writer.writerows(
        [cell_text(value) for value in row] for row in frame.itertuples(index=False, name=None)
    )
    return out.getvalue().removesuffix("\n")


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Collection[int]) -> str:
    """Columns two spaces apart under a rule of dashes; ``right`` holds right-aligned columns."""
    widths = [
        max([len(header), *(len(row[i]) for row in rows)]) for i, header in enumerate(headers)
    ]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            cell.rjust(width) if i in right else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return "\n".join([line(headers), line(["-" * width for width in widths]), *map(line, rows)])


def plain(value: Any) -> Any:
    """``value`` as JSON-ready Python: NULL and NaN to ``None``, arrays to lists, times to ISO."""
    import numpy as np
    import pandas as pd

    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [plain(item) for item in value]
    if isinstance(value, np.generic):
        return plain(value.item())
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return value


def dumps(value: Any) -> str:
    """Indented JSON, non-ASCII kept; values JSON lacks (bytes, decimals) as their text."""
    return json.dumps(plain(value), ensure_ascii=False, indent=2, default=str)


def cell_text(value: Any) -> str:
    """One value as text: empty for NULL, JSON for lists and maps."""
    value = plain(value)
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def escape(text: str) -> str:
    return text.translate(_CONTROL_CHARS)


def shorten(text: str, limit: int = CELL_MAX_CHARS) -> str:
    """Escape control characters and cut to ``limit`` characters, ending with ``…`` if cut."""
    text = escape(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
