from office.cli import OFFICE_COMMANDS
from quizzes.cli import cli

# The office's commands moved to `python -m office`; the old spelling keeps working. Only
# this entry point knows both packages: the study core itself never imports the office.
for command in OFFICE_COMMANDS:
    cli.add_command(command)

cli()
