"""Every sentence a reader sees, in one table: Chinese on the site, English where `kb … --json`
prints it (a stable interface for scripts). Machine codes (statuses, kinds) stay English.

A `Reason` is a code and its values, not a sentence, so the same verdict reads in either language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

STATUS_LABELS = {
    "resolved": "已解析",
    "unknown_source": "未知来源",
    "chunk_out_of_range": "块号超出范围",
    "missing_file": "缺少文件",
    "malformed": "格式错误",
    "file_as_chunk": "任务文件被当作语料引用",
    "locator_out_of_range": "页、幻灯片或工作表不存在",
}
# An item of a bracket of several, written as if alone (render/citations.own_item): the pipeline's prefixes.
CITATION_PREFIXES = {"long_context": "long_context", "document": "文档", "image": "图片", "video": "视频", "web": "Web"}
KIND_LABELS = {
    "long_context": "语料文档",
    "document": "文档",
    "image": "图片",
    "video": "视频",
    "web": "网页",
    "rag": "RAG 参考",
}
FILE_KIND_LABELS = {  # a task file's kind (ingest.FILE_KINDS) as its page and the sources index name it
    "pdf": "PDF 文档",
    "pptx": "幻灯片",
    "xlsx": "表格",
    "docx": "Word 文档",
    "csv": "表格（CSV）",
    "html": "网页文件",
    "text": "文本文件",
    "image": "图片",
    "video": "视频",
    "other": "其他文件",
}
# The configuration of reports whose report.yaml names neither a model and context nor a bench folder
CONFIGURATION_OTHER = "其他"
# A chunk as the reader sees it: headings, citation labels and previews, audit suggestions, search
# results. Its anchor stays `#chunk-N` (paths.chunk_anchor): only the words are Chinese.
CHUNK = "块 {number}"
CHUNK_META = "字符 {start}–{end} · 标识 "  # before the chunk's id (its content hash), under its heading
OVERLAP = "与块 {number} 重叠"  # the title of the text a chunk shares with its neighbour
TASK_FILE = "任务文件 · {kind}"  # a task file's page, before its download link
DOWNLOAD = "下载原文件"  # a task file's page: the link to the file itself
SECTION_LABELS = {
    "query": "查询",
    "final": "最终报告",
    "original": "原始报告",
}  # a report's parts, as search names them
NO_CITATIONS = "无引用"  # a report's citation counts when it has none
META_LABELS = {  # header fields of sources and reports; others keep their own name
    "origin": "原始网址",
    "kind": "类型",
    "retrieved": "抓取日期",
    "title": "标题",
    "task": "任务",
    "model": "模型",
    "context": "上下文长度",
    "run": "运行",
    "bench": "基准文件夹",
    "generated": "生成时间",
    "corpus_evidence": "语料依据",
    "corpus_missing": "缺少语料",
    "summary": "摘要",
}
RULE_LABELS = {
    "breadcrumb": "面包屑导航",
    "repeated_title": "重复标题",
    "related_list": "无关的相关文章列表",
    "navigation": "导航/页脚",
}
PART_LABELS = {"page": "第 {number} 页", "slide": "第 {number} 张幻灯片", "sheet": "工作表 {name}", "text": "全文"}
FILE_NOTES = {
    "rows": "仅显示前 {shown} 行，共 {total} 行。",
    "columns": "仅显示前 {shown} 列，共 {total} 列。",
    "empty": "这里没有提取到文字。",
    "no_text": "没有提取到文字；请下载原文件查看。",
    "as_text": "本站把这个文件作为纯文本发布（浏览器直接打开网页、SVG、XML 或脚本文件会运行其中的代码）；“下载原文件”保存的仍是原文件。",
    "no_image": "这幅 SVG 图像超过 {limit} KiB（或已无法读取），不在此显示；请下载原文件查看。",
}
SOURCE_BACKLINKS = {  # a source's chunk: the reports' sentences citing it (render/sources.py)
    "heading": "引用此处的报告（{count} 处）",
    "cited": "被引用 {count} 处",  # a chunk's number in the bar above its source
}
SOURCE_PAGE = {  # a source's page and the sources' list (render/sources.py)
    "chunks": "块数",
    "characters": "字符数",
    "origins": "出处文件",
    "hidden_note": "已隐藏 {count} 字的抓取模板内容（点击展开）；块编号与研究流水线的检索器一致。",
    "hidden": "已隐藏：{rule}（{count} 字）",
    "untitled": "(无标题)",
    "list_title": "来源",
    "list_lead": "{sources} 篇抓取文档，{files} 个任务文件。",
    "list_heads": ("标题", "块数", "出处"),
    "files_heading": "任务文件",
    "files_heads": ("文件", "类型", "位置"),
}


def shown_title(title: str) -> str:
    """A source's title as the site shows it: (无标题) for a page scraped without one, never nothing."""
    return title or SOURCE_PAGE["untitled"]


