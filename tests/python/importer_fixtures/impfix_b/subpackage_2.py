VALUE = "subpackage_2"
