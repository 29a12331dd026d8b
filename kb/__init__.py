"""Knowledge-base core: documents, chunks, vectors and search over SQLite.

Plain Python: nothing here imports Streamlit.
"""
