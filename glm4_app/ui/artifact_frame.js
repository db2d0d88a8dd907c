// The preview of an artifact in the page (glm4_app/ui/artifacts.py): a toolbar (title, versions,
// reload, full screen, download, open in a new tab) over a frame that loads /artifact/<id>.
//
// The frame carries sandbox="allow-scripts" and no allow-same-origin, and the server sends the
// document with a CSP sandbox too: what the model wrote runs in an opaque origin, in a process
// apart from the page. This script is the app's own code; from the frame it takes only two
// messages (its height, and that it is alive), and only from its own frame.
//
// Streamlit calls this function on every rerun with the same parent element: the first call
// builds the view, later ones update it, so a preview is never reloaded by a rerun.
//
// A script that never ends (`while (true) {}`) stalls its frame's process, which Chromium
// shares between the sandboxed frames of a page: every preview of the page falls silent, the
// chat itself does not. The watch below notices (no heartbeat for SILENT_MS), removes the
// silent frames (their process then ends), and brings them back one at a time: the one that
// stalls again while it is the only newcomer is the culprit and stays stopped, with Reload.
//
// With the network off (data.network false), a preview that navigates itself (no browser lets
// the page forbid that) is stopped as it leaves: its first script says so (frames.LEAVE_SCRIPT)
// as the navigation starts, and a second load of its frame (a page that got rid of that script
// with document.open(), which also loads the frame again) stops it too. Its one request may
// have gone out; the page that answers it is not left on show.

const MIN_HEIGHT = 48;
const MAX_HEIGHT = 720;
const FIRST_BEAT_MS = 15000; // a page may wait for its CDN scripts before its first heartbeat
const SILENT_MS = 4000;
const PROBATION_MS = 2000;

export default function (component) {
  const { parentElement, data, setStateValue } = component;
  let view = parentElement.__glm4Artifact;
  if (!view) {
    view = build(parentElement);
    parentElement.__glm4Artifact = view;
  }
  view.setState = setStateValue;
  view.update(data);
  return () => view.destroy();
}

// -- the watch over every preview of the page (one module, shared by every card) --------------

const watch = { views: new Set(), queue: [], probation: null, timer: null };

function tick() {
  if (document.visibilityState !== "visible") return; // hidden tabs run their timers late
  const now = performance.now();
  const watched = [...watch.views].filter((v) => v.watched);
  if (watched.some((v) => now - v.lastBeat > (v.beaten ? SILENT_MS : FIRST_BEAT_MS))) {
    // Their process has stalled, and with it every preview it holds: stop them all (the
    // process ends), then bring them back one by one, the newest first (the likeliest
    // culprit: a page that loops as it loads). The newcomer on trial when it stalls did it.
    const culprit = watch.probation;
    watch.probation = null;
    watched.sort((a, b) => b.since - a.since);
    for (const view of watched) {
      if (view === culprit) {
        view.halt("stopped");
      } else {
        view.halt("paused");
        if (!watch.queue.includes(view)) watch.queue.push(view);
      }
    }
  }
  const trial = watch.probation;
  if (trial && trial.lastBeat - trial.since > PROBATION_MS) watch.probation = null; // alive after its trial
  if (!watch.probation && watch.queue.length) {
    const next = watch.queue.shift();
    if (watch.views.has(next)) {
      watch.probation = next;
      next.resume();
    }
  }
}

document.addEventListener("visibilitychange", () => {
  const now = performance.now(); // timers were throttled while hidden: start counting again
  for (const view of watch.views) view.lastBeat = now;
});

// -- one card -------------------------------------------------------------------------------

// 16 px line icons (fonts on a server may lack the symbols).
const ICONS = {
  previous: "M10 3 5 8l5 5",
  next: "M6 3l5 5-5 5",
  reload: "M13 8a5 5 0 1 1-1.5-3.6M13 2.5V5h-2.5",
  full: "M2.5 6V2.5H6M10 2.5h3.5V6M13.5 10v3.5H10M6 13.5H2.5V10",
  download: "M8 2.5v8M4.5 7 8 10.5 11.5 7M3 13.5h10",
  open: "M9 2.5h4.5V7M13.5 2.5 7.5 8.5M11.5 9.5v4h-9v-9h4",
};

function icon(name) {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 16 16");
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("d", ICONS[name]);
  svg.append(path);
  return svg;
}

function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  Object.assign(node, props);
  for (const child of children) node.append(child);
  return node;
}

function newFrame() {
  const frame = el("iframe");
  frame.setAttribute("sandbox", "allow-scripts");
  frame.setAttribute("referrerpolicy", "no-referrer");
  return frame;
}