FILE_BACKLINKS = {  # a task file's page: the sentences citing it, after its content (render/files.py)
    "heading": "引用此文件的报告（{count} 处）",
    "jump": "被引用 {count} 处",
}
PERMALINK = "永久链接"
OPEN = "打开"  # the citation preview's link to what it cites
RUN_TITLE = "任务 {task}"  # a report's title starts with its task
AUDIT_LABELS = {  # the evidence audit's statuses (build_tools/audit.py)
    "supported": "无审计标记",  # not 有依据: the health page shows it beside the verdicts
    "weak": "依据薄弱",
    "better_elsewhere": "别处依据更充分",
    "numbers_missing": "数字不在原文中",
    "other_language": "原文是另一种文字",
    "title_only": "块中只有标题",
    "no_statement": "无可核对的陈述",
}
SUGGESTION = "建议：{title} · {chunk}"  # a flagged citation's better chunk (its title, CHUNK)
AUDIT_REASONS = {
    "weak": "被引用的原文与这句话共有的关键词很少（支持度 {support:.2f}，仅供参考）",
    "better_elsewhere": "{where}含有 {terms}",
    "numbers_missing": "被引用的原文中没有 {numbers}",
    "other_language": "被引用的原文几乎不是中文，只核对了名称和数字，请对照原文阅读",
    "title_only": "被引用的块只有文档标题",
    "no_statement": "引用处只是名称或标签",
}
# The evidence verdict of a citation (models.VERDICTS, issue 27): a shape and a word, never colour
# alone. The shapes are no words; the labels are what a screen reader says for them.
VERDICT_LABELS = {"supported": "有依据", "partial": "依据不全", "unsupported": "无依据"}
VERDICT_MARKS = {"supported": "✓", "partial": "◐", "unsupported": "✗"}
UNRESOLVED = ("⚠", "未解析")  # a citation that does not resolve cleanly, beside the verdicts
# The claim's key facts, in a citation's preview: found in the passage as written, or not (a passage
# may say a fact in other words, so "not found", never "not said").
FACTS = {  # a citation's preview: the claim's key facts the passage holds and lacks
    "held": "原文中找到：",
    "missing": "原文中未找到：",
    "unworded": "原文未逐字出现（可能换了说法）：",  # beside ✓: the passage states the key facts, not all its words
}
VERDICT_COUNTS = "证据判定："  # the report page's header, before the counts
SUMMARY = {  # the report page's summary at its top (render/reports.py summary_html)
    "label": "引用摘要",
    "total": "最终报告引用 {count} 处：",
    "none": "最终报告没有引用。",
    "then": "，",
    "flags": "⚑ 审计标记",
    "unjudged": "未判定",
    "unjudged_why": "已解析，但没有可核对的文字（如图片），不作证据判定",
    "first": "跳到第一处",
}
CHECK_NAV = {  # the report page's jump to the next / previous citation to check (citekb-evidence.js)
    "label": "待核查的引用",
    "previous": "上一处",
    "next": "下一处",
    "keys": "快捷键：{key}",
    "total": "待核查 {total} 处",
    "position": "待核查 {n} / {total}",  # beside the buttons, whose words a phone leaves out
    "announce": "待核查的引用第 {n} 处，共 {total} 处：{what}",
    "wrapped": "（已从头开始）",
    "wrapped_back": "（已从末尾开始）",
}
# What validation changed (render/changes.py): the citation-changes table and the text diff.
CHANGE_LABELS = {"added": "新增", "removed": "删除", "moved": "移动"}
CHANGE_NOTES = {  # on hover over the change
    "added": "验证后的报告新增了这处引用",
    "removed": "验证删去了这处引用",
    "moved": "这处引用出现在不同的句子中",
}
CHANGES_TABLE = {
    "change": "变化",
    "status": "状态",
    "verdict": "证据判定",
    "source": "来源",
    "chunk": "块 {chunk}",
    "count": "次数",
    "places": "位置",
    "final": "最终",
    "original": "原始",
    "none": "—",
}
DIFF_SAME = "… {count} 段未改动 …"
DIFF_CITATION = "〔引用〕"  # a citation bracket in the validation diff's text: the diff is about the words
STATS_VERDICTS = {  # the comparison page (render/comparison.py): the verdicts' shares per configuration
    "definition": "<b>证据判定</b>：经证据审计的语料引用中，被引用的原文说出了这句话的关键事实（有依据）、"
    "只说出其中一部分（依据不全）、一个也没说出（无依据）的比例；只统计最终报告。",
}
# Why a run failed (stats.failure), on the report page, the reports index and the comparison page.
FAILURE_LABELS = {
    "no_output": "运行失败：没有生成报告",
    "plan_only": "运行失败：只有计划或开场白，没有报告",
    "truncated": "报告不完整：正文中途截断",
}
FAILURE_SHORT = {"no_output": "无输出", "plan_only": "仅计划", "truncated": "截断"}
RANKING = {  # the comparison page's ranking (render/comparison.py, stats.ranked)
    "heading": "排名：哪种配置引用最可靠",
    "rule_audited": "排序规则：有依据的引用占全部引用的比例从高到低；相同时依次比疑似编造占比（低者在前）、"
    "失败运行占比（低者在前）、已解析占比（高者在前）。没有一处引用经过证据判定的配置排在其后，没有引用的配置排在最后。",
    "rule_plain": "排序规则：已解析的引用占全部引用的比例从高到低；相同时依次比疑似编造占比、失败运行占比（低者在前）。"
    "没有引用的配置排在最后。",
    "shares": "有依据、依据不全、无依据、已解析均为占该配置全部引用的比例（条形图中灰色为未经审计的引用）；"
    "疑似编造占带标题的语料引用，文件缺失占文件引用，失败占运行次数。点击数字即可查看其背后的引用。",
    "rank": "名次",
    "configuration": "配置",
    "resolved": "已解析",
    "invented": "疑似编造",
    "missing": "文件缺失",
    "failed": "失败运行",
    "no_citations": "没有可统计的引用",
    "tasks": "按任务查看（{count} 个任务）",
    "details": "全部数字（按配置，最终报告）",
}
COMPARISON_PAGE = {  # the comparison page (render/comparison.py): title, headings, tables' heads
    "title": "引用质量对比",
    "empty": "知识库中还没有报告。",
    "by_task": "按任务",
    "validation": "验证的影响",
    "behind": "数字背后的引用",
    "configuration": "配置",
    "reports": "报告",
    "failed": "失败",
    "characters": "字符",
    "citations": "引用",
    "per_thousand": "每千字引用",
    "invented": "疑似编造",
    "missing": "文件缺失",
    "resolved": "已解析",
    "before": "验证前：{head}",
    # the details table's verdict heads: shares of the judged citations, where the ranking's are of all
    "of_judged": "{head}（占已判定）",
    "details_note": "此表中有依据、依据不全、无依据为占经过证据判定的引用的比例（排名和按任务的表中为占全部引用）；"
    "已解析及各项未解析原因（如缺少文件）占全部引用；疑似编造占带标题的语料引用；文件缺失占文件引用。",
    "compared": "比较的报告",
    "validation_note": "只比较验证前后两版都写成了的报告：验证后的报告运行失败（没有生成报告）的不计入这里的新增、删除和修复，"
    "它们计在失败运行里，其验证前的版本仍可在报告页上查看。",
    "no_task": "未指定任务",
    "task": "任务 {task}",
    "task_head": "任务",
    "statuses": "引用状态",
    "reports_listing": "报告（{count}）",
    "originals": "验证前版本（{count}）",
    "original": "验证前",
    "final": "验证后",
    "changed": "验证{change}的引用（{count}）",
    "replaced": "（替换了 {title}{chunk}）",
    "replaced_chunk": "，{chunk}",
    "invented_titles": "疑似编造的标题",
}
# What validation did to a report's citations, counted per configuration (stats.Validation).
VALIDATION_CHANGES = {"added": "新增", "removed": "删除", "repaired": "修复"}
COMPARISON_DEFINITIONS = (  # the comparison page's figures defined, folded under its ranking (HTML)
    '<details class="citekb-definitions"><summary>各项数字的定义</summary><ul class="citekb-note">'
    "<li><b>配置</b>：模型 × 上下文长度（<code>results_{ctx}/&lt;模型&gt;</code>），或一个 基准文件夹；"
    "没有这两项信息的报告归入“其他”。</li>"
    "<li><b>失败运行</b>：没有生成报告（空白或 <code>No report generated.</code> 之类标记）、只有计划或开场白"
    "（例如只有一次工具调用、<code>\\boxed{}</code> 里只有几个词）、正文中途截断的运行。截断的报告里写下的引用照常计入。"
    "没有数据可算的数字显示为“—”，而不是 0。</li>"
    "<li><b>疑似编造</b>：语料文档引用的标题在整个知识库中找不到任何来源或任务文件"
    "（完整标题、前 50 字、前缀都不匹配），占带标题 语料文档引用的比例；所引语料不在知识库中时也会计入。</li>"
    "<li><b>文件缺失</b>：文档 / 图片 / 视频引用中，所引任务文件不存在的比例。</li>"
    "<li><b>修复</b>：验证删除了一个无法解析的引用，并对同一标题（或在同一句中）换上了能解析的同类引用。"
    "新增、删除、修复按引用出现次数计，只统计验证前后两个版本都存在且都未失败的报告。</li>"
    f"<li>{STATS_VERDICTS['definition']}</li>"
    "</ul></details>"
)
REPORT_PAGE = {  # a report's page (render/reports.py) and its validation section (render/changes.py)
    "task": "任务",
    "corpus": "语料",
    "no_corpus": "未指定",
    "file": "文件",
    "docx_folder": "知识库文件夹",  # the folder argument of the DOCX export's command
    "validation": "验证改动",
    "unchanged": "验证没有改动这份报告：原始版本与最终版本相同。",
    "original": "原始报告（验证前）",
    "summary": "运行摘要",
    "summary_as_is": "流水线输出的摘要（原样）",
    "before": "验证前引用：",
    "citation_diff": "引用变化",
    "no_citation_change": "引用没有变化。",
    "text_diff": "文本差异",
}
REPORTS_INDEX = {  # the reports index (render/reports.py) and its filters (citekb-report-filters.js)
    "title": "报告",
    "lead": "{count} 份研究报告，按任务分组；点击引用即可阅读被引用的原文块。",
    "task_count": "（{count} 份）",
    "heads": ("报告", "引用状态"),
    "filters": "筛选报告",
    "task": "任务",
    "model": "模型",
    "context": "上下文长度",
    "status": "状态",
    "all": "全部",
    "ok": "完整报告",
    "shown": "显示 {shown} / {total} 份报告",
    "none": "没有符合条件的报告。",
}
HEALTH_CHECKS = {  # the health page's claims to check (render/health.py)
    "heading": "证据不足的论断",
    "lead": "每份报告中原文无依据、依据不全的论断排在前面，其次是证据审计另行标记的论断；"
    "报告按无依据、依据不全的论断数排序。在报告页按 n / p 可逐一跳到待核查的引用。",
    "support": "支持度",
    "no_claim": "（无）",
    "more": "另有 {count} 处未列出，请在报告页逐一查看。",
    "column": "证据判定",  # the per-report table's column of verdict counts
}
HEALTH_PAGE = {  # the health page's headings and leads (render/health.py)
    "title": "引用健康度",  # also the page's name in the navigation
    "lead": "所有报告的最终版本共 {count} 处引用：",
    "all_resolved": "所有引用均已解析。",
    "invented": "疑似编造的标题",
    "invented_lead": "{count} 个语料标题在整个知识库中找不到任何来源或任务文件，多半是模型编造的。",
    "invented_heads": ("引用的标题", "次数", "出现位置"),
    "status": "{label}（{count} 处，{kinds} 种）",
    "reports": "各报告",
    "report_heads": ("报告", "引用状态"),
    "audit_column": "证据审计",
}
HEALTH_GROUPS = {  # the health page's unresolved citations, one line per reason (render/health.py)
    "count": "{count} 处 · {names} 种",
    "name": "引用的来源 / 文件",
    "times": "次数",
    "places": "出现位置",
    "place": "{title}：第 {n} 处",
    "more": "另有 {rest} 份报告",
}
FILTER = {  # the sources index's filter box (render/sources.py, citekb-filter.js)
    "label": "筛选：",
    "placeholder": "输入标题或出处中的词",
    "shown": "显示 {shown} / {total} 项",
}
# The exported report (build_tools/export.py): its header, each citation's footnote, the marks in the
# text beside an unresolved or unsupported citation, and the report page's links to the exports.
EXPORT = {
    "lead": "由 Citekb 导出的最终报告。每处引用是一条脚注：来源标题、块号或页码、支持它的原文、原始网址和证据判定；"
    "未解析的引用在正文中标为〔⚠ …〕，无依据的标为〔✗ 无依据〕，依据不全的标为〔◐ 依据不全〕。",
    "citations": "最终报告引用 {count} 处：{counts}",
    "no_citations": "最终报告没有引用。",
    "verdicts": "证据判定：{counts}",
    "mark_status": "〔⚠ {status}〕",
    "mark_unsupported": "〔✗ 无依据〕",
    "mark_partial": "〔◐ 依据不全〕",
    "source": "《{title}》",
    "file": "{kind}《{name}》",
    "task_file": "任务文件",
    "chunk": "块 {chunk}",
    "span": "原文：“{span}”",
    "no_span": "被引用处没有找到支持这句话的原文",
    "checked": "（核查的是{part}）",  # a whole file cited: the place its audit checked
    "url": "原始网址：",
    "verdict": "证据判定：{verdict}",
    "missing": "缺少：{facts}",
    "unchecked": "证据判定：未核查",
    "unresolved": "原文引用：{raw}",
    "reason": "原因：{reason}",
    "links": "导出这份报告：",
    "md": "Markdown（带脚注）",
    "csv": "引用表（CSV）",
    "docx": "Word（DOCX）请用命令行导出：",
}

