(function () {
  "use strict";
  var doc = document, t = doc.getElementById("team");
  function openAll() { [].forEach.call(doc.querySelectorAll("details.athlete"), function (x) { x.open = true; }); }
  window.addEventListener("beforeprint", openAll);
  if (!t) { return; }
  doc.documentElement.className += " js";
  var tb = t.tBodies[0], rows = [].slice.call(tb.rows), f = {band: "", reason: "", group: "", q: ""};
  var shown = doc.getElementById("shown"), byId = {};
  [].forEach.call(doc.querySelectorAll("[data-athlete]"), function (e) {
    (byId[e.getAttribute("data-athlete")] = byId[e.getAttribute("data-athlete")] || []).push(e);
  });
  function apply() {
    var n = 0;
    rows.forEach(function (r) {
      var d = r.dataset, ok = (!f.band || d.band === f.band) &&
        (!f.reason || (" " + d.reasons + " ").indexOf(" " + f.reason + " ") >= 0) &&
        (!f.group || d.group === f.group) && (!f.q || d.name.indexOf(f.q) >= 0);
      byId[d.athlete].forEach(function (e) { e.hidden = !ok; });
      if (ok) { n++; }
    });
    shown.textContent = n + " of " + rows.length + " shown";
  }
  ["band", "reason", "group"].forEach(function (k) {
    var e = doc.getElementById("f-" + k);
    if (e) { e.addEventListener("change", function () { f[k] = e.value; apply(); }); }
  });
  var q = doc.getElementById("f-q");
  q.addEventListener("input", function () { f.q = q.value.trim().toLowerCase(); apply(); });
  doc.getElementById("open-all").addEventListener("click", openAll);
  doc.getElementById("controls").addEventListener("submit", function (e) { e.preventDefault(); });
  [].forEach.call(t.tHead.querySelectorAll("th[data-sort]"), function (th) {
    var key = th.getAttribute("data-sort"), b = doc.createElement("button");
    b.type = "button"; b.className = "sort"; b.textContent = th.textContent; th.textContent = ""; th.appendChild(b);
    th.setAttribute("aria-sort", "none");
    b.addEventListener("click", function () {
      var asc = th.getAttribute("aria-sort") !== "ascending";
      [].forEach.call(t.tHead.querySelectorAll("th"), function (o) { if (o.hasAttribute("aria-sort")) { o.setAttribute("aria-sort", "none"); } });
      th.setAttribute("aria-sort", asc ? "ascending" : "descending");
      var att = "data-s-" + key;
      rows.sort(function (x, y) {
        var a = parseFloat(x.getAttribute(att)), c = parseFloat(y.getAttribute(att));
        return (asc ? a - c : c - a) || (parseFloat(x.getAttribute("data-s-rank")) - parseFloat(y.getAttribute("data-s-rank")));
      });
      rows.forEach(function (r) { tb.appendChild(r); });
    });
  });
  apply();
}());
