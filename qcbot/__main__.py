"""Run the `qcbot` command line: `python -m qcbot …`."""

from bot.cli import main

raise SystemExit(main())
