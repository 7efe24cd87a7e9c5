"""Talking to the customer's environments: Sales (Dataverse Web API) and Finance and Operations
(OData), as Microsoft documents them. No Django imports: the CLI, the Celery tasks and the tests
use it alike, and the Django side (migration/connections/) only hands it settings."""
