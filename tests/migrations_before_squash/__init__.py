"""Migrations 0001 to 0020 as main had them before they were squashed: test_schema_migrations
makes a database with them (MIGRATION_MODULES) and upgrades it. Not the app's: never edit."""
