"use strict";
// One transport for the 2–4 takes compared on a shot's page. The first player leads; every animation frame the
// others are brought back to it: a drift under a frame by nudging their playback rate, more than that by setting
// their currentTime. Pausing or stepping puts every player on the same time exactly. Keys, as in an editing room:
// space (play/pause), K (pause), L (play; again: faster), J (play backwards; again: faster), ← / → (one frame),
// Home (first frame).

(() => {
  const MAX_RATE = 4;

  function init(root) {
    const section = root.querySelector("#compare");
    if (!section) return;
    const videos = [...section.querySelectorAll("video")];
    const transport = section.querySelector(".transport");
    if (!videos.length || !transport) return;
    const fps = Number(section.dataset.fps) || 30;
    const lead = videos[0];
    const loop = transport.querySelector('[data-action="loop"]');
    const toggleButton = transport.querySelector('[data-action="toggle"]');
    const timecode = transport.querySelector(".timecode");
    const cards = [...section.querySelectorAll(".player-card")];
    const regions = new Map();
    let rate = 1;
    let backwards = null;

    const frames = () => Math.max(1, Math.round((lead.duration || 0) * fps));
    const frame = () => Math.min(frames() - 1, aigms.frameAt(lead.currentTime, fps));
    const setLoop = () => videos.forEach((video) => { video.loop = loop.checked; });

    function alignExactly() {
      for (const video of videos) {
        if (video !== lead && video.currentTime !== lead.currentTime) video.currentTime = lead.currentTime;
        video.playbackRate = rate;
      }
    }

    function follow() {
      for (const video of videos) {
        if (video === lead || video.paused) continue;
        const drift = video.currentTime - lead.currentTime;
        if (Math.abs(drift) > 1 / fps) {
          video.currentTime = lead.currentTime;
          video.playbackRate = rate;
        } else {
          video.playbackRate = rate * Math.min(1.1, Math.max(0.9, 1 - drift * 2));
        }
      }
    }

    function stopBackwards() {
      if (backwards !== null) clearInterval(backwards);
      backwards = null;
    }

    function pause() {
      stopBackwards();
      videos.forEach((video) => video.pause());
      alignExactly();
    }

    async function play() {
      stopBackwards();
      if (lead.ended || frame() >= frames() - 1) seek(0);
      alignExactly();
      await Promise.all(videos.map((video) => video.play().catch(() => undefined)));
    }

    function seek(to) {
      const target = Math.min(frames() - 1, Math.max(0, to));
      const time = (target + 0.5) / fps;
      videos.forEach((video) => { video.currentTime = time; });
    }

    function step(by) {
      pause();
      seek(frame() + by);
    }

    function playBackwards() {
      const speed = backwards === null ? 1 : Math.min(MAX_RATE, rate * 2);
      pause();
      rate = speed;
      backwards = setInterval(() => {
        if (frame() <= 0) {
          if (loop.checked) seek(frames() - 1); else stopBackwards();
          return;
        }
        seek(frame() - 1);
      }, 1000 / (fps * speed));
    }

    function faster() {
      if (backwards !== null || lead.paused) {
        rate = 1;
        play();
        return;
      }
      rate = Math.min(MAX_RATE, rate * 2);
      videos.forEach((video) => { video.playbackRate = rate; });
    }

    const actions = {
      start: () => { pause(); seek(0); },
      back: () => step(-1),
      forward: () => step(1),
      toggle: () => (lead.paused && backwards === null ? (rate = 1, play()) : pause()),
    };
    transport.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-action]");
      if (button) actions[button.dataset.action]();
    });
    loop.addEventListener("change", setLoop);
    setLoop();
    videos.forEach((video) => { video.muted = true; });

    document.addEventListener("keydown", (event) => {
      if (!document.body.contains(section) || aigms.typing(event) || event.ctrlKey || event.metaKey) return;
      const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
      const handlers = {" ": actions.toggle, k: pause, l: faster, j: playBackwards, ArrowLeft: actions.back,
                        ArrowRight: actions.forward, Home: actions.start};
      if (!(key in handlers)) return;
      event.preventDefault();
      handlers[key]();
    });

    cards.forEach((card) => {
      const frameBox = card.querySelector(".frame");
      const timeline = card.querySelector(".timeline");
      aigms.drawRegions(frameBox, pause, (region) => {
        regions.set(card, region);
        const form = card.querySelector("form.note");
        if (form) aigms.showWhere(form, frame(), region);
      });
      timeline.addEventListener("click", (event) => {
        const marker = event.target.closest(".marker");
        if (!marker) return;
        pause();
        seek(Number(marker.dataset.frame));
        aigms.showRegion(frameBox, marker.dataset.region ? JSON.parse(marker.dataset.region) : null);
      });
      const form = card.querySelector("form.note");
      if (form) form.addEventListener("submit", () => aigms.fillNote(form, frame(), regions.get(card) || null));
    });
    for (const button of document.querySelectorAll(".seek-frame")) {
      button.addEventListener("click", () => { pause(); seek(Number(button.dataset.frame)); });
    }

    function tick() {
      if (!document.body.contains(section)) return;
      if (!lead.paused) follow();
      const now = frame();
      timecode.textContent = `frame ${now} · ${lead.currentTime.toFixed(2)} s`;
      toggleButton.textContent = lead.paused && backwards === null ? "▶︎" : "❚❚";
      cards.forEach((card) => {
        aigms.movePlayhead(card.querySelector(".timeline"), now, frames());
        const form = card.querySelector("form.note");
        if (form && lead.paused) aigms.showWhere(form, now, regions.get(card) || null);
      });
      requestAnimationFrame(tick);
    }
    lead.addEventListener("loadedmetadata", () => {
      cards.forEach((card) => aigms.placeMarkers(card.querySelector(".timeline"), frames()));
    });
    if (lead.readyState >= 1) cards.forEach((card) => aigms.placeMarkers(card.querySelector(".timeline"), frames()));
    requestAnimationFrame(tick);
  }

  document.addEventListener("DOMContentLoaded", () => init(document));
  document.addEventListener("aigms:refreshed", () => init(document));
})();
