value = "sibling"
