"use strict";
// Dailies: the playlist's takes one after another in one player (N / P for the next and previous take, space to
// play or pause), the review actions of the take on screen beside it, notes at its paused frame.

(() => {
  function init() {
    const root = document.querySelector(".dailies");
    if (!root) return;
    const fps = Number(root.dataset.fps) || 30;
    const video = root.querySelector("video");
    const frameBox = root.querySelector(".frame");
    const timecode = root.querySelector(".timecode");
    const autoplay = root.querySelector(".autoplay");
    const items = [...root.querySelectorAll(".item")];
    let current = -1;
    let region = null;
    root.classList.add("scripted");

    const frame = () => aigms.frameAt(video.currentTime, fps);
    const frames = () => Math.max(1, Math.round((video.duration || 0) * fps));

    function load(index, start) {
      if (index < 0 || index >= items.length) return;
      current = index;
      items.forEach((item, at) => item.classList.toggle("current", at === index));
      region = null;
      aigms.showRegion(frameBox, null);
      if (items[index].dataset.src) video.src = items[index].dataset.src;
      if (start) video.play().catch(() => undefined);
    }

    video.addEventListener("ended", () => {
      if (autoplay.checked && current + 1 < items.length) load(current + 1, true);
    });
    video.addEventListener("loadedmetadata", () => {
      const timeline = items[current].querySelector(".timeline");
      if (timeline) aigms.placeMarkers(timeline, frames());
    });
    items.forEach((item, index) => {
      item.querySelector(".play-item").addEventListener("click", () => load(index, true));
      const timeline = item.querySelector(".timeline");
      timeline.addEventListener("click", (event) => {
        const marker = event.target.closest(".marker");
        if (!marker || index !== current) return;
        video.pause();
        video.currentTime = (Number(marker.dataset.frame) + 0.5) / fps;
        aigms.showRegion(frameBox, marker.dataset.region ? JSON.parse(marker.dataset.region) : null);
      });
      const form = item.querySelector("form.note");
      if (form) form.addEventListener("submit", () => aigms.fillNote(form, frame(), region));
    });
    aigms.drawRegions(frameBox, () => video.pause(), (drawn) => { region = drawn; });
    document.addEventListener("keydown", (event) => {
      if (aigms.typing(event) || event.ctrlKey || event.metaKey) return;
      const key = event.key.toLowerCase();
      if (key === "n") load(current + 1, true);
      else if (key === "p") load(current - 1, true);
      else if (key === " ") video.paused ? video.play() : video.pause();
      else return;
      event.preventDefault();
    });

    function tick() {
      if (current >= 0) {
        timecode.textContent = `take ${current + 1} of ${items.length} · frame ${frame()}`;
        const item = items[current];
        const timeline = item.querySelector(".timeline");
        if (timeline) aigms.movePlayhead(timeline, frame(), frames());
        const form = item.querySelector("form.note");
        if (form && video.paused) aigms.showWhere(form, frame(), region);
      }
      requestAnimationFrame(tick);
    }
    load(0, false);
    requestAnimationFrame(tick);
  }

  document.addEventListener("DOMContentLoaded", init);
})();
