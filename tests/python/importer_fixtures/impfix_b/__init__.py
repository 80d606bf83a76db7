"""Every form of __import__ call, resolved by the importer's __import__ at load time."""
top_xml = __import__("xml.sax.xmlreader")  # no fromlist: the top-level package
sub1 = __import__("impfix_b.subpackage_1", fromlist=["VALUE"])  # keyword fromlist
sub2 = __import__("subpackage_2", globals(), locals(), ["VALUE"], 1)  # positional, level 1
sub0 = __import__("subpackage_0", globals(), locals(), ["*"], 1)  # "*" with __all__
also_top = __import__("impfix_b.subpackage_1")  # dotted, no fromlist: the top package
