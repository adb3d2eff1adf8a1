"""The command line, `python -m vacdemo <command>`: this module builds the top-level parser, lets each command
module register its subcommand(s) and dispatches.

Each command module (train, serve, evaluate, attack, assets, bench, study) defines its commands' arguments beside
the function that runs them, and imports what a command needs (torch, the models, the attacks, the serving and
benchmark code, the study) inside that function: `--help` and parsing load argparse and the torch-free
foundation modules only. The arguments several commands share are in vacdemo.cli.common.
"""
import importlib
import shlex
import sys

from ..errors import VacdemoError

DESCRIPTION = """`python -m vacdemo train|evaluate|realset|attack|assets|card|bench|reproduce`: argparse → device → data → model → train / evaluate / attack.

Each command reads its arguments and calls package functions with plain values. The package's own errors
(vacdemo.errors.VacdemoError: a bad setting, file or data folder) print as one line; anything else is a bug
and keeps its traceback.
"""

# The command modules, in the order their commands are listed by --help.
COMMANDS = ("train", "serve", "evaluate", "attack", "assets", "bench", "study")

# names other code imports from vacdemo.cli → the command module that defines them (loaded on first use, PEP 562)
_HOME = {
    "parse_override": "train", "epoch_robustness": "train", "MODELS": "train", "cmd_train": "train",
    "cmd_loadtest": "serve", "cmd_serve": "serve",
    "cmd_evaluate": "evaluate", "cmd_realset": "evaluate",
    "print_table": "attack", "cmd_attack": "attack",
    "cmd_assets": "assets", "cmd_card": "assets",
    "cmd_bench": "bench",
    "cmd_reproduce": "study",
    "WATCH_N": "common", "check_counts": "common", "checkpoint_for": "common", "detector_for": "common",
}


def __getattr__(name: str):
    if name not in _HOME:
        raise AttributeError(f"module 'vacdemo.cli' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_HOME[name]}", __name__), name)
    globals()[name] = value
    return value


def build_parser():
    import argparse
    parser = argparse.ArgumentParser(prog="python -m vacdemo", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        importlib.import_module(f".{name}", __name__).register(sub)
    return parser


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.command_line = "python -m vacdemo " + shlex.join(argv)  # recorded in checkpoints
    try:
        return args.run(args)
    except VacdemoError as e:  # the package's own errors: one line; anything else is a bug, with its traceback
        print(f"error: {e}", file=sys.stderr)
        return 2
