"""Operator commands (``python -m ops <command>``): backups, retention, key rotation, the
PostgreSQL schema and move, the governors' report and review pack, the filter log, the school
file check, and the demo records. They run beside the bot, never inside it: they use the shared
settings and store opening in ``bot.config`` and ``bot.storage``, and never import botbuilder.
"""
