from quizzes.cli import cli

cli()
