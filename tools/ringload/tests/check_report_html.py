"""Checks a ringload --html report against the --json report of the same run.

    check_report_html.py REPORT.html REPORT.json

Standard library only. Checks that the page is well-formed (every element
closed in order, html.parser's view; void elements need no end tag), that
it is self-contained (no src= or href= to anything, no <link>), that the
per-phase table has a row per phase and a total with every latency column,
that the chart data parses and has a phase band per phase (same names, in
order, where the JSON report says they started), a timeline as long as the
JSON's and a percentile curve per phase with latencies (with
--rolling-server, the reconnect curve and its SIGTERM), that both scripts
(charts.js, the page's) are in it, and that the JSON report is there,
collapsed in a <details> and indented, equal to REPORT.json. Prints one
line per failed check; exit 1 if any failed.
"""
import html.parser
import json
import sys

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


class Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.problems, self.ids = [], [], {}
        self.text = {}  # element id -> its text
        self.rows = {}  # table id -> [[cell text, ...], ...]
        self.table = None
        self.details_with_pre = False
        self.refs = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for k in ("src", "href"):
            if k in a:
                self.refs.append(f"<{tag} {k}={a[k]}>")
        if tag == "link":
            self.refs.append("<link>")
        if "id" in a:
            self.ids[a["id"]] = tag
        if tag == "table":
            self.table = a.get("id")
            self.rows.setdefault(self.table, [])
        if tag == "tr" and self.table is not None:
            self.rows[self.table].append([])
        if tag == "pre" and any(t == "details" for t, _ in self.stack):
            self.details_with_pre = True
        if tag not in VOID:
            self.stack.append((tag, a.get("id")))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1][0] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1][0] if self.stack else 'nothing'}")
            return
        self.stack.pop()
        if tag == "table":
            self.table = None

    def handle_data(self, data):
        for tag, eid in self.stack:
            if eid is not None:
                self.text[eid] = self.text.get(eid, "") + data
        if self.table is not None and self.stack and self.stack[-1][0] in ("td", "th", "span", "b"):
            if self.rows[self.table]:
                self.rows[self.table][-1].append(data)


def check(html_path, json_path):
    fails = []

    def expect(ok, what):
        if not ok:
            fails.append(what)
        return ok

    with open(html_path, encoding="utf-8") as f:
        text = f.read()
    with open(json_path) as f:
        report = json.load(f)
    page = Page()
    page.feed(text)
    page.close()
    expect(text.startswith("<!doctype html>"), "starts with <!doctype html>")
    expect(not page.problems, f"well-formed: {page.problems[:3]}")
    expect(not page.stack, f"every element closed: {page.stack[:3]}")
    expect(not page.refs, f"self-contained (nothing loaded): {page.refs[:3]}")

    phases = [p["name"] for p in report["phases"]]
    rows = page.rows.get("phase-summary", [])
    expect(len(rows) == len(phases) + 2, f"summary table: a header, {len(phases)} phases and a total: {rows}")
    if rows:
        header = [c.strip() for c in rows[0]]
        for col in ("sent", "delivered", "errors", "reconnects", "order violations",
                    "p50", "p90", "p95", "p99", "p99.9", "max"):
            expect(col in header, f"summary table has a {col} column: {header}")
        expect([r[0] for r in rows[1:]] == phases + ["total"], f"a row per phase, then total: {rows}")

    data = json.loads(page.text.get("ringload-data", "null") or "null")
    if expect(isinstance(data, dict), "the chart data parses"):
        bands = [b for b in data["bands"] if b["label"] in phases]
        expect([b["label"] for b in bands] == phases, f"a band per phase: {data['bands']}")
        for b, p in zip(bands, report["phases"]):
            expect(abs(b["from"] - p["start_s"]) < 1e-3 and b["to"] > b["from"],
                   f"band {b} starts where phase {p['name']} did ({p['start_s']})")
        expect(len(data["timeline"]["t"]) == len(report["timeline"]),
               "the chart timeline has every sample of the JSON's")
        labels = [c["label"] for c in data["curves"]]
        with_latency = [p["name"] for p in report["phases"] if p["latency_us"]["count"] > 0]
        expect(all(n in labels for n in with_latency), f"a percentile curve per phase: {labels}")
        if "rolling" in report:
            curve, ro = report["rolling"]["curve"], data.get("rolling") or {}
            expect(ro.get("connected") == curve["connected"] and ro.get("reconnects") == curve["reconnects"],
                   "the chart's reconnect curve is the JSON's")
            expect(ro.get("term_s") == report["rolling"]["servers"]["term_s"], "the SIGTERM is marked")
            expect(page.ids.get("chart-rolling") == "canvas", "the rolling restart has its chart")
    expect("window.RingCharts" in text or "root.RingCharts" in text, "charts.js is embedded")
    expect("ringload-data" in text and "dataset.rendered" in text, "the page's script is embedded")

    expect(page.ids.get("report-json") == "details" and page.details_with_pre,
           "the JSON report is collapsed in a <details> with a <pre>")
    shown = page.text.get("report-json", "")
    body = shown[shown.find("{"):]
    try:
        expect(json.loads(body) == report, "the JSON in the page equals the --json report")
    except ValueError as e:
        expect(False, f"the JSON in the page parses: {e}")
    expect("\n  \"phases\": [" in body, "the JSON in the page is indented")
    return fails


def main():
    fails = check(sys.argv[1], sys.argv[2])
    for f in fails:
        print(f"FAIL: html report: {f}")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
