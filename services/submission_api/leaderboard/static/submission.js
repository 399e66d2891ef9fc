// The owner's submission page: the job log, status, queue position and ETA, live from the server-sent events.
(function () {
  "use strict";
  var box = document.getElementById("live-status"), log = document.getElementById("live-log");
  if (!window.EventSource) { return; }
  var source = new EventSource(box.getAttribute("data-events"));
  source.addEventListener("log", function (event) {
    var item = JSON.parse(event.data);
    item.text.split("\n").forEach(function (line) {
      if (!line) { return; }
      var span = document.createElement("span");
      span.className = "log-line";
      span.textContent = "[" + item.model + " / " + item.benchmark + "] " + line + "\n";
      log.appendChild(span);
    });
    log.scrollTop = log.scrollHeight;
  });
  source.addEventListener("status", function (event) {
    var place = JSON.parse(event.data);
    document.getElementById("status").textContent = place.status;
    document.getElementById("position").textContent = place.position || "—";
    document.getElementById("eta").textContent = Math.round(place.eta_seconds) + " s";
  });
  source.addEventListener("end", function () { source.close(); });
})();
