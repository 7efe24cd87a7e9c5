"""Step 2's checks: an upload inspected (its table, columns, issues, preview), the exports
checked together (orphans, duplicates, row counts against initial sync's limits)."""
