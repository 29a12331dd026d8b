"""Streamlit pages and widgets: the only code besides app.py that imports streamlit."""
