"""What every exporter shares: one-line errors, strict argument parsing, and the torch import.

A user mistake (wrong file, missing folder, misspelt flag, contradicting setting) is an ExportError: `run` prints
it as one line `<tool>: <message>` on stderr and exits with status 2, never a traceback. Anything else escaping
an exporter is a defect of the tool: also one line (exit 1), with the traceback only when SEQREC_TRACEBACK=1.
Needs only the standard library.
"""
import argparse
import difflib
import os
import sys


class ExportError(Exception):
    """A mistake the user can fix; the message says what was wrong and what to do."""


def run(main, tool):
    try:
        main()
    except ExportError as e:
        _fail(tool, str(e), 2)
    except KeyboardInterrupt:
        _fail(tool, "interrupted", 130)
    except SystemExit:
        raise
    except Exception as e:  # a defect of the tool, not of the input: still one line
        if os.environ.get("SEQREC_TRACEBACK") == "1":
            raise
        _fail(tool, f"internal error: {type(e).__name__}: {_one_line(str(e))} "
                    "(rerun with SEQREC_TRACEBACK=1 for the traceback and report it)", 1)


def _one_line(text):
    return " ".join(str(text).split())[:500]


def _fail(tool, message, status):
    sys.stderr.write(f"{tool}: {_one_line(message)}\n")
    sys.stderr.flush()
    sys.exit(status)


class Parser(argparse.ArgumentParser):
    """argparse without abbreviations (`--num-head` is not `--num-heads`), with one-line errors that suggest the
    nearest option for a misspelt one."""

    def __init__(self, tool, **kwargs):
        super().__init__(prog=tool, allow_abbrev=False, **kwargs)
        self.tool = tool

    def parse_args(self, args=None, namespace=None):
        # Unknown options first: argparse would report a misspelt required option as a missing one.
        argv = sys.argv[1:] if args is None else list(args)
        known = {s for a in self._actions for s in a.option_strings}
        unknown = []
        for word in argv:
            if word == "--":
                break
            if word.startswith("-") and len(word) > 1 and not word[1].isdigit() and word.split("=")[0] not in known:
                unknown.append(word)
        if unknown:
            self.error("unrecognized arguments: " + " ".join(unknown))
        return super().parse_args(argv, namespace)

    def error(self, message):
        if message.startswith("unrecognized arguments:"):
            known = [s for a in self._actions for s in a.option_strings]
            hints = []
            for word in message.split(":", 1)[1].split():
                if word.startswith("-"):
                    close = difflib.get_close_matches(word.split("=")[0], known, n=1, cutoff=0.6)
                    if close:
                        hints.append(f"{word}: did you mean {close[0]}?")
            if hints:
                message += " (" + "; ".join(hints) + ")"
        _fail(self.tool, message + f" (see {self.tool} --help)", 2)


def import_torch():
    """torch, or an ExportError saying how to get it (the checks before this point need no torch)."""
    try:
        import torch
    except ImportError:
        raise ExportError("the checks passed, but exporting needs torch: run `bash Tools/setup_venv.sh` and use "
                          "Tools/.venv/bin/python")
    torch.set_num_threads(1)
    return torch


def numpy_aliases():
    """RecBole 1.2.1 predates NumPy 2: restore the aliases it uses (before importing recbole)."""
    import numpy as np
    for alias, target in (("float_", np.float64), ("complex_", np.complex128), ("unicode_", np.str_),
                          ("Inf", np.inf), ("NaN", np.nan)):
        if not hasattr(np, alias):
            setattr(np, alias, target)


def nearest(word, choices):
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
