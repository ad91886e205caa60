#!/usr/bin/env python3
"""Capture real `tools/list` output from MCP servers over stdio.

Usage: capture_tools.py <servers.json> <out-dir>

servers.json lists {"server": name, "package": npm-or-pypi name, "registry": "npm"|"pypi",
"command": [argv...], "env": {...}}. Each server is started, sent `initialize`,
`notifications/initialized` and `tools/list` (following `nextCursor`), and its tools are
written to <out-dir>/<server>.json. Dummy credentials in "env" only let servers start;
no server is asked to call any tool, and no network target other than the registries is used.
"""
import json, os, subprocess, sys, time, select

def rpc(proc, msg):
    proc.stdin.write((json.dumps(msg) + "\n").encode())
    proc.stdin.flush()

def read_response(proc, want_id, deadline):
    buf = b""
    while time.time() < deadline:
        r, _, _ = select.select([proc.stdout], [], [], 0.5)
        if not r:
            if proc.poll() is not None:
                return None
            continue
        line = proc.stdout.readline()
        if not line:
            return None
        line = line.strip()
        if not line.startswith(b"{"):
            continue
        try:
            msg = json.loads(line)
        except json.JSONDecodeError:
            continue
        if msg.get("id") == want_id and ("result" in msg or "error" in msg):
            return msg
    return None

def capture(spec, timeout=40):
    env = dict(os.environ)
    env.update(spec.get("env", {}))
    proc = subprocess.Popen(spec["command"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=env, cwd=spec.get("cwd"))
    try:
        deadline = time.time() + timeout
        rpc(proc, {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "switchyard-eval-capture", "version": "0.1"}}})
        init = read_response(proc, 1, deadline)
        if not init or "result" not in init:
            return None, f"initialize failed: {init}"
        rpc(proc, {"jsonrpc": "2.0", "method": "notifications/initialized"})
        tools, cursor, n = [], None, 2
        while True:
            params = {"cursor": cursor} if cursor else {}
            rpc(proc, {"jsonrpc": "2.0", "id": n, "method": "tools/list", "params": params})
            resp = read_response(proc, n, deadline)
            if not resp or "result" not in resp:
                return None, f"tools/list failed: {resp}"
            tools += resp["result"].get("tools", [])
            cursor = resp["result"].get("nextCursor")
            n += 1
            if not cursor:
                break
        return {"serverInfo": init["result"].get("serverInfo"),
                "protocolVersion": init["result"].get("protocolVersion"), "tools": tools}, None
    finally:
        proc.kill()
        proc.wait()

def main():
    specs = json.load(open(sys.argv[1]))
    out = sys.argv[2]
    os.makedirs(out, exist_ok=True)
    only = set(sys.argv[3:])
    for spec in specs:
        if only and spec["server"] not in only:
            continue
        res, err = capture(spec)
        if err:
            print(f"FAIL {spec['server']}: {err[:200]}")
            continue
        with open(os.path.join(out, spec["server"] + ".json"), "w") as f:
            json.dump(res, f, indent=1, ensure_ascii=False)
        print(f"OK {spec['server']}: {len(res['tools'])} tools")

if __name__ == "__main__":
    main()
