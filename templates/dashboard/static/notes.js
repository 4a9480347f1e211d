"use strict";
// Notes at a frame, shared by the shot page and dailies: markers placed on a take's timeline, a rectangle drawn on
// the picture (kept in fractions of the frame), and a note form filled with the paused frame before it is sent.
// Positions are set through the CSSOM (element.style), which a strict Content-Security-Policy allows.

window.aigms = window.aigms || {};

(() => {
  const clamp = (value, low, high) => Math.min(high, Math.max(low, value));

  // The frame shown at `time`: frame f is on screen from f/fps to (f+1)/fps.
  aigms.frameAt = (time, fps) => Math.floor(time * fps + 1e-6);

  aigms.placeMarkers = (timeline, frames) => {
    const total = Math.max(1, frames || Number(timeline.dataset.frames) || 1);
    for (const marker of timeline.querySelectorAll(".marker")) {
      marker.style.left = `${(100 * clamp(Number(marker.dataset.frame) + 0.5, 0, total)) / total}%`;
    }
  };

  aigms.movePlayhead = (timeline, frame, frames) => {
    const head = timeline.querySelector(".playhead");
    const total = Math.max(1, frames || Number(timeline.dataset.frames) || 1);
    if (head) head.style.left = `${(100 * clamp(frame + 0.5, 0, total)) / total}%`;
  };

  aigms.showRegion = (frameBox, region) => {
    const box = frameBox.querySelector(".region");
    if (!box) return;
    if (!region) {
      box.hidden = true;
      return;
    }
    Object.assign(box.style, {left: `${region.x * 100}%`, top: `${region.y * 100}%`,
                              width: `${region.w * 100}%`, height: `${region.h * 100}%`});
    box.hidden = false;
  };

  // Drag on the picture to draw a rectangle; `done(region)` gets it in fractions of the frame (null: a click).
  aigms.drawRegions = (frameBox, started, done) => {
    const surface = frameBox.querySelector(".draw");
    if (!surface) return;
    let start = null;
    const point = (event) => {
      const rect = surface.getBoundingClientRect();
      return {x: clamp((event.clientX - rect.left) / rect.width, 0, 1), y: clamp((event.clientY - rect.top) / rect.height, 0, 1)};
    };
    const region = (end) => ({x: Math.min(start.x, end.x), y: Math.min(start.y, end.y),
                              w: Math.abs(end.x - start.x), h: Math.abs(end.y - start.y)});
    surface.addEventListener("pointerdown", (event) => {
      start = point(event);
      surface.setPointerCapture(event.pointerId);
      started();
    });
    surface.addEventListener("pointermove", (event) => {
      if (start) aigms.showRegion(frameBox, region(point(event)));
    });
    surface.addEventListener("pointerup", (event) => {
      if (!start) return;
      const drawn = region(point(event));
      start = null;
      const kept = drawn.w > 0.01 && drawn.h > 0.01 ? drawn : null;
      aigms.showRegion(frameBox, kept);
      done(kept);
    });
  };

  // Before a note form is sent: the paused frame and the drawn rectangle, unless "at the paused frame" is unticked.
  aigms.fillNote = (form, frame, region) => {
    const atFrame = form.querySelector(".at-frame");
    const use = !atFrame || atFrame.checked;
    form.querySelector(".note-frame").value = use ? String(frame) : "";
    for (const key of ["x", "y", "w", "h"]) {
      form.querySelector(`.note-${key}`).value = use && region ? region[key].toFixed(4) : "";
    }
  };

  aigms.showWhere = (form, frame, region) => {
    const where = form.querySelector(".note-where");
    if (where) where.textContent = `frame ${frame}${region ? " and the box drawn" : ""}`;
  };

  aigms.typing = (event) => event.target.closest("input, textarea, select, button") !== null && event.key !== "Escape";
})();
