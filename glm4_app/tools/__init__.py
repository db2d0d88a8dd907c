"""Tools the model may call in All Tools mode: Python, a web browser, text-to-image, functions."""
