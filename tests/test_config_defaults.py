"""One set of defaults: what the library's config objects assume when a key is left out is what the
schema (workflow/schemas/config.schema.yaml) fills in for the workflow."""

import dataclasses
from pathlib import Path

import pytest
import yaml

from latentcsp.analysis.stage import AnalysisConfig
from latentcsp.analysis.intrinsic import ESTIMATORS
from latentcsp.descriptors.stage import DescriptorSet
from latentcsp.ingest import LandscapeSpec
from latentcsp.structure.crystal import Options

SCHEMA = yaml.safe_load((Path(__file__).resolve().parents[1] / "workflow/schemas/config.schema.yaml").read_text())


def schema_defaults(*path) -> dict:
    node = SCHEMA
    for key in path:
        node = node[key]
    return {k: v["default"] for k, v in node["properties"].items() if "default" in v}


def code_defaults(cls) -> dict:
    out = {}
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            out[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            out[f.name] = f.default_factory()
    return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}


@pytest.mark.parametrize("cls, path", [
    (AnalysisConfig, ("properties", "analysis")),
    (Options, ("properties", "ingest")),
    (LandscapeSpec, ("properties", "landscapes", "additionalProperties")),
    (DescriptorSet, ("properties", "descriptors", "properties", "sets", "additionalProperties")),
])
def test_library_defaults_are_the_schemas(cls, path):
    schema, code = schema_defaults(*path), code_defaults(cls)
    shared = set(schema) & set(code)
    assert shared, (cls, schema, code)
    assert {k: schema[k] for k in shared} == {k: code[k] for k in shared}


def test_every_estimator_can_be_chosen_and_the_default_is_the_librarys():
    estimators = SCHEMA["properties"]["analysis"]["properties"]["estimators"]
    assert estimators["items"]["enum"] == list(ESTIMATORS)
    assert estimators["default"] == list(AnalysisConfig().estimators)  # DANCo is out of the default (cost)


def _filled(node) -> dict:
    """The defaults of an object schema, nested objects filled from their own properties."""
    out = {}
    for key, sub in node["properties"].items():
        if sub.get("type") == "object" and "properties" in sub:
            out[key] = _filled(sub)
        elif "default" in sub:
            out[key] = sub["default"]
    return out


def test_latent_settings_defaults_are_the_schemas():
    from latentcsp.latent.group import DEFAULT_CONFIG

    schema = _filled(SCHEMA["properties"]["latent"]["properties"]["settings"])
    assert schema == DEFAULT_CONFIG
