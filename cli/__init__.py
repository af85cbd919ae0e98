"""The `repro` command line: Typer app, override handling, sweep expansion, launchers."""
