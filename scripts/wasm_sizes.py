"""What a browser downloads of the split WASM bundle, gzip -9, file by file (as HTTP compresses).

    python3 scripts/wasm_sizes.py target/site/pkg echeancier

Prints one line: the main module, the largest page (the main module and the chunks of its face,
the lazy function its route loads, from `__wasm_split_manifest.json`), that face, and every WASM
file together.
"""

import gzip
import json
import sys
from pathlib import Path


def gz(path: Path) -> int:
    return len(gzip.compress(path.read_bytes(), 9))


def main() -> None:
    pkg, name = Path(sys.argv[1]), sys.argv[2]
    main_gz = gz(pkg / f"{name}.wasm")
    sizes = {p.stem: gz(p) for p in pkg.glob("*.wasm") if p.stem != name}
    manifest = json.loads((pkg / "__wasm_split_manifest.json").read_text())
    # Each lazy function (`<name>_<hash>`) with the chunks it loads, its own module among them.
    pages = {
        key.strip("_").rsplit("_", 1)[0]: main_gz + sum(sizes.get(chunk, 0) for chunk in chunks)
        for key, chunks in manifest.items()
    }
    if not pages:
        sys.exit(f"no lazy function in {pkg / '__wasm_split_manifest.json'}")
    page, page_gz = max(pages.items(), key=lambda item: item[1])
    print(main_gz, page_gz, page, main_gz + sum(sizes.values()))


if __name__ == "__main__":
    main()
