"""The knowledge base: entries, editorial workflow and retrieval of answers."""
