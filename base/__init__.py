"""What every package of the app uses and none of them owns: the store (one writer path,
migrations), the settings read from the environment, the clock (stored timestamps, Beijing
time and its days), SQL helpers and text folding. Imports nothing of kb, quizzes, office
or ui."""
