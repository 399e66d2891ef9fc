// Sorts any table.sortable by the clicked column: numbers by value, text alphabetically, empty cells last.
// On the leaderboard (#leaderboard) it also applies the view: search, model-card filters, a benchmark subset and
// weights, recomputing the hierarchical mean as the server does (leaderboard/service.py weighted_aggregate),
// keeping the view in the URL and the download links; and it collapses header groups.
(function () {
  "use strict";
  var REGIONS = ["V1", "V2", "V4", "IT"];

  function cellValue(cell, kind) {
    var raw = cell.getAttribute("data-value");
    if (raw === null || raw === "") { return null; }
    return kind === "number" ? parseFloat(raw) : raw.toLowerCase();
  }

  function sortRows(body, index, kind, order) {
    var sign = order === "ascending" ? 1 : -1;
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = cellValue(a.cells[index], kind), y = cellValue(b.cells[index], kind);
      if (x === null || y === null) { return (x === null) - (y === null); }
      return x < y ? -sign : x > y ? sign : 0;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }

  function nextOrder(header) {
    var kind = header.getAttribute("data-sort");
    // Scores read best-first, so a number column's first click sorts descending; rank and text ascending.
    var first = kind === "number" && header.getAttribute("data-column") !== "rank" ? "descending" : "ascending";
    var current = header.getAttribute("aria-sort");
    return current === first ? (first === "ascending" ? "descending" : "ascending") : first;
  }

  function markSorted(table, header, order) {
    table.querySelectorAll("thead th").forEach(function (th) { th.removeAttribute("aria-sort"); });
    header.setAttribute("aria-sort", order);
  }

  document.querySelectorAll("table.sortable").forEach(function (table) {
    table.querySelectorAll("thead th[data-sort]").forEach(function (header) {
      header.addEventListener("click", function () {
        var index = Array.prototype.indexOf.call(header.parentNode.children, header);
        var order = nextOrder(header);
        sortRows(table.tBodies[0], index, header.getAttribute("data-sort"), order);
        markSorted(table, header, order);
      });
    });
  });

  var board = document.getElementById("leaderboard");
  var form = document.getElementById("view-form");
  if (!board || !form) { return; }
  var leaves = JSON.parse(board.getAttribute("data-leaves"));
  var body = board.tBodies[0];
  var headers = {};
  board.querySelectorAll("thead th[data-col]").forEach(function (th) { headers[th.getAttribute("data-col")] = th; });
  function columnIndex(key) {
    if (key === "rank") { return 0; }
    if (key === "model") { return 1; }
    return 2 + leaves.indexOf(key);
  }
  var benchmarks = leaves.filter(function (key) { return headers[key] && headers[key].classList.contains("benchmark"); });
  function nodeOf(key) {
    var th = headers[key], kind = th.getAttribute("data-kind"), region = th.getAttribute("data-region");
    if (kind === "behavior" || kind === "engineering") { return kind; }
    return REGIONS.indexOf(region) >= 0 ? region : "neural";
  }
  var collapsed = {};

  function readView() {
    var use = {}, weights = {}, all = true;
    form.querySelectorAll(".bench-use").forEach(function (box) {
      use[box.getAttribute("data-benchmark")] = box.checked;
      if (!box.checked) { all = false; }
    });
    form.querySelectorAll(".bench-weight").forEach(function (input) {
      var value = parseFloat(input.value);
      weights[input.getAttribute("data-benchmark")] = isNaN(value) || value < 0 ? 1 : value;
    });
    var filters = {};
    form.querySelectorAll(".card-filter").forEach(function (select) {
      if (select.value) { filters[select.getAttribute("data-filter")] = select.value; }
    });
    // A signed-in owner's token (?token=) stays in the URL, or a reload would drop their private models.
    return {token: form.elements.token ? form.elements.token.value : "",
            q: form.elements.q.value.trim(), use: use, all: all, weights: weights, filters: filters,
            paramsMin: form.elements.params_min.value, paramsMax: form.elements.params_max.value,
            asOf: form.elements.as_of.value};
  }

  function query(view) {
    var params = new URLSearchParams();
    if (view.token) { params.set("token", view.token); }
    if (view.q) { params.set("q", view.q); }
    Object.keys(view.filters).forEach(function (name) { params.set(name, view.filters[name]); });
    if (view.paramsMin) { params.set("params_min", view.paramsMin); }
    if (view.paramsMax) { params.set("params_max", view.paramsMax); }
    if (!view.all) { params.set("benchmarks", benchmarks.filter(function (b) { return view.use[b]; }).join(",")); }
    var weighted = benchmarks.filter(function (b) { return view.weights[b] !== 1; });
    if (weighted.length) {
      params.set("w", weighted.map(function (b) { return b + ":" + view.weights[b]; }).join(","));
    }
    if (view.asOf) { params.set("as_of", view.asOf); }
    return params.toString();
  }

  function combine(pairs) {
    if (pairs.every(function (p) { return p[0] === null; })) { return null; }
    var total = 0, sum = 0;
    pairs.forEach(function (p) { total += p[1]; sum += (p[0] === null ? 0 : p[0]) * p[1]; });
    return total === 0 ? null : sum / total;
  }

  function aggregate(row, view) {
    var nodeWeights = {}, groups = {};
    benchmarks.forEach(function (key) {
      if (!view.use[key]) { return; }
      var node = nodeOf(key), weight = view.weights[key];
      (nodeWeights[node] = nodeWeights[node] || []).push(weight);
      if (REGIONS.indexOf(node) >= 0) { (nodeWeights.neural = nodeWeights.neural || []).push(weight); }
      var cell = row.cells[columnIndex(key)];
      if (!cell.hasAttribute("data-present")) { return; }
      var value = cellValue(cell, "number");
      (groups[node] = groups[node] || []).push([value, weight]);
    });
    function meanWeight(node) {
      var list = nodeWeights[node];
      return list && list.length ? list.reduce(function (a, b) { return a + b; }, 0) / list.length : 1;
    }
    var nodes = {};
    Object.keys(groups).forEach(function (node) { nodes[node] = combine(groups[node]); });
    function get(node) { return nodes[node] === undefined ? null : nodes[node]; }
    nodes.neural = combine(REGIONS.map(function (r) { return [get(r), meanWeight(r)]; }));
    nodes.average = combine([[get("neural"), meanWeight("neural")], [get("behavior"), meanWeight("behavior")]]);
    return nodes;
  }

  function colour(value) {
    return "hsl(" + Math.round(120 * Math.min(Math.max(value, 0), 1)) + ", 70%, 78%)";
  }

  function setAggregate(cell, value) {
    if (value === null || value === undefined) {
      cell.className = "missing"; cell.setAttribute("data-value", ""); cell.textContent = "—";
      cell.style.background = "";
    } else {
      cell.className = "score"; cell.setAttribute("data-value", value.toFixed(6));
      cell.textContent = value.toFixed(3); cell.style.background = colour(value);
    }
  }

  function matches(row, view) {
    if (view.q && row.getAttribute("data-model").toLowerCase().indexOf(view.q.toLowerCase()) < 0) { return false; }
    var ok = Object.keys(view.filters).every(function (name) {
      return (row.getAttribute("data-" + name) || "").toLowerCase() === view.filters[name].toLowerCase();
    });
    var params = parseFloat(row.getAttribute("data-params"));
    if (view.paramsMin && !(params >= parseFloat(view.paramsMin))) { return false; }
    if (view.paramsMax && !(params <= parseFloat(view.paramsMax))) { return false; }
    return ok;
  }

  function showColumns(view) {
    leaves.forEach(function (key) {
      var th = headers[key];
      var groups = (th.getAttribute("data-groups") || "").split(" ");
      var hide = groups.some(function (g) { return collapsed[g] && g !== key; }) ||
        (th.classList.contains("benchmark") && !view.use[key]);
      th.hidden = hide;
      var index = columnIndex(key);
      Array.prototype.forEach.call(body.rows, function (row) { row.cells[index].hidden = hide; });
    });
    board.querySelectorAll("thead th.group").forEach(function (th) {
      var group = th.getAttribute("data-group");
      var span = leaves.filter(function (key) {
        return !headers[key].hidden && (headers[key].getAttribute("data-groups") || "").split(" ").indexOf(group) >= 0;
      }).length;
      th.hidden = span === 0;
      th.colSpan = Math.max(span, 1);
      th.classList.toggle("collapsed", !!collapsed[group]);
    });
  }

  function apply(pushUrl) {
    var view = readView();
    var aggregates = ["average", "neural", "V1", "V2", "V4", "IT", "behavior"];
    var rows = Array.prototype.slice.call(body.rows);
    rows.forEach(function (row) {
      var nodes = aggregate(row, view);
      aggregates.forEach(function (name) {
        if (leaves.indexOf(name) >= 0) { setAggregate(row.cells[columnIndex(name)], nodes[name]); }
      });
      row.hidden = !matches(row, view);
    });
    var averageIndex = columnIndex("average");
    rows.sort(function (a, b) {
      var x = cellValue(a.cells[averageIndex], "number"), y = cellValue(b.cells[averageIndex], "number");
      if (x === null || y === null) {
        if (x === null && y === null) { return a.getAttribute("data-model") < b.getAttribute("data-model") ? -1 : 1; }
        return (x === null) - (y === null);
      }
      return y - x || (a.getAttribute("data-model") < b.getAttribute("data-model") ? -1 : 1);
    });
    var rank = 0;
    rows.forEach(function (row) {
      body.appendChild(row);
      var cell = row.cells[0];
      if (row.hidden) { cell.textContent = ""; cell.setAttribute("data-value", ""); return; }
      rank += 1; cell.textContent = rank; cell.setAttribute("data-value", rank);
    });
    markSorted(board, headers.average, "descending");
    showColumns(view);
    var text = query(view);
    document.getElementById("download-csv").href = form.getAttribute("action").replace(/\/$/, "") + "/leaderboard.csv" + (text ? "?" + text : "");
    document.getElementById("download-json").href = form.getAttribute("action").replace(/\/$/, "") + "/leaderboard" + (text ? "?" + text : "");
    if (pushUrl) { history.replaceState(null, "", location.pathname + (text ? "?" + text : "")); }
  }

  board.querySelectorAll("thead th[data-sort]").forEach(function (header) {
    header.addEventListener("click", function (event) {
      if (event.target.tagName === "A") { return; }
      var order = nextOrder(header);
      sortRows(body, columnIndex(header.getAttribute("data-col")), header.getAttribute("data-sort"), order);
      markSorted(board, header, order);
    });
  });
  board.querySelectorAll("thead th.group").forEach(function (th) {
    th.addEventListener("click", function () {
      var group = th.getAttribute("data-group");
      collapsed[group] = !collapsed[group];
      showColumns(readView());
    });
  });
  form.addEventListener("input", function (event) {
    if (event.target.name === "as_of") { return; }
    apply(true);
  });
  form.addEventListener("change", function (event) {
    if (event.target.name === "as_of") {
      // The board as it stood then is the server's to build: load it, keeping the rest of the view.
      location.search = query(readView());
      return;
    }
    apply(true);
  });
  form.addEventListener("submit", function (event) { event.preventDefault(); apply(true); });
  apply(false);
})();
