"""Imports a stdlib package: implicitly externed by the exporter."""
import json


def dumps(obj):
    return json.dumps(obj, sort_keys=True)
