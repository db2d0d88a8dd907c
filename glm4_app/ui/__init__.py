"""Streamlit pages' building blocks. Only this package, app.py and pages/ import streamlit."""
