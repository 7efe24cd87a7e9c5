"""Rules: the table schema, a file's column layout, the settings, the value rules over a batch
(rows), dates and countries, lines' header companies, and the report of issues they raise."""
