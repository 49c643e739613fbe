// The run page's live progress: the run's server-sent events (/api/runs/ID/events), one line each,
// then the verdict, after which the page is reloaded to show the report's links. No inline script:
// the page's Content-Security-Policy allows only this file.
"use strict";
(function () {
  const progress = document.getElementById("progress");
  if (!progress || !window.EventSource) {
    return;
  }
  const source = new EventSource(progress.dataset.events);
  source.addEventListener("progress", function (event) {
    progress.appendChild(document.createTextNode(event.data + "\n"));
  });
  source.addEventListener("verdict", function (event) {
    source.close();
    const run = JSON.parse(event.data);
    document.getElementById("state").textContent = run.state;
    document.getElementById("verdict").textContent = run.verdict || "";
    if (progress.dataset.live === "yes") {
      window.location.reload();
    }
  });
})();
