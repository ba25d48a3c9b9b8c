"""Small hand-made knowledge bases for tests: a corpus, a PDF, an image and a report citing them."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

ALPHA = "Alpha open model news"
BETA = "Beta 开源模型 发布说明"


def pdf_bytes(pages: list[str]) -> bytes:
    """A valid PDF whose pages hold the given ASCII lines (Helvetica), with a correct xref table."""
    objects = ["<</Type/Catalog/Pages 2 0 R>>", ""]
    kids = []
    for text in pages:
        page_number, content_number = len(objects) + 1, len(objects) + 2
        kids.append(f"{page_number} 0 R")
        stream = f"BT /F1 12 Tf 20 100 Td ({text}) Tj ET".encode()
        objects.append(f"<</Type/Page/Parent 2 0 R/MediaBox[0 0 400 200]"
                       f"/Resources<</Font<</F1 {{font}} 0 R>>>>/Contents {content_number} 0 R>>")
        objects.append(f"<</Length {len(stream)}>>stream\n{stream.decode()}\nendstream")
    font_number = len(objects) + 1
    objects.append("<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>")
    objects[1] = f"<</Type/Pages/Kids[{' '.join(kids)}]/Count {len(pages)}>>"
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body.replace('{font}', str(font_number))}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode()
    out += f"trailer\n<</Size {len(objects) + 1}/Root 1 0 R>>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def png_bytes() -> bytes:
    """A 1×1 PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b"")


def alpha_body() -> str:
    """Three-plus chunks of English paragraphs, each sentence numbered so chunks are distinguishable."""
    paragraphs = [" ".join(f"Alpha sentence {p}.{s} talks about open weights and latency." for s in range(8))
                  for p in range(12)]
    return "\n\n".join(paragraphs)


REPORT = f"""# Demo report on open models

Open models are spreading fast [long_context: "{ALPHA}", chunk 1]. 中文模型同样在发布 [long_context: “{BETA}”, chunk 0].
The PDF explains it on its second page [文档: paper.pdf, p2] and the logo is shown [图片: logo.png].
Broken ones: [long_context: "{ALPHA}", chunk 99999999999] [long_context: "Gamma never imported", chunk 0] [文档: missing.pdf]
"""

HOSTILE_REPORT = """# Hostile report

Script title [long_context: "<script>window.pwned=1</script>", chunk 0] and a negative [long_context: "Alpha open model news", chunk -1].
Quotes and brackets [long_context: "a]b\\"c", chunk 1] unbalanced [long_context: "Alpha open model news", chunk 2
Escape [文档: ../../../etc/passwd] [图片: ../logo.png] bare [long_context] [文档]
Raw HTML <img src=x onerror="window.pwned=2"> and <b id="injected">bold</b> and {{ config.site_name }} {% include 'x' %}
[a link](javascript:window.pwned=3)
"""


def make_kb(root: Path, hostile: bool = False) -> Path:
    """Corpus t1 (two documents), task files (a 2-page PDF, a PNG), one report citing them."""
    corpus = root / "corpora" / "t1" / "long_context_sampled_60.json"
    corpus.parent.mkdir(parents=True)
    corpus.write_text(json.dumps([
        {"title": ALPHA, "page_body": alpha_body()},
        {"title": BETA, "page_body": "开源模型正在改变格局。" * 40},
    ], ensure_ascii=False), encoding="utf-8")
    files = root / "files" / "t1"
    files.mkdir(parents=True)
    (files / "paper.pdf").write_bytes(pdf_bytes(["First page about scaling", "Second page about latency budgets"]))
    (files / "logo.png").write_bytes(png_bytes())
    for slug, text in [("demo", REPORT)] + ([("hostile", HOSTILE_REPORT)] if hostile else []):
        folder = root / "reports" / slug
        folder.mkdir(parents=True)
        (folder / "report.yaml").write_text("task: t1\ncorpus: corpora/t1/long_context_sampled_60\n", encoding="utf-8")
        (folder / "final_report.md").write_text(text, encoding="utf-8")
    return root
