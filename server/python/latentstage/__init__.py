"""latentstage model tools: importers, fixtures and reference modules (python3 -m latentstage.<module>)."""
