"""Audit a mix: verify it, list its sources, trace documents, diff versions, data card."""
