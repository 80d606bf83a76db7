VALUE = "subsubpackage_0"
# level 3: from impfix_b/subpackage_0/subsubpackage_0 up to impfix_b
up = __import__("subpackage_2", globals(), locals(), ["VALUE"], 3)
