"""What every package of the app uses and none of them owns: text folding (and, as they
move here, the store, settings, clock and SQL helpers). Imports nothing of kb, quizzes,
office or ui."""