# code → (English, Chinese); `{name}` is a value of the Reason, `{name!r}` quoted in English.
REASONS: dict[str, tuple[str, str]] = {
    # the cite stage's verdicts
    "not_in_corpus": ("no source in the report's corpus has this title", "报告的语料中没有这个标题的来源"),
    "ambiguous_title": (
        "ambiguous: {count} sources in the corpus start with this title",
        "有歧义：语料中有 {count} 个来源以这个标题开头",
    ),
    "did_you_mean": ("did you mean {name!r}?", "是否指「{name}」？"),
    "elsewhere": (
        "a source titled {name!r} exists, but not in this report's corpus",
        "知识库中有标题为「{name}」的来源，但不在此报告的语料中",
    ),
    "corpus_unnamed": (
        "this report names no corpus, so its long_context sources are not in the knowledge base",
        "此报告没有指定语料，它引用的语料文档不在知识库中",
    ),
    "corpus_absent": ("corpus {corpus}.json is not in the knowledge base", "知识库中没有语料 {corpus}.json"),
    "bench_corpus_unknown": (
        "the corpus of {folder}'s reports is not in the pipeline output (of the {cited} corpus titles the"
        " folder cites, no corpus holds more than {found})",
        "{folder} 的报告所用的语料不在流水线输出中（该文件夹引用的 {cited} 个语料标题中，任何一份语料最多只含 {found} 个）",
    ),
    "bench_corpus_absent": (
        "{folder}'s reports were written against {corpus}.json ({found} of the {cited} cited corpus titles are in"
        " it), but datasets/{task} has no such file",
        "{folder} 的报告所用的语料是 {corpus}.json（引用的 {cited} 个语料标题中有 {found} 个在其中），"
        "但 datasets/{task} 中没有这个文件",
    ),
    "corpus_evidence": (
        "{found} of the {cited} cited corpus titles are in it",
        "引用的 {cited} 个语料标题中有 {found} 个在其中",
    ),
    "corpus_note": ("the report's corpus is not in the knowledge base: {note}", "此报告的语料不在知识库中：{note}"),
    "no_sheet": ("{name!r} has no sheet {sheet!r}", "「{name}」没有名为「{sheet}」的工作表"),
    "place_unchecked": (
        "{name!r} has no pages, slides or sheets in the text read from it: {locator!r} cannot be checked; linked to the whole file",
        "「{name}」读出的文本不分页、幻灯片或工作表，无法核对「{locator}」；链接到整个文件",
    ),
    "place_unread": (
        "{locator!r} names a place in a form that is not read (write page numbers as digits: `page 3`); linked to the whole file, not checked",
        "「{locator}」所指的页、幻灯片或工作表无法读出（页码请写数字：page 3、第3页），链接到整个文件，未核对",
    ),
    "place_in_sheets": (
        "{name!r} is read sheet by sheet, with no pages or slides: {locator!r} cannot be checked; linked to the whole file",
        "「{name}」按工作表读出，不分页或幻灯片，无法核对「{locator}」；链接到整个文件",
    ),
    "no_such_page": (
        "{name!r} has {count} page(s); page {number} does not exist",
        "「{name}」共 {count} 页，没有第 {number} 页",
    ),
    "no_such_slide": (
        "{name!r} has {count} slide(s); slide {number} does not exist",
        "「{name}」共 {count} 张幻灯片，没有第 {number} 张",
    ),
    "not_a_chunk_number": (
        "{locator!r} is not a chunk number; corpus documents are cited by chunk",
        "「{locator}」不是块号；语料文档按块（chunk）引用",
    ),
    "no_chunk_number": ("no chunk number; corpus documents are cited by chunk", "缺少块号；语料文档按块（chunk）引用"),
    "source_is": ("the source is {name!r}", "来源是「{name}」"),
    "too_few_chunks": ("{name!r} has {count} chunk(s) (0–{last})", "「{name}」只有 {count} 块（0–{last}）"),
    "file_as_chunk": ("a task file cited as a corpus document", "把任务文件当作语料文档引用"),
    "file_as_chunk_numbered": (
        "a task file cited as a corpus document: chunk {chunk} is not a place in the file",
        "把任务文件当作语料文档引用：块 {chunk} 不是文件中的位置",
    ),
    "path_in_file_name": ("a cited file name must not contain a path", "引用的文件名不能包含路径"),
    "no_file": ("no file {name!r} in {folder}", "{folder} 中没有文件「{name}」"),
    "no_file_here": ("no file {name!r} in this report's task files", "此报告的任务文件中没有「{name}」"),
    "not_web_address": ("not a web address", "不是网址"),
    "no_source_at_url": (
        "no source in the knowledge base was scraped from this address",
        "知识库中没有从这个网址抓取的来源",
    ),
    "no_rag_entry": (
        "no [RAG-{number}] entry in the report's reference list",
        "报告的参考文献列表中没有 [RAG-{number}]",
    ),
    # the parser's
    "expected_title_chunk": ('expected "title", chunk N', "应为“标题”, chunk N 的形式"),
    "empty_title": ("empty title", "标题为空"),
    "no_closing_bracket": ("no closing ]", "缺少右方括号 ]"),
    "nothing_named": ("no file or address given", "没有给出文件名或网址"),
    "names_no_source": ("[{prefix}] names no source", "[{prefix}] 没有指明来源"),
    "chunk_range": ("chunk range {token!r} is not a small ascending range", "块号范围「{token}」不是较小的升序范围"),
    "chunk_not_number": ("chunk {token!r} is not a whole number ≥ 0", "块号「{token}」不是非负整数"),
    "chunk_no_number": ("chunk: no number", "「chunk」后没有块号"),
}


