"""Python + numpy baseline for `pnpm bench filter` part 2: the same MinHash work as
pipelines/filter (NFKC, lower case, runs of non-letters/digits to one space, word 5-grams,
128 seeded permutations, minimum per permutation), vectorised over shingles the way datatrove
does it: one 64-bit hash per shingle string, then (a * h + b) mod (2^61 - 1) for all
permutations at once, masked to 32 bits, min over the shingles.

Usage: python3 _filter-minhash.py DOCS.jsonl ROUNDS  (DOCS: one JSON string per line)
Prints one JSON line: best CPU seconds (time.process_time, so a loaded machine does not count), documents, signatures, shingles.
"""
import json
import sys
import time
import unicodedata

import numpy as np
import regex

NGRAM = 5
PERMUTATIONS = 128
PRIME = np.uint64((1 << 61) - 1)
MASK32 = np.uint64(0xFFFFFFFF)
NON_WORD = regex.compile(r"[^\p{L}\p{M}\p{N}]+")


def main() -> None:
    path, rounds = sys.argv[1], int(sys.argv[2])
    with open(path, encoding="utf-8") as f:
        docs = [json.loads(line) for line in f if line.strip()]
    rng = np.random.default_rng(42)
    a = rng.integers(1, 1 << 32, size=PERMUTATIONS, dtype=np.uint64)
    b = rng.integers(0, 1 << 32, size=PERMUTATIONS, dtype=np.uint64)
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        signatures = 0
        shingles_total = 0
        checksum = 0
        for doc in docs:
            text = NON_WORD.sub(" ", unicodedata.normalize("NFKC", doc).lower()).strip()
            words = text.split(" ") if text else []
            if len(words) < NGRAM:
                continue
            count = len(words) - NGRAM + 1
            shingles = np.fromiter(
                (hash(" ".join(words[i : i + NGRAM])) & 0xFFFFFFFF for i in range(count)),
                dtype=np.uint64,
                count=count,
            )
            phv = (shingles[:, None] * a + b) % PRIME
            signature = (phv & MASK32).min(axis=0)
            checksum ^= int(signature[0])
            signatures += 1
            shingles_total += count
        best = min(best, time.process_time() - started)
    print(json.dumps({"seconds": best, "documents": len(docs), "signatures": signatures, "shingles": shingles_total, "checksum": checksum}))


if __name__ == "__main__":
    main()
