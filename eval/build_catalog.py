#!/usr/bin/env python3
"""Assemble eval/catalog.json and eval/sources.json from capture_tools.py output.

Usage: build_catalog.py <specs.json> <captured-dir>
Only servers listed in LICENSES (all permissive) are included.
"""
import json, os, sys

# Licence of each package as determined from its package.json / wheel METADATA, and where the
# package.json field is not an SPDX id, from the file named.
LICENSES = {
    "everything": ("MIT", "package.json: 'SEE LICENSE IN LICENSE'; README: 'licensed under the MIT License'"),
    "filesystem": ("MIT", "package.json: 'SEE LICENSE IN LICENSE'; README: 'licensed under the MIT License'"),
    "memory": ("MIT", "package.json: 'SEE LICENSE IN LICENSE'; README: 'licensed under the MIT License'"),
    "sequential-thinking": ("MIT", "package.json: 'SEE LICENSE IN LICENSE'; README: 'licensed under the MIT License'"),
    "datadog": ("Apache-2.0", "no package.json field; LICENSE file in the package is Apache 2.0"),
    "exa": ("MIT", "no package.json field; LICENSE file in the package is MIT"),
}

def main():
    specs = {s["server"]: s for s in json.load(open(sys.argv[1]))}
    cap = sys.argv[2]
    servers, sources = [], []
    for name in sorted(specs):
        path = os.path.join(cap, name + ".json")
        if not os.path.exists(path):
            continue
        spec = specs[name]
        data = json.load(open(path))
        lic, note = LICENSES.get(name, (spec.get("license_field"), "package metadata"))
        if lic not in ("MIT", "Apache-2.0", "ISC", "BSD-2-Clause", "BSD-3-Clause"):
            print("skipping", name, lic)
            continue
        servers.append({"name": name, "tools": data["tools"]})
        sources.append({
            "server": name, "registry": spec["registry"], "package": spec["package"],
            "version": spec.get("version") or (data.get("serverInfo") or {}).get("version"),
            "license": lic, "license_source": note,
            "serverInfo": data.get("serverInfo"), "protocolVersion": data.get("protocolVersion"),
            "tools": len(data["tools"]),
            "obtained": "tools/list over stdio (eval/capture_tools.py), dummy credentials in env",
        })
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "catalog.json"), "w") as f:
        json.dump({"servers": servers}, f, indent=1, ensure_ascii=False)
        f.write("\n")
    with open(os.path.join(here, "sources.json"), "w") as f:
        json.dump(sources, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(len(servers), "servers,", sum(len(s["tools"]) for s in servers), "tools")

if __name__ == "__main__":
    main()
