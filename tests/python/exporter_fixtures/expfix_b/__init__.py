"""Every literal __import__ form (the exporter must find each dependency)."""
plain = __import__("expfix_plain")
nested = print(__import__("expfix_b.inner.leaf")) or __import__("expfix_b.inner.leaf")
with_fromlist = __import__("expfix_b.inner", globals(), locals(), ["leaf2"])
keyword_fromlist = __import__("expfix_b", fromlist=["sibling"])
relative = __import__("sibling", globals(), locals(), ["value"], 1)
star = __import__("xml.sax.xmlreader", fromlist=["*"])
