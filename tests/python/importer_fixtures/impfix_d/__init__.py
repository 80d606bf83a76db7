"""Re-exports through parent __init__ files (the dummy-package case when re-packaging)."""
