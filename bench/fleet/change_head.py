#!/usr/bin/env python3
"""change_head.py IN.hmc OUT.hmc [PREFIX...]: copies a .hmc (safetensors layout) and overwrites the
bytes of every tensor whose name starts with a prefix (default "fc.") with random values of the
same size: a 'fine-tuned classifier head' version for the delta benchmark. The header is kept."""
import json
import os
import struct
import sys


def main():
    src, dst = sys.argv[1], sys.argv[2]
    prefixes = sys.argv[3:] or ["fc."]
    data = bytearray(open(src, "rb").read())
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    changed = 0
    for name, entry in header.items():
        if name == "__metadata__" or not any(name.startswith(p) for p in prefixes):
            continue
        begin, end = entry["data_offsets"]
        data[8 + n + begin:8 + n + end] = os.urandom(end - begin)
        changed += end - begin
        print(f"changed {name}: {end - begin} bytes")
    open(dst, "wb").write(data)
    print(f"changed {changed} bytes of {len(data)}")


if __name__ == "__main__":
    main()
