"""Satisfaction callbacks after closure."""
