"""Stage 4: citations — parse what reports write, resolve it against the knowledge base."""
