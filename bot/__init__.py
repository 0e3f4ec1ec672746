"""Teams wiring and the composition root: the only code that imports botbuilder."""
