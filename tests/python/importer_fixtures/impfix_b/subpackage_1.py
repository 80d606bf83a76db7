VALUE = "subpackage_1"
