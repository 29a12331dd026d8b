"""Study core: quiz bank, accounts, attempts, grading and progress.

Plain Python: nothing here imports Streamlit.
"""
