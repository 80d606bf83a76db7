value = "leaf2"
