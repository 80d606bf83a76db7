"""Objects with __reduce_package__: what they save and how they come back."""
CALLS = []


class ReduceThing:
    def __init__(self, tag, payload):
        self.tag = tag
        self.payload = payload
        self.seen_storage_context = None
        self.seen_map_location = None

    def __reduce_package__(self, exporter):
        key = exporter.get_unique_id()
        exporter.save_text("impfix_a.reduce_data", f"thing_{key}.txt", self.payload)
        return (unpackage_thing, (self.tag, key))


def unpackage_thing(importer, tag, key):
    CALLS.append((tag, key))
    payload = importer.load_text("impfix_a.reduce_data", f"thing_{key}.txt")
    thing = ReduceThing(tag, payload)
    thing.seen_storage_context = importer.storage_context is not None
    thing.seen_map_location = importer.last_map_location
    return thing


def unpackage_legacy(importer, tag):
    # Target of the legacy 2-tuple ("reduce_package", func, args) persistent id.
    CALLS.append((tag, None))
    return ReduceThing(tag, "legacy")
