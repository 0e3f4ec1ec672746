"""Use cases and card dialogs. Talks to the outside world only through the ports in ``ports``."""
