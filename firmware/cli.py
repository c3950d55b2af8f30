"""The `callbox` command: run, check-config, passwd (see docs/cli.md and ../shared/CONTRACT.md)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from firmware.config import ConfigError, load_config

logger = logging.getLogger("callbox")


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, default=None,
                        help="config file (default ./callbox.toml, else the embedded default)")
    common.add_argument("--data", type=Path, default=Path("data"),
                        help="data folder (default ./data)")
    parser = argparse.ArgumentParser(prog="callbox", description="Office phone box with call tracking")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", parents=[common], help="run the whole box in one process")
    check = commands.add_parser("check-config", parents=[common], help="validate a config file")
    check.add_argument("path", type=Path)
    passwd = commands.add_parser("passwd", parents=[common], help="set a panel user's password")
    passwd.add_argument("user")
    passwd.add_argument("--role", choices=("owner", "staff"), default="owner")
    passwd.add_argument("--extension", default=None, help="desk phone of a staff user")
    summary = commands.add_parser("send-summary", parents=[common],
                                  help="send the summary e-mail now (default: last full week)")
    summary.add_argument("--from", dest="start", default=None, help="first day, YYYY-MM-DD")
    summary.add_argument("--to", dest="end", default=None, help="last day, YYYY-MM-DD")
    _central_parser(commands)
    return parser


def _central_parser(commands) -> None:
    """`callbox central [--config central.toml]` and `callbox central passwd USER ...`."""
    config = argparse.ArgumentParser(add_help=False)
    config.add_argument("--config", type=Path, default=Path("central.toml"),
                        help="the central's config (default ./central.toml)")
    central = commands.add_parser("central", parents=[config],
                                  help="run the central panel many boxes report to")
    actions = central.add_subparsers(dest="central_command")
    passwd = actions.add_parser("passwd", parents=[config], help="set a central user's password")
    passwd.add_argument("user")
    passwd.add_argument("--role", choices=("owner", "manager"), default="owner")
    passwd.add_argument("--site", default=None, help="the one site a manager sees")


def _central(args: argparse.Namespace) -> int:
    try:
        from firmware.central.run import central_passwd, run_central
    except ImportError as exc:          # psycopg is an extra: the box's image has none
        logger.error("callbox central needs psycopg (%s): pip install 'callbox[central]'", exc)
        return 1

    if args.central_command == "passwd":
        return central_passwd(args.config, args.user, args.role, args.site)
    return run_central(args.config)


def config_path(arg: Path | None) -> Path | None:
    """--config, else ./callbox.toml when it exists, else None (the embedded default)."""
    if arg is not None:
        return arg
    local = Path("callbox.toml")
    return local if local.exists() else None


def _check_config(path: Path) -> int:
    try:
        load_config(path)
    except ConfigError as exc:
        for line in exc.problems:
            print(line)
        return 1
    print(f"{path}: ok")
    return 0


def _passwd(args: argparse.Namespace) -> int:
    from firmware.webui.users import passwd_command

    return passwd_command(args.data, args.user, args.role, args.extension, sys.stdin)


def _run(args: argparse.Namespace) -> int:
    path = config_path(args.config)
    try:
        config = load_config(path)
    except ConfigError as exc:
        for line in exc.problems:
            logger.error("config: %s", line)
        logger.error("cannot start: fix the config (callbox check-config %s)", path)
        return 1
    from firmware.box import run_box  # after the config check: a broken config says only that

    return run_box(config, args.data)


def setup_logging() -> None:
    logging.basicConfig(stream=sys.stdout, level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from firmware.logline import use_one_line_formatter
    use_one_line_formatter()    # what strangers send never makes a second log line


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    setup_logging()
    if args.command == "check-config":
        return _check_config(args.path)
    if args.command == "passwd":
        return _passwd(args)
    if args.command == "send-summary":
        from firmware.integrations.send_summary_cli import send_summary_command

        return send_summary_command(config_path(args.config), args.data, args.start, args.end)
    if args.command == "central":
        return _central(args)
    return _run(args)
