"""Placing a request in the city taxonomy and suggesting categories to agents."""
