"""Persistence adapters: the only code that imports TinyDB (and later a database driver)."""
