important_string = "subsubpackage_0"
