//! The page shell: head with the inline style sheet, and the one inline script (sorting and
//! filtering the entity table).
//!
//! The page must open from disk with no network, attached to a ticket: nothing here names any
//! other resource (no link, no font, no image, no `url(...)`), and a unit test fails if the
//! finished page does.

/// The style sheet. The overview comes last in the document (it sums what the entity rows,
/// written first, held, so a many-accounts report never keeps them) and is shown first with
/// `order: -1`.
///
/// The entity table is a grid of fixed columns (`--columns`, set by
/// [`super::entity::header`]) whose rows have `content-visibility: auto`: the browser lays out
/// and styles only the rows near the screen, so the page of 10,000 entities opens in seconds
/// where a table's automatic layout took a minute (README, Speed). Where the browser knows
/// `::details-content`, an entity's opened details span the whole row beneath it rather than
/// the name column; elsewhere they open inside the name column.
pub const STYLE: &str = r#"
:root{--ok:#1a7f37;--bad:#cf222e;--warn:#9a6700;--muted:#57606a;--line:#d0d7de;--bg2:#f6f8fa}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;background:#fff}
main{display:flex;flex-direction:column;gap:1.4rem;max-width:1500px;margin:0 auto;padding:1.2rem 1.5rem}
#overview{order:-1}
h1{font-size:1.45rem;margin:0 0 .4rem}
h2{font-size:1.1rem;margin:0 0 .5rem}
.facts{display:flex;flex-wrap:wrap;gap:.2rem 1.6rem;margin:0;color:var(--muted)}
.facts div{display:flex;gap:.4rem}
.facts dt{font-weight:600}
.facts dd{margin:0}
.cards{display:flex;flex-wrap:wrap;gap:.6rem;margin:.9rem 0}
.card{border:1px solid var(--line);border-radius:6px;padding:.35rem .9rem;min-width:7.5rem}
.card b{display:block;font-size:1.4rem}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(24rem,1fr));gap:1rem}
.panel{border:1px solid var(--line);border-radius:6px;padding:.7rem 1rem;min-width:0}
.panel p{margin:.2rem 0;color:var(--muted)}
svg{max-width:100%;height:auto}
svg text{font:11px system-ui,sans-serif;fill:#1f2328}
.sev{display:inline-block;white-space:nowrap;min-width:7.2em;padding:0 .4em;border-radius:3px;font-size:.75rem;font-weight:600;text-align:center;color:#fff}
.sev-CRITICAL{background:#82071e}.sev-HIGH{background:#cf222e}.sev-MEDIUM{background:#bc4c00}
.sev-LOW{background:#9a6700}.sev-INFORMATIONAL{background:#6e7781}
ol.findings{padding-left:1.4rem;margin:0}
ol.findings li{margin:.25rem 0}
.failed{color:var(--bad)}
.filters{display:flex;flex-wrap:wrap;gap:.6rem;align-items:center;margin-bottom:.6rem}
.filters input{min-width:18rem}
table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid var(--line);padding:.28rem .5rem;text-align:left;vertical-align:top}
th{background:var(--bg2);position:sticky;top:0;z-index:1;white-space:nowrap}
#entity-table,#entity-table thead,#entity-table tbody{display:block;width:100%}
#entity-table tr{display:grid;grid-template-columns:var(--columns)}
#entity-table tr[hidden]{display:none}
#entity-table tbody tr{content-visibility:auto;contain-intrinsic-size:auto 2.2rem}
#entity-table thead{position:sticky;top:0;z-index:1;background:var(--bg2)}
#entity-table th{position:static}
#entity-table td{min-width:0;overflow-wrap:anywhere}
@supports selector(::details-content){
#entity-table td:has(>details),#entity-table td>details{display:contents}
#entity-table summary{grid-column:2;padding:.28rem .5rem;border-bottom:1px solid var(--line);min-width:0;overflow-wrap:anywhere}
#entity-table details::details-content{grid-column:1/-1;grid-row:2}
#entity-table .more{margin-left:5rem}
}
th button{all:unset;cursor:pointer;font-weight:600}
th[aria-sort=ascending] button::after{content:" \25B2"}
th[aria-sort=descending] button::after{content:" \25BC"}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.v-NON_COMPLIANT{color:var(--bad);font-weight:600}.v-COMPLIANT{color:var(--ok)}
.v-error{color:var(--bad);font-style:italic}.v-skipped{color:var(--muted);font-style:italic}
.o-change{font-weight:600}.o-skipped{color:var(--muted)}
summary{cursor:pointer}
.more{margin:.35rem 0 .2rem;max-width:64rem;white-space:normal}
.more dl{display:grid;grid-template-columns:max-content 1fr;gap:.15rem .8rem;margin:.2rem 0}
.more dt{font-weight:600}
.more dd{margin:0}
.more ul{margin:.1rem 0;padding-left:1.2rem}
.s-unused{color:var(--bad)}.s-stale{color:var(--warn)}.s-used{color:var(--ok)}
.arn{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.78rem;color:var(--muted);word-break:break-all}
.base-only{color:var(--bad);font-weight:600}
@media print{th,#entity-table thead{position:static}.filters{display:none}}
"#;

/// Sorting (click a column header) and filtering (kind, verdict, text) of the entity table.
/// It touches only this page's elements, and when it has run the root element carries
/// `data-ready="true"`, which the browser check looks for.
pub const SCRIPT: &str = r#"
(function () {
  'use strict';
  var table = document.getElementById('entity-table');
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var text = document.getElementById('filter-text');
  var kind = document.getElementById('filter-kind');
  var verdict = document.getElementById('filter-verdict');
  var shown = document.getElementById('shown');
  var haystack = null;
  function filter() {
    var words = text.value.trim().toLowerCase();
    /* Built at the first search, not at load: reading 10,000 rows' text slows the opening. */
    if (words && haystack === null) {
      haystack = rows.map(function (row) { return row.textContent.toLowerCase(); });
    }
    var count = 0;
    rows.forEach(function (row, i) {
      var keep = (!kind.value || row.getAttribute('data-kind') === kind.value) &&
        (!verdict.value || row.getAttribute('data-verdict') === verdict.value) &&
        (!words || haystack[i].indexOf(words) >= 0);
      row.hidden = !keep;
      if (keep) { count += 1; }
    });
    shown.textContent = String(count);
  }
  function key(row, index, numeric) {
    var cell = row.cells[index];
    /* A name sorts by the name alone, not by the details folded under it. */
    var value = cell.hasAttribute('data-v') ? cell.getAttribute('data-v') :
      (cell.querySelector('summary') || cell).textContent;
    return numeric ? Number(value) : value.toLowerCase();
  }
  table.tHead.addEventListener('click', function (event) {
    var button = event.target.closest('button');
    if (!button) { return; }
    var header = button.parentNode;
    var index = header.cellIndex;
    var numeric = header.getAttribute('data-type') === 'number';
    var ascending = header.getAttribute('aria-sort') !== 'ascending';
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (cell) {
      cell.removeAttribute('aria-sort');
    });
    header.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
    var keyed = rows.map(function (row, position) {
      return [key(row, index, numeric), position, row];
    });
    keyed.sort(function (a, b) {
      var order = a[0] < b[0] ? -1 : (a[0] > b[0] ? 1 : 0);
      return (ascending ? order : -order) || a[1] - b[1];
    });
    var fragment = document.createDocumentFragment();
    keyed.forEach(function (entry) { fragment.appendChild(entry[2]); });
    body.appendChild(fragment);
  });
  text.addEventListener('input', filter);
  kind.addEventListener('change', filter);
  verdict.addEventListener('change', filter);
  filter();
  document.documentElement.setAttribute('data-ready', 'true');
}());
"#;

/// Everything before the page's first section.
pub fn head(title: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"iamsweep {}\">\n<title>{}</title>\n<style>{STYLE}</style>\n\
         </head>\n<body>\n<main>\n",
        env!("CARGO_PKG_VERSION"),
        super::escape::escape(title)
    )
}

/// Everything after the page's last section.
pub fn tail() -> String {
    format!("</main>\n<script>{SCRIPT}</script>\n</body>\n</html>\n")
}
