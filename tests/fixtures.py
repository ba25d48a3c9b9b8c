"""Sample knowledge bases for the tests, each written into a folder by a `make_…sample…` builder:
a corpus, a PDF, an image and a report citing them; hostile input; a pipeline app folder."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

from build_tools.ingest import Loaded
from build_tools.knowledge_base import KnowledgeBase, assemble
from build_tools.models import Corpus, Report, Source

ALPHA = "Alpha open model news"
BETA = "Beta 开源模型 发布说明"


def pdf_bytes(pages: list[str], to_unicode: dict[int, str] | None = None) -> bytes:
    """A valid PDF whose pages hold the given ASCII lines (Helvetica), with a correct xref table;
    `to_unicode` maps character codes to the text a reader extracts for them (the font's ToUnicode)."""
    objects = ["<</Type/Catalog/Pages 2 0 R>>", ""]
    kids = []
    for text in pages:
        page_number, content_number = len(objects) + 1, len(objects) + 2
        kids.append(f"{page_number} 0 R")
        stream = f"BT /F1 12 Tf 20 100 Td ({text}) Tj ET".encode()
        objects.append(
            f"<</Type/Page/Parent 2 0 R/MediaBox[0 0 400 200]"
            f"/Resources<</Font<</F1 {{font}} 0 R>>>>/Contents {content_number} 0 R>>"
        )
        objects.append(f"<</Length {len(stream)}>>stream\n{stream.decode()}\nendstream")
    font_number = len(objects) + 1
    if to_unicode:
        pairs = "".join(f"<{code:02X}> <{ord(text):04X}>\n" for code, text in to_unicode.items())
        cmap = (
            "/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /Fixture def\n"
            f"1 begincodespacerange <00> <FF> endcodespacerange\n{len(to_unicode)} beginbfchar\n{pairs}endbfchar\n"
            "endcmap CMapName currentdict /CMap defineresource pop end end"
        )
        objects.append(f"<</Type/Font/Subtype/Type1/BaseFont/Helvetica/ToUnicode {font_number + 1} 0 R>>")
        objects.append(f"<</Length {len(cmap)}>>stream\n{cmap}\nendstream")
    else:
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


def make_pptx(path: Path, slides: list[str]) -> None:
    """A deck of one slide per title, each with a body naming it."""
    from pptx import Presentation

    deck = Presentation()
    for title in slides:
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = title
        slide.placeholders[1].text = f"body of {title}"
    deck.save(path)


def png_bytes() -> bytes:
    """A 1×1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


def alpha_body() -> str:
    """Three-plus chunks of English paragraphs, each sentence numbered so chunks are distinguishable."""
    paragraphs = [
        " ".join(f"Alpha sentence {p}.{s} talks about open weights and latency." for s in range(8)) for p in range(12)
    ]
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


def make_sample_kb(root: Path, hostile: bool = False) -> Path:
    """Corpus t1 (two documents), task files (a 2-page PDF, a PNG), one report citing them."""
    corpus = root / "corpora" / "t1" / "long_context_sampled_60.json"
    corpus.parent.mkdir(parents=True)
    corpus.write_text(
        json.dumps(
            [
                {"title": ALPHA, "page_body": alpha_body()},
                {"title": BETA, "page_body": "开源模型正在改变格局。" * 40},
            ],
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
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


INJECTIONS = (
    "<script>window.pwned = 'script'</script>\n"
    "<img src=x onerror=\"window.pwned = 'img'\">\n"
    "<a href=\"javascript:window.pwned='a'\">click</a> [md link](javascript:window.pwned='md')\n"
    '# Injected heading\n\n<div id="injected">div</div>\n<iframe src="javascript:1"></iframe>\n'
    "{{ config }} {{ config.site_name }} {% include 'mkdocs.yml' %} {# comment #}\n"
    "<style>body { display: none }</style> <svg onload=\"window.pwned='svg'\"></svg>\n"
)
ODD_CHARACTERS = (
    "控制\x01\x02\x07\x08\x0b\x0c\x1b\x7f 零宽\u200b\u200c\u200d\ufeff RTL\u202e\u200fabc\u202c 表情😀👩‍💻🇨🇳 结束。"
)
SAME_50 = "同一个前缀的很长很长的标题，" * 4  # 60 characters: titles differing only after character 50


def hostile_sources() -> dict[str, str]:
    """title → body of every usable hostile source (what must come out of the build unchanged)."""
    return {
        "<script>window.pwned='title'</script> \" ] [x](y)": INJECTIONS * 3,
        "一行一兆字节": ("很长的一行没有换行 with English words " * 40000)[:1_000_000],
        "控制与零宽字符 \u202eRTL": (ODD_CHARACTERS + "\n\n") * 60,
        SAME_50 + "甲": "第一篇。" * 500,
        SAME_50 + "乙": "第二篇。" * 500,
        "重复标题": "正文一。" * 10,
        "空文档": "",
    }


def make_hostile_sample_kb(root: Path) -> Path:
    """Every kind of hostile input the issue names, plus one unusable (non-UTF-8) file."""
    corpus = [{"title": title, "page_body": body} for title, body in hostile_sources().items()]
    corpus.append({"title": "重复标题", "page_body": "正文二，另一篇同名文档。" * 10})  # same title, other body
    corpus.append({"title": "重复标题", "page_body": "正文一。" * 10})  # exact duplicate: merged
    path = root / "corpora" / "h" / "long_context_sampled_60.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(corpus, ensure_ascii=False), encoding="utf-8")
    pages = root / "pages"
    pages.mkdir()
    (pages / "latin1.txt").write_bytes("---\ntitle: café\n---\nCafé crème à la française".encode("latin-1"))
    (pages / "markdown.txt").write_text(
        "---\ntitle: 'Markdown {{ 7*7 }} <b>bold</b>'\nkind: web\n---\n" + INJECTIONS, encoding="utf-8"
    )
    report = root / "reports" / "hostile"
    report.mkdir(parents=True)
    (report / "report.yaml").write_text(
        "task: h\ncorpus: corpora/h/long_context_sampled_60\nfiles: ../../../etc\n", encoding="utf-8"
    )
    (report / "final_report.md").write_text(
        HOSTILE_REPORT + f'\nSame prefix [long_context: "{SAME_50[:50]}", chunk 0]\n' + INJECTIONS, encoding="utf-8"
    )
    return root


PLAN = "“十五五”规划要点"  # curly quotes in the corpus; reports retype them as straight quotes
PLAN_URL = "http://www.example.org/plan/"
OLD_SCHEMA_TITLE = "旧格式文档"


def make_sample_app_folder(root: Path) -> Path:
    """A pipeline app folder mixing both corpus schemas and every report layout the importer knows.

    Task 101: a JSON list of {title, page_body} (plus one item whose `content` wins), a bench folder
    with an untimed `101.md`, a timed run with its comparison and transcript. Task 102: an object
    {"documents": [{title, content, url}]}, a PDF and a Markdown task file, one results_32k run
    citing every new form (retyped quotes, follow-on chunk, [Web: URL], a task file cited by page)."""

    def write(relative: str, data: str | bytes) -> None:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))

    write(
        "datasets/101/long_context_sampled_60.json",
        json.dumps(
            [
                {"title": OLD_SCHEMA_TITLE, "page_body": "旧格式的正文。" * 300},
                {"title": "两个字段", "content": "content 字段的正文。", "page_body": "被忽略的 page_body。"},
                {"title": "只有标题"},
            ],
            ensure_ascii=False,
        ),
    )
    write(
        "datasets/102/long_context_sampled_32k.json",
        json.dumps(
            {
                "documents": [
                    {
                        "title": PLAN,
                        "content": "规划正文第一部分。" * 200 + "\n\n" + "规划正文第二部分。" * 200,
                        "url": PLAN_URL,
                    },
                    {"title": "没有网址的文档", "content": "正文。", "url": ""},
                ]
            },
            ensure_ascii=False,
            indent=1,
        ),
    )
    write("datasets/102/paper.pdf", pdf_bytes(["First page", "Second page about plans"]))
    write("datasets/102/notes.md", "# 笔记\n\n任务附带的 Markdown 文件。\n")
    bench = "results/bench_case9999"
    old_cite = f'旧格式 [long_context: "{OLD_SCHEMA_TITLE}", chunk 1]。'
    write(f"{bench}/101.md", f"# Task Report: 101\n\nGenerated at: 2025-01-01 09:00:00\n\n## Report\n\n{old_cite}\n")
    write(
        f"{bench}/101_2025-01-01_10-00-00.md", f'# 报告\n\n{old_cite} 两个字段 [long_context: "两个字段", chunk 0]。\n'
    )
    write(f"{bench}/101_2025-01-01_10-00-00_turns.txt", "turn 1: ...\n")
    rule = "=" * 40
    write(
        f"{bench}/101_2025-01-01_10-00-00_comparison.txt",
        f"{rule}\nREPORT COMPARISON\n{rule}\n\n{rule}\nQUERY\n{rule}\n问题\n\n{rule}\nORIGINAL REPORT\n{rule}\n"
        f"初稿 {old_cite}\n\n{rule}\nFINAL REPORT\n{rule}\n# 报告\n\n{old_cite}\n",
    )
    straight = PLAN.replace("“", '"').replace("”", '"')
    write(
        "results/results_32k/modelx/102_20250101_000000/final_report.md",
        "\n".join(
            [
                "# 规划报告",
                f'规划分两部分 [long_context: "{straight}", chunk 0][chunk 1]。',
                f'没有块号 [long_context: "{straight}"]，后面的引用仍有效 [long_context: "没有网址的文档", chunk 0]。',
                f"网址引用 [Web: {PLAN_URL.replace('http://www.', 'https://').rstrip('/')}]。",
                '文件被当作语料 [long_context: "paper.pdf", page 2]，文件本身 [paper.pdf, 页 2]，笔记 [文档: notes.md]。',
                "",
            ]
        ),
    )
    return root


# Runs `$CITEKB_PWN` if a template engine ever renders it (short enough for a report's first line,
# free of quotes and slashes, so it fits a file name and survives HTML escaping).
TEMPLATE_RUNS = "{{lipsum.__globals__.os.system(lipsum.__globals__.os.environ.CITEKB_PWN)}}"
TEMPLATE_SHOWS = "{{ 7*7 }}"  # 49 if rendered
# Characters YAML refuses or reads as a line break: each once stopped a page header from parsing.
HEADER_BREAKERS = ("\x7f", "\x80", "\x85", "\x9b", "\ufffe", "\uffff", "\u2028", "\x00", "\ufeff", "\u202e")
HEADING_INJECTIONS = (
    "结论 <img src=x onerror=\"window.pwned='toc'\">",
    "实体 &lt;img src=x onerror=window.pwned=2&gt;",
    "代码 `<img src=x onerror=window.pwned=3>`",
    "标题 </title><script>window.pwned=4</script>",
)
TITLE_INJECTION = "</title><script>window.pwned='title'</script><img src=x onerror=\"window.pwned='img'\">"
TOOLTIP_INJECTION = "<img src=x onerror=\"window.pwned='tooltip'\"> 报告"  # shown in title attributes


def template_payload(breaker: str) -> str:
    return f"{breaker}{TEMPLATE_RUNS} {TEMPLATE_SHOWS}"


def make_template_payload_kb(root: Path) -> Path:
    """A template payload after each header breaker in every title a generated page takes: a corpus
    document's, a task file's name, a hand-added page's `title:`, report.yaml's `title:`, a
    report's first line; a report whose headings hold HTML (raw, entity-encoded, in code), and
    one whose title does (the health page shows it in title attributes too)."""
    corpus = [{"title": template_payload(b), "page_body": f"正文 {i}。" * 20} for i, b in enumerate(HEADER_BREAKERS)]
    corpus.append({"title": TITLE_INJECTION, "page_body": "正文。"})
    path = root / "corpora" / "p" / "long_context_sampled_60.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(corpus, ensure_ascii=False), encoding="utf-8")
    files = root / "files" / "p"
    files.mkdir(parents=True)
    (files / f"{template_payload(chr(0x7F))}.txt").write_text("任务文件。", encoding="utf-8")
    yaml_title = json.dumps(template_payload("\x7f"))  # a YAML double-quoted string: \u007f, no raw DEL
    pages = root / "pages"
    pages.mkdir()
    (pages / "payload.txt").write_text(f"---\ntitle: {yaml_title}\n---\n正文。\n", encoding="utf-8")
    headings = "\n\n".join(f"## {heading}\n\n段落 {i}。" for i, heading in enumerate(HEADING_INJECTIONS))
    for name, meta, text in (
        ("html-title", f"title: {json.dumps(TOOLTIP_INJECTION)}\n", '# 报告\n\n未知 [long_context: "没有", chunk 0]\n'),
        ("yaml-title", f"title: {yaml_title}\n", f"# 报告\n\n{headings}\n"),
        ("first-line", "", f"# \x7f{TEMPLATE_RUNS}\n\n正文。\n"),  # a title is its first 80 characters
    ):
        folder = root / "reports" / name
        folder.mkdir(parents=True)
        (folder / "report.yaml").write_text(
            f"task: p\ncorpus: corpora/p/long_context_sampled_60\n{meta}", encoding="utf-8"
        )
        (folder / "final_report.md").write_text(text, encoding="utf-8")
    return root


ACTIVE_FILES = {  # task files a browser would run, each trying to set window.pwned and open a dialog
    "page.html": "<html><body onload=\"window.pwned='onload'\"><script>window.pwned='html';alert(1)</script>"
    "<img src=x onerror=\"window.pwned='img'\"><p>网页正文</p></body></html>",
    "figure.svg": '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20" onload="window.pwned=\'svg\';alert(2)">'
    '<script>window.pwned=\'svg-script\'</script><rect width="40" height="20" fill="red"/></svg>',
    "feed.xml": '<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body>'
    "<script>window.pwned='xml';alert(3)</script></body></html>",
    "page.xhtml": "<html xmlns=\"http://www.w3.org/1999/xhtml\"><body><script>window.pwned='xhtml'</script></body></html>",
    "app.js": "window.pwned = 'js'; alert(4)",
}


def make_active_files_kb(root: Path) -> Path:
    """make_sample_kb's knowledge base plus ACTIVE_FILES among task t1's files, and a report citing
    the SVG and the HTML page."""
    make_sample_kb(root)
    for name, text in ACTIVE_FILES.items():
        (root / "files" / "t1" / name).write_text(text, encoding="utf-8")
    folder = root / "reports" / "active"
    folder.mkdir(parents=True)
    (folder / "report.yaml").write_text("task: t1\ncorpus: corpora/t1/long_context_sampled_60\n", encoding="utf-8")
    (folder / "final_report.md").write_text(
        "# 活动内容\n\n图 [图片: figure.svg]，网页 [文档: page.html]。\n", encoding="utf-8"
    )
    return root


def report_over_two_sources(final: str, original: str | None, titles: tuple[str, str], body: str) -> KnowledgeBase:
    """A knowledge base of one report `r` (task t) over a corpus of two sources titled `titles`,
    each holding `body`: what in-process render tests build their pages from."""
    loaded = Loaded(Path("/kb"))
    sources = [Source(f"s{i}", title, body) for i, title in enumerate(titles)]
    loaded.sources = {s.slug: s for s in sources}
    loaded.corpora["corpora/t/c"] = Corpus("corpora/t/c", "t", [s.slug for s in sources])
    loaded.reports["r"] = Report("r", "报告", "reports/r", final, original, task="t", corpus="corpora/t/c")
    return assemble(loaded)
