"""A self-hosted web chat for the GLM-4 model family."""
