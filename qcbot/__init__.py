"""`python -m qcbot`: the same command line as the `qcbot` script (bot.cli); nothing else lives here."""
