"use strict";
// Film jobs on a page follow themselves: each card of a queued or running render run asks GET /api/runs/ID every
// second (any dashboard process answers it from the database) and shows where the run stands. When one finishes,
// the parts of the page marked data-refresh (the takes, the cut) are fetched again and swapped in, without
// reloading the page.

(() => {
  const ACTIVE = new Set(["queued", "running"]);
  const PERIOD = 1000;

  function show(card, run) {
    const progress = run.progress || {};
    card.dataset.status = run.status;
    card.querySelector(".run-status").textContent = run.status;
    card.querySelector(".summary").textContent = progress.summary || "";
    const bar = card.querySelector("progress");
    bar.max = Math.max(1, progress.total || run.shots_total || 1);
    bar.value = run.status === "completed" ? bar.max : progress.filmed || 0;
    card.querySelector(".message").textContent = run.message || "";
  }

  async function refresh() {
    const answer = await fetch(location.href, {credentials: "same-origin"});
    if (!answer.ok) return;
    const fresh = new DOMParser().parseFromString(await answer.text(), "text/html");
    for (const part of document.querySelectorAll("[data-refresh]")) {
      const replacement = fresh.querySelector(`[data-refresh="${part.dataset.refresh}"]`);
      if (replacement) part.replaceWith(document.importNode(replacement, true));
    }
    document.dispatchEvent(new CustomEvent("aigms:refreshed"));
  }

  async function follow(card) {
    try {
      const answer = await fetch(`/api/runs/${card.dataset.run}`, {credentials: "same-origin",
                                                                    headers: {accept: "application/json"}});
      if (answer.ok) show(card, await answer.json());
    } catch (error) {
      // the dashboard restarting: ask again on the next beat
    }
    if (ACTIVE.has(card.dataset.status)) setTimeout(() => follow(card), PERIOD);
    else await refresh();
  }

  document.addEventListener("DOMContentLoaded", () => {
    for (const card of document.querySelectorAll(".job[data-run]")) {
      if (ACTIVE.has(card.dataset.status)) setTimeout(() => follow(card), PERIOD);
    }
  });
})();
