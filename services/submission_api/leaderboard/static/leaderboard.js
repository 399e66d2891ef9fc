// Sorts any table.sortable by the clicked column: numbers by value, text alphabetically, empty cells last.
(function () {
  "use strict";

  function cellValue(row, index, kind) {
    var raw = row.cells[index].getAttribute("data-value");
    if (raw === null || raw === "") { return null; }
    return kind === "number" ? parseFloat(raw) : raw.toLowerCase();
  }

  function sortBy(table, header) {
    var index = Array.prototype.indexOf.call(header.parentNode.children, header);
    var kind = header.getAttribute("data-sort");
    // Scores read best-first, so a number column's first click sorts descending; rank and text ascending.
    var first = kind === "number" && header.getAttribute("data-column") !== "rank" ? "descending" : "ascending";
    var current = header.getAttribute("aria-sort");
    var order = current === first ? (first === "ascending" ? "descending" : "ascending") : first;
    var sign = order === "ascending" ? 1 : -1;
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = cellValue(a, index, kind), y = cellValue(b, index, kind);
      if (x === null || y === null) { return (x === null) - (y === null); }
      return x < y ? -sign : x > y ? sign : 0;
    });
    rows.forEach(function (row) { body.appendChild(row); });
    Array.prototype.forEach.call(header.parentNode.children, function (th) { th.removeAttribute("aria-sort"); });
    header.setAttribute("aria-sort", order);
  }

  document.querySelectorAll("table.sortable").forEach(function (table) {
    table.querySelectorAll("thead th[data-sort]").forEach(function (header) {
      header.addEventListener("click", function () { sortBy(table, header); });
    });
  });
})();
