"""Persistence adapters: the only code that imports TinyDB and the PostgreSQL driver (psycopg).

``TinyDbStore`` (embedded, the default: one school, one machine, one process),
``PostgresStore`` (``DATABASE_URL``: a trust's schools, or several instances; schema in
``store/migrations``) and ``InMemoryStore`` (tests) keep one contract (``tests/contract``).
"""
