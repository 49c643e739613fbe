// The run page's live progress: the run's server-sent events (/api/runs/ID/events), one line each,
// then the verdict, after which the page is reloaded to show the report's links. An attended run's
// operator prompts (manual mode) arrive as "prompts" events on the same stream: each is shown with
// its document and, while the run waits for it, the time left and the two buttons that answer it
// (POST /api/runs/ID/prompts/N with the session's CSRF token). No inline script: the page's
// Content-Security-Policy allows only this file; every text goes in as text, never as HTML.
"use strict";
(function () {
  const progress = document.getElementById("progress");
  if (!progress || !window.EventSource) {
    return;
  }
  const operator = document.getElementById("operator");
  let countdowns = [];

  function element(tag, text, className) {
    const made = document.createElement(tag);
    if (text !== undefined && text !== null) {
      made.textContent = text;
    }
    if (className) {
      made.className = className;
    }
    return made;
  }

  function answered(prompt) {
    const answer = prompt.answer;
    const by = answer.by ? " by " + answer.by : "";
    const at = answer.at ? " at " + answer.at.substring(11, 19) + " UTC" : "";
    return answer.answer === "done"
      ? "Answered: done, sent" + by + at + "."
      : "Answered: cannot do it" + by + at + ".";
  }

  function send(prompt, answer, status, buttons) {
    buttons.forEach(function (button) { button.disabled = true; });
    status.dataset.counting = "no";
    status.textContent = "Sending the answer…";
    fetch(operator.dataset.prompts + "/" + prompt.n, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": operator.dataset.csrf },
      body: JSON.stringify({ answer: answer }),
    }).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) {
          throw new Error(typeof body.detail === "string" ? body.detail : "HTTP " + response.status);
        }
        status.textContent = answered(body);
        buttons.forEach(function (button) { button.remove(); });
      });
    }).catch(function (error) {
      status.textContent = "The answer was not taken: " + error.message;
    });
  }

  function show(prompts) {
    countdowns = [];
    const list = document.getElementById("prompts");
    list.replaceChildren();
    if (!prompts.length) {
      list.appendChild(element("p", "No instruction yet.", "hint"));
    }
    const received = Date.now();
    prompts.forEach(function (prompt) {
      const article = element("article", null, prompt.state);
      article.id = "prompt-" + prompt.n;
      article.appendChild(element("h3", "Instruction " + prompt.n + ": " + prompt.action + " to " + prompt.to));
      article.appendChild(element("pre", prompt.instruction, "instruction"));
      const details = element("details");
      details.appendChild(element("summary", "The document (XML)"));
      details.appendChild(element("pre", prompt.document, "document"));
      article.appendChild(details);
      const download = element("a", "Download the document");
      download.href = operator.dataset.prompts + "/" + prompt.n + "/document";
      article.appendChild(download);
      const actions = element("div", null, "actions");
      const status = element("span", null, "status");
      if (prompt.state === "answered") {
        status.textContent = answered(prompt);
      } else if (prompt.state === "expired") {
        status.textContent = "Not answered within " + prompt.window_s + " s.";
      } else if (prompt.state === "closed") {
        status.textContent = "Not answered: the run ended.";
      } else {
        status.dataset.counting = "yes";
        countdowns.push({ status: status, until: received + prompt.left_s * 1000 });
        if (operator.dataset.mayAnswer === "yes") {
          const done = element("button", "Done: I have sent it");
          const cannot = element("button", "Cannot do it");
          done.type = cannot.type = "button";
          const buttons = [done, cannot];
          done.addEventListener("click", function () { send(prompt, "done", status, buttons); });
          cannot.addEventListener("click", function () { send(prompt, "cannot", status, buttons); });
          actions.appendChild(done);
          actions.appendChild(cannot);
        }
      }
      actions.appendChild(status);
      article.appendChild(actions);
      list.appendChild(article);
    });
    tick();
  }

  function tick() {
    countdowns.forEach(function (countdown) {
      if (countdown.status.dataset.counting !== "yes") {
        return;
      }
      const left = Math.max(0, Math.round((countdown.until - Date.now()) / 1000));
      countdown.status.textContent = left + " s left";
    });
  }

  if (operator) {
    window.setInterval(tick, 1000);
  }
  const source = new EventSource(progress.dataset.events);
  source.addEventListener("progress", function (event) {
    progress.appendChild(document.createTextNode(event.data + "\n"));
  });
  source.addEventListener("prompts", function (event) {
    if (operator) {
      show(JSON.parse(event.data));
    }
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
