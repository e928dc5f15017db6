"""Hybrid (dense + keyword) retrieval over knowledge-base questions, calibrated to a confidence."""
