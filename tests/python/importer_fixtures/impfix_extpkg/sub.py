SUB_VALUE = "impfix_extpkg.sub"
