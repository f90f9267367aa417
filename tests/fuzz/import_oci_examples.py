#!/usr/bin/env python3
"""Copies the OCI image-spec's own example manifests, indexes and descriptors into
tests/fuzz/corpus/manifest/ (seeds of the manifest fuzz target).

Source: Debian's golang-github-opencontainers-image-spec-dev, which ships the spec's
Markdown (```json examples) and schema/*_test.go (JSON documents, each marked valid or
invalid by its `fail:` field). Run it again after upgrading that package:
    apt-get install golang-github-opencontainers-image-spec-dev
    tests/fuzz/import_oci_examples.py
"""
import pathlib
import re
import sys

SPEC = pathlib.Path("/usr/share/gocode/src/github.com/opencontainers/image-spec")
OUT = pathlib.Path(__file__).resolve().parent / "corpus" / "manifest"

# Go test tables: `field: <raw string>`, then `fail: true|false` (absent: false) before
# the next document.
GO_TESTS = {
    "manifest_test.go": "manifest",
    "imageindex_test.go": "imageIndex",
    "descriptor_test.go": "descriptor",
    "backwards_compatibility_test.go": "manifest|imageIndex",
}
MARKDOWN = ["manifest.md", "image-index.md", "image-layout.md", "descriptor.md"]


def main():
    if not SPEC.is_dir():
        sys.exit(f"{SPEC} not found: apt-get install golang-github-opencontainers-image-spec-dev")
    OUT.mkdir(parents=True, exist_ok=True)
    written = 0
    for name, fields in GO_TESTS.items():
        text = (SPEC / "schema" / name).read_text()
        docs = list(re.finditer(r"\b(?:%s):\s*`([^`]*)`" % fields, text))
        for i, doc in enumerate(docs):
            end = docs[i + 1].start() if i + 1 < len(docs) else len(text)
            fail = re.search(r"\bfail:\s*(true|false)", text[doc.end():end])
            kind = "invalid" if fail and fail.group(1) == "true" else "valid"
            stem = name.removesuffix("_test.go")
            out = OUT / f"oci-{stem}-{i:02d}-{kind}.json"
            out.write_text(doc.group(1).strip() + "\n")
            written += 1
    for name in MARKDOWN:
        text = (SPEC / name).read_text()
        for i, block in enumerate(re.finditer(r"```json[^\n]*\n(.*?)```", text, re.S)):
            out = OUT / f"oci-{name.removesuffix('.md')}-md-{i:02d}.json"
            out.write_text(block.group(1))
            written += 1
    print(f"{written} OCI image-spec examples written to {OUT}")


if __name__ == "__main__":
    main()
