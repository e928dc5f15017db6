"""Routing tickets to responsible units, deadlines, dispatch and Open311."""
