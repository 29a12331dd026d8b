from office.cli import cli

cli()
