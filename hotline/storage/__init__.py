"""Storage: SQLModel tables, async engines, migrations and one repository per aggregate."""
