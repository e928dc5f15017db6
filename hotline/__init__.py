"""hotline: a city's single service number, from any channel to a ticket."""

__version__ = "0.1.0"
