"""An optional import guarded by try/except: the module does not exist anywhere."""
try:
    import expfix_this_module_does_not_exist as optional
except ImportError:
    optional = None

result = optional is None
