"""Pure rendering: domain objects (and who is looking) to Adaptive Card 1.5 JSON."""
