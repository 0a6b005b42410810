"""Checks the gateway's Open311 GeoReport v2 answers against the spec's schemas.

Usage: validate.py ANSWERS.json — a JSON object of named answers (see server/tests/reports.rs).
Exits non-zero and lists every violation when one is found.
"""

import json
import os
import sys
from pathlib import Path

import jsonschema
import yaml

HERE = Path(__file__).resolve().parent

# Which schema each answer follows, and whether the answer is a list of them.
SHAPES = {
    "services": ("Service", "service.json", True),
    "services_en": ("Service", "service.json", True),
    "service_definition": ("ServiceDefinition", "service-definition.json", False),
    "requests": ("Request", "request.json", True),
    "requests_closed": ("Request", "request.json", True),
    "request": ("Request", "request.json", True),
    "created": ("RequestResponse", None, True),
    "error": (None, None, True),
}

ERROR_SCHEMA = {
    "type": "object",
    "required": ["code", "description"],
    "properties": {"code": {"type": "integer"}, "description": {"type": "string"}},
}


def swagger_schemas():
    doc = yaml.safe_load((HERE / "georeport_v2-1_swagger.yaml").read_text(encoding="utf-8"))
    definitions = doc["definitions"]

    def schema(name):
        # Swagger 2.0 definitions are draft-04 JSON Schema; refs point into `definitions`.
        return {**definitions[name], "definitions": definitions}

    return schema


def check(errors, label, schema, answer, is_list):
    items = answer if is_list else [answer]
    if is_list and not isinstance(answer, list):
        errors.append(f"{label}: expected a list, got {type(answer).__name__}")
        return 0
    validator = jsonschema.Draft4Validator(
        schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER
    )
    for i, item in enumerate(items):
        for e in validator.iter_errors(item):
            errors.append(f"{label}[{i}] {list(e.absolute_path)}: {e.message}")
    return len(items)


def main():
    answers = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    swagger = swagger_schemas()
    json_dir = os.environ.get("OPEN311_SCHEMAS")
    errors, checked = [], 0
    for name, (definition, json_file, is_list) in SHAPES.items():
        answer = answers[name]
        if definition is None:
            checked += check(errors, f"{name} (error list)", ERROR_SCHEMA, answer, is_list)
            continue
        checked += check(errors, f"{name} (swagger {definition})", swagger(definition), answer, is_list)
        if json_dir and json_file:
            schema = json.loads((Path(json_dir) / json_file).read_text(encoding="utf-8"))
            checked += check(errors, f"{name} ({json_file})", schema, answer, is_list)
    print(f"{checked} objects checked against the GeoReport v2 schemas"
          + (" (swagger definitions and the JSON Schema transcription)" if json_dir else " (swagger definitions)"))
    if errors:
        print("\n".join(errors))
        sys.exit(1)


if __name__ == "__main__":
    main()
