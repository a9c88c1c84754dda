"""Reads WebDataset shards the way webdataset's tariterators do, with only the standard library.

For each shard named in shardindex.json: iterate the tar member by member (tarfile, stream mode),
group consecutive members by key with webdataset's own rule (key = path up to the first dot of the
basename, extension = the rest), and check every sample is complete. Image members are written to
OUT/<shard index>/<member name> so the caller can decode them. Also checks that each entry of the
shard's .index.json points at the header of the member it names (a seek-and-read, as wids does).
Prints one JSON document on stdout.
"""
import json, os, re, sys, tarfile

root, out = sys.argv[1], sys.argv[2]
KEY = re.compile(r"^((?:.*/|)[^.]+)[.]([^/]*)$")  # webdataset.tariterators.base_plus_ext
IMAGE_EXT = {"jpg", "jpeg", "png", "webp", "gif", "bmp", "tiff", "avif"}

index = json.load(open(os.path.join(root, "shardindex.json")))
assert index["__kind__"] == "wids-shard-index-v1", index
result = {"shards": [], "samples": []}
for n, entry in enumerate(index["shardlist"]):
    path = os.path.join(root, entry["url"])
    samples, current = [], None
    with tarfile.open(path, mode="r|") as tar:
        for member in tar:
            assert member.isfile(), member.name
            m = KEY.match(member.name)
            assert m, f"member without key/extension: {member.name}"
            key, ext = m.group(1), m.group(2)
            data = tar.extractfile(member).read()
            if current is None or current["__key__"] != key:
                current = {"__key__": key, "__url__": entry["url"], "files": {}}
                samples.append(current)
            assert ext not in current["files"], f"duplicate member {member.name}"
            current["files"][ext] = data
    assert len(samples) == entry["nsamples"], (entry, len(samples))
    keys = [s["__key__"] for s in samples]
    assert len(keys) == len(set(keys)), "a key split into two groups"
    shard_dir = os.path.join(out, str(n))
    os.makedirs(shard_dir, exist_ok=True)
    for s in samples:
        files = s["files"]
        meta = json.loads(files["json"].decode("utf-8"))
        text = files["txt"].decode("utf-8")
        images = sorted(e for e in files if e.rsplit(".", 1)[-1] in IMAGE_EXT)
        for e in images:
            with open(os.path.join(shard_dir, f"{s['__key__']}.{e}"), "wb") as f:
                f.write(files[e])
        result["samples"].append({"key": s["__key__"], "shard": entry["url"], "dir": shard_dir, "exts": sorted(files), "images": images, "text": text, "meta": meta})
    shard_index = json.load(open(path[: -len(".tar")] + ".index.json"))
    with open(path, "rb") as f:
        for item in shard_index["samples"]:
            for mem in item["members"]:
                f.seek(mem["offset"])
                info = tarfile.TarInfo.frombuf(f.read(512), "utf-8", "surrogateescape")
                assert info.name == mem["name"] and info.size == mem["size"], (info.name, mem)
                assert info.name.split(".", 1)[0] == item["key"]
    result["shards"].append({"url": entry["url"], "nsamples": entry["nsamples"], "bytes": os.path.getsize(path), "indexed": len(shard_index["samples"])})
print(json.dumps(result))
