"""The parity corpus of the magika bundle: real files found on this machine (system
directories and the Python venvs under target/), with what the `magika` package's
`identify_bytes` answers for each. Nothing is copied: the list records each file's path
and sha256, so a test can tell when a file changed since (then rerun this).

Selection is deterministic for a given machine: for every extension below (and files
without one under /usr/bin), the first `PER_KIND` readable regular files by sorted path,
1 byte to 1 MiB (the function's default body limit).

    target/media-venv/bin/python models/magika/corpus.py [OUT]   (default:
    target/magika-corpus/expected.json); models/magika/corpus.sh does it in the pinned venv.
"""

import hashlib
import json
import os
import sys
from pathlib import Path

import magika
import onnxruntime

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = ROOT / "target" / "magika-corpus" / "expected.json"
SEARCH = ["/usr/share", "/usr/lib", "/usr/include", "/etc",
          str(ROOT / "target" / "media-venv"), str(ROOT / "target" / "pack-venv")]
EXTENSIONS = ["py", "json", "png", "gz", "zip", "so", "pdf", "html", "xml", "svg", "txt",
              "md", "csv", "js", "c", "h", "sh", "ttf", "jpg", "gif", "css", "toml", "yaml",
              "ini", "pem", "crt", "bz2", "xz", "pyc", "mo", "ico", "go", "pl", "lua",
              "tex", "rst", "pyi", "cpp", "ts", "tsv", "sql", "xsd", "dtd", "cmake", "woff",
              "woff2", "conf", "1"]
PER_KIND = 8
MAX_BYTES = 1 << 20


def candidates():
    """{extension: sorted paths}, one walk over the search roots."""
    found = {e: [] for e in EXTENSIONS}
    for top in SEARCH:
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames.sort()
            for name in filenames:
                ext = name.rsplit(".", 1)[-1] if "." in name else None
                if ext in found:
                    found[ext].append(os.path.join(dirpath, name))
    found["(elf, /usr/bin)"] = [os.path.join("/usr/bin", n) for n in os.listdir("/usr/bin")]
    return {k: sorted(v) for k, v in found.items()}


def usable(path: str) -> bool:
    try:
        return (os.path.isfile(path) and not os.path.islink(path)
                and 0 < os.path.getsize(path) <= MAX_BYTES and os.access(path, os.R_OK))
    except OSError:
        return False


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT
    m = magika.Magika()
    files = []
    for kind, paths in candidates().items():
        taken = 0
        for path in paths:
            if taken == PER_KIND:
                break
            if not usable(path):
                continue
            data = Path(path).read_bytes()
            p = m.identify_bytes(data).prediction
            files.append({
                "path": path,
                "kind": kind,
                "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
                "label": str(p.output.label),
                "group": p.output.group,
                "mime_type": p.output.mime_type,
                "score": p.score,
                "dl_label": str(p.dl.label),
            })
            taken += 1
    labels = sorted({f["label"] for f in files})
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "generated_by": "models/magika/corpus.py",
        "oracle": {"magika": magika.__version__, "onnxruntime": onnxruntime.__version__,
                   "call": "magika.Magika().identify_bytes(open(path, 'rb').read())"},
        "labels": labels,
        "files": files,
    }, indent=1) + "\n")
    print(f"{out}: {len(files)} files, {len(labels)} labels: {' '.join(labels)}")


if __name__ == "__main__":
    main()
