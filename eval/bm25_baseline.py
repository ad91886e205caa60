#!/usr/bin/env python3
"""Plain BM25 baseline (rank_bm25.BM25Okapi) on the same catalog and queries.

One document per tool: server name, tool name, title, description, parameter names and
parameter descriptions, concatenated; tokens are lower-cased runs of letters and digits
(no stemming, no stop words, no field weights). `pip install rank_bm25`, then
`python3 eval/bm25_baseline.py [eval/catalog.json] [eval/queries.jsonl]`.
"""
import json, re, sys
from rank_bm25 import BM25Okapi

here = __file__.rsplit("/", 1)[0]
catalog = json.load(open(sys.argv[1] if len(sys.argv) > 1 else f"{here}/catalog.json"))
queries = [json.loads(l) for l in open(sys.argv[2] if len(sys.argv) > 2 else f"{here}/queries.jsonl")]

def params(schema, depth=0):
    if not isinstance(schema, dict) or depth >= 6:
        return
    for name, prop in (schema.get("properties") or {}).items():
        yield name, (prop.get("description") or "") if isinstance(prop, dict) else ""
        yield from params(prop, depth + 1)
    if "items" in schema:
        yield from params(schema["items"], depth + 1)
    for k in ("anyOf", "oneOf", "allOf"):
        for alt in schema.get(k) or []:
            yield from params(alt, depth + 1)

tok = lambda s: re.findall(r"[a-z0-9]+", s.lower())
keys, docs = [], []
for server in catalog["servers"]:
    for t in server["tools"]:
        text = " ".join([server["name"], t["name"], t.get("title") or "", t.get("description") or ""]
                        + [f"{n} {d}" for n, d in params(t.get("inputSchema") or {})])
        keys.append((server["name"], t["name"]))
        docs.append(tok(text))
bm25 = BM25Okapi(docs)

r1 = r5 = r10 = mrr = 0.0
for q in queries:
    scores = bm25.get_scores(tok(q["query"]))
    order = sorted(range(len(keys)), key=lambda i: (-scores[i], i))[:10]
    relevant = {tuple(r) for r in q["relevant"]}
    rank = next((k + 1 for k, i in enumerate(order) if keys[i] in relevant and scores[i] > 0), None)
    if rank:
        r1 += rank <= 1; r5 += rank <= 5; r10 += rank <= 10; mrr += 1 / rank
n = len(queries)
print(f"| rank_bm25 BM25Okapi (baseline) | {r1/n:.3f} | {r5/n:.3f} | {r10/n:.3f} | {mrr/n:.3f} |")
