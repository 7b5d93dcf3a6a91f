"""The people registry: persons, categories, 特困 support, death and moves."""
