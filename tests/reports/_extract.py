"""Extract the report's data back out of its HTML (for golden and escaping tests).

Stdlib ``html.parser`` only: text is unescaped the way a browser shows it,
so a test can compare what a reader sees, not the bytes.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

VOID = {"meta", "br", "img", "input", "link", "hr", "col", "source", "wbr", "area", "base", "embed", "param", "track"}


class _Node:
    __slots__ = ("tag", "attrs", "children", "parent")

    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.children, self.parent = tag, dict(attrs), [], parent

    def text(self) -> str:
        out = []
        for c in self.children:
            # element boundaries become spaces (the report shows .det spans on their own line)
            out.append(c if isinstance(c, str) else f" {c.text()} ")
        return "".join(out)

    def clean(self) -> str:
        return re.sub(r"\s+", " ", self.text()).strip()

    def iter(self):
        for c in self.children:
            if not isinstance(c, str):
                yield c
                yield from c.iter()

    def find_all(self, tag=None, **attrs):
        for n in self.iter():
            if tag and n.tag != tag:
                continue
            ok = True
            for k, v in attrs.items():
                k = k.rstrip("_").replace("_", "-")
                got = n.attrs.get(k)
                if v is True:
                    ok = got is not None
                elif k == "class":
                    ok = got is not None and v in got.split()
                else:
                    ok = got == v
                if not ok:
                    break
            if ok:
                yield n


class _Tree(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = _Node("#root", {}, None)
        self.cur = self.root
        self.in_style = False

    def handle_starttag(self, tag, attrs):
        n = _Node(tag, attrs, self.cur)
        self.cur.children.append(n)
        if tag not in VOID:
            self.cur = n

    def handle_startendtag(self, tag, attrs):
        self.cur.children.append(_Node(tag, attrs, self.cur))

    def handle_endtag(self, tag):
        n = self.cur
        while n is not None and n.tag != tag:
            n = n.parent
        if n is not None and n.parent is not None:
            self.cur = n.parent

    def handle_data(self, data):
        if self.cur.tag in ("style", "script"):
            return
        self.cur.children.append(data)


def parse(html: str) -> _Node:
    t = _Tree()
    t.feed(html)
    t.close()
    return t.root


def report_data(html: str) -> dict:
    """Team-table rows (cell text by column) and per-athlete flagged days and chart counts."""
    root = parse(html)
    team = []
    for table in root.find_all("table", id="team"):
        for tr in table.find_all("tr", data_athlete=True):
            row = {"athlete_id": tr.attrs["data-athlete"]}
            for td in tr.find_all("td", data_col=True):
                row[td.attrs["data-col"]] = td.clean()
            team.append(row)
    athletes = []
    for sec in root.find_all(class_="athlete"):
        if sec.tag not in ("section", "details"):
            continue
        flagged = []
        for table in sec.find_all("table", class_="flag-tbl"):
            for tr in table.find_all("tr", data_date=True):
                tds = list(tr.find_all("td"))
                flagged.append(
                    {
                        "date": tr.attrs["data-date"],
                        "band": tds[1].clean(),
                        "score": tds[2].clean(),
                        "components": [li.clean() for li in tds[3].find_all("li")] or [tds[3].clean()],
                    }
                )
        adj = [p.clean() for p in sec.find_all("p", class_="advice")]
        adj += [li.clean() for ul in sec.find_all("ul", class_="adj") for li in ul.find_all("li")]
        gaps = [li.clean() for ul in sec.find_all("ul", class_="gaps") for li in ul.find_all("li")]
        athletes.append(
            {
                "athlete_id": sec.attrs["data-athlete"],
                "heading": next(sec.find_all("h2")).clean(),
                "charts": sum(1 for _ in sec.find_all("svg", class_="chart")),
                "adjustments": adj,
                "gaps": gaps,
                "flagged": flagged,
            }
        )
    return {"team": team, "athletes": athletes}
