"""Validates Kubernetes manifests against a CustomResourceDefinition's openAPIV3Schema,
strictly: an object schema with `properties` accepts no other field (unless it says
`x-kubernetes-preserve-unknown-fields`), as `kubectl apply --validate=strict` refuses
them; the API server would otherwise drop a misspelt field without a word.

    validate_crd.py CRD.yaml MANIFEST.yaml...

Documents of other kinds in a manifest are skipped. Prints one line per document; exit
status 1 with every problem when one does not validate.
"""

import copy
import sys

import jsonschema
import yaml


def strict(schema):
    """The schema with additionalProperties: false wherever properties are listed."""
    schema = copy.deepcopy(schema)

    def walk(node):
        if isinstance(node, dict):
            if (
                "properties" in node
                and "additionalProperties" not in node
                and not node.get("x-kubernetes-preserve-unknown-fields")
            ):
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return schema


def main(crd_path, manifests):
    crd = yaml.safe_load(open(crd_path))
    group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
    schemas = {
        f"{group}/{v['name']}": strict(v["schema"]["openAPIV3Schema"])
        for v in crd["spec"]["versions"]
        if v.get("served", True)
    }
    failed = checked = 0
    for path in manifests:
        for doc in yaml.safe_load_all(open(path)):
            if not doc or doc.get("kind") != kind:
                continue
            checked += 1
            name = f"{path}: {kind} {doc.get('metadata', {}).get('name')}"
            schema = schemas.get(doc.get("apiVersion"))
            if schema is None:
                print(f"{name}: apiVersion {doc.get('apiVersion')} is not one of {sorted(schemas)}")
                failed += 1
                continue
            errors = sorted(
                jsonschema.Draft7Validator(schema).iter_errors(doc), key=lambda e: list(e.path)
            )
            for e in errors:
                print(f"{name}: {'.'.join(map(str, e.path)) or '(root)'}: {e.message}")
            failed += bool(errors)
            if not errors:
                print(f"{name}: valid")
    if checked == 0:
        print(f"no {kind} in {manifests}")
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
