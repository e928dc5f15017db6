"""Repository functions, one module per aggregate."""
