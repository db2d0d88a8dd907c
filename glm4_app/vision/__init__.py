"""Vision mode's pure-Python layer: image uploads (Pillow only) and per-checkpoint rules."""