function build(parent) {
  const title = el("span", { className: "title" });
  const previous = el("button", { className: "previous", type: "button" }, [icon("previous")]);
  const count = el("span", { className: "count" });
  const next = el("button", { className: "next", type: "button" }, [icon("next")]);
  const versions = el("span", { className: "versions" }, [previous, count, next]);
  const reload = el("button", { className: "reload", type: "button" }, [icon("reload")]);
  const full = el("button", { className: "full", type: "button" }, [icon("full")]);
  const download = el("a", { className: "download" }, [icon("download")]);
  const open = el("a", { className: "open", target: "_blank", rel: "noopener noreferrer" }, [icon("open")]);
  const bar = el("div", { className: "bar" }, [title, versions, reload, full, download, open]);
  const notice = el("div", { className: "notice", hidden: true });
  let frame = newFrame();
  const card = el("div", { className: "card" }, [bar, notice, frame]);
  parent.append(card);

  const view = {
    index: null, data: null, setState: null, src: "",
    watched: false, beaten: false, lastBeat: 0, since: 0, state: "running",
  };

  function load(src) {
    // A fresh element: the old one may belong to a stalled process, which then ends.
    const fresh = newFrame();
    fresh.style.height = frame.style.height || `${view.data.height}px`;
    fresh.title = frame.title;
    frame.replaceWith(fresh);
    frame = fresh;
    view.src = src;
    frame.setAttribute("src", src);
    // After the src: inserting the element loaded about:blank. The first load is the preview,
    // any later one a page the preview navigated to.
    let loads = 0;
    fresh.addEventListener("load", () => {
      if (++loads > 1 && fresh === frame && !view.data.network) view.halt("left");
    });
    view.state = "running";
    notice.hidden = true;
    view.watched = true;
    view.beaten = false;
    view.lastBeat = view.since = performance.now();
  }

  view.halt = (why) => {
    view.state = why;
    view.watched = false;
    if (watch.probation === view) watch.probation = null; // the next one may come back
    const stub = newFrame();
    stub.hidden = true;
    frame.replaceWith(stub);
    frame = stub;
    notice.textContent = view.data.labels[why];
    notice.hidden = false;
  };
  view.resume = () => load(view.src);

  function show(i) {
    const all = view.data.versions;
    view.index = Math.max(0, Math.min(i, all.length - 1));
    const shown = all[view.index];
    frame.title = shown.title;
    if (view.src !== shown.src) {
      frame.style.height = `${view.data.height}px`;
      if (view.state === "running") load(shown.src);
      else view.src = shown.src;
    }
    title.textContent = shown.title;
    title.title = shown.title;
    download.href = shown.download;
    download.download = shown.name;
    open.href = shown.src;
    versions.hidden = all.length < 2;
    count.textContent = `${view.index + 1}/${all.length}`;
    previous.disabled = view.index === 0;
    next.disabled = view.index === all.length - 1;
  }

  function step(by) {
    show(view.index + by);
    if (view.setState) view.setState("version", view.index);
  }

  function fullScreen() {
    if (card.matches(":fullscreen") || card.classList.contains("overlay")) {
      if (card.matches(":fullscreen")) document.exitFullscreen();
      card.classList.remove("overlay");
      return;
    }
    const overlay = () => card.classList.add("overlay"); // where the browser refuses full screen
    if (card.requestFullscreen) card.requestFullscreen().catch(overlay);
    else overlay();
  }

  function onMessage(event) {
    if (event.source !== frame.contentWindow || !event.data) return;
    if (event.data.glm4ArtifactLeaving && !view.data.network) {
      view.halt("left"); // the navigation ends with its frame: the other page never shows
      return;
    }
    view.lastBeat = performance.now();
    view.beaten = true;
    const height = event.data.glm4ArtifactHeight;
    if (typeof height !== "number" || !isFinite(height)) return;
    frame.style.height = `${Math.max(MIN_HEIGHT, Math.min(MAX_HEIGHT, Math.ceil(height)))}px`;
  }

  function onKey(event) {
    if (event.key === "Escape") card.classList.remove("overlay");
  }

  function onFullScreen() {
    const on = card.matches(":fullscreen") || card.classList.contains("overlay");
    full.title = full.ariaLabel = on ? view.data.labels.exit : view.data.labels.fullscreen;
  }

  previous.addEventListener("click", () => step(-1));
  next.addEventListener("click", () => step(1));
  reload.addEventListener("click", () => {
    watch.queue = watch.queue.filter((v) => v !== view);
    load(view.src);
    if (!watch.probation) watch.probation = view; // stalls again: stopped again
  });
  full.addEventListener("click", () => {
    fullScreen();
    setTimeout(onFullScreen, 50);
  });
  window.addEventListener("message", onMessage);
  document.addEventListener("keydown", onKey);
  document.addEventListener("fullscreenchange", onFullScreen);
  watch.views.add(view);
  if (!watch.timer) watch.timer = setInterval(tick, 1000);

  view.update = (data) => {
    view.data = data;
    const labels = data.labels;
    for (const [node, label] of [
      [previous, labels.previous], [next, labels.next], [reload, labels.reload],
      [full, labels.fullscreen], [download, labels.download], [open, labels.open],
    ]) {
      node.title = label;
      node.ariaLabel = label;
    }
    show(view.index === null ? data.index : view.index);
  };
  view.destroy = () => {
    watch.views.delete(view);
    watch.queue = watch.queue.filter((v) => v !== view);
    if (watch.probation === view) watch.probation = null;
    window.removeEventListener("message", onMessage);
    document.removeEventListener("keydown", onKey);
    document.removeEventListener("fullscreenchange", onFullScreen);
  };
  return view;
}
