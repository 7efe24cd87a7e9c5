"""A migration's connections to its environments (Sales, F&O): the Django side of
migration/dynamics (which has no Django)."""
