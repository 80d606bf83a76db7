"""A host package whose submodule `sub` is externed (the package itself is not)."""