_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


def isolate(text: str) -> str:
    """`text` between FIRST STRONG ISOLATE and POP DIRECTIONAL ISOLATE, its own embeddings,
    overrides and isolates left out (a lone PDI of its own would end the isolation early)."""
    return f"\u2068{_BIDI_CONTROLS.sub('', text)}\u2069"


@dataclass(frozen=True)
class Reason:
    """Why a citation is what it is: a code of REASONS and its values; `then` adds a second one."""

    code: str
    values: tuple[tuple[str, str | int], ...] = ()
    then: Reason | None = None

    @classmethod
    def of(cls, code: str, **values: str | int) -> Reason:
        if code not in REASONS:
            raise KeyError(f"no message {code!r}")
        return cls(code, tuple(values.items()))

    def followed_by(self, other: Reason) -> Reason:
        return Reason(self.code, self.values, other if self.then is None else self.then.followed_by(other))

    def holds(self, code: str) -> bool:
        """Whether this reason, or one that follows it, is `code`."""
        return self.code == code or (self.then is not None and self.then.holds(code))

    def english(self) -> str:
        text = REASONS[self.code][0].format(**dict(self.values))
        return f"{text}; {self.then.english()}" if self.then else text

    def chinese(self, isolated: bool = False) -> str:
        """The reason in Chinese; `isolated` (on the site, in exports): each name in it bidi-isolated
        (`isolate`), so a direction override in a title cannot reverse the words around it."""
        values = {k: isolate(v) if isolated and isinstance(v, str) else v for k, v in self.values}
        text = REASONS[self.code][1].format(**values)
        return f"{text}；{self.then.chinese(isolated)}" if self.then else text

    def __str__(self) -> str:
        return self.english()

    def recorded(self) -> dict[str, str | int]:
        """As `kb import` writes it into report.yaml, for `Reason.read` to read back."""
        return {"reason": self.code, **dict(self.values)}

    @classmethod
    def read(cls, value: object) -> Reason | None:
        """A reason recorded in report.yaml (`{reason: CODE, …values}`), else None."""
        if not (isinstance(value, dict) and value.get("reason") in REASONS):
            return None
        reason = cls.of(value["reason"], **{str(k): v for k, v in value.items() if k != "reason"})
        try:
            reason.english(), reason.chinese()
        except (KeyError, IndexError, ValueError, AttributeError):
            return None  # hand-written, without the values its message needs: shown as written
        return reason
