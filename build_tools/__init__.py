"""Citekb: a static-site knowledge base where every report citation links to the chunk it cites."""
