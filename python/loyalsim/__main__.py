"""``python -m loyalsim report RESULTS.h5 …``: the package's command line (the engine's ``loyalsim report`` execs it)."""
from __future__ import annotations

import sys


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = {"report": "write the strategist's HTML report of a results file"}
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python -m loyalsim COMMAND ...\n\ncommands:")
        for name, text in commands.items():
            print(f"  {name:<10}{text}")
        return 0 if argv else 2
    if argv[0] not in commands:
        print(f"loyalsim: unknown command {argv[0]!r}; commands: {', '.join(commands)}", file=sys.stderr)
        return 2
    from .report.cli import main as report_main

    return report_main(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
