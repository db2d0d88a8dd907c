// The preview of an artifact in the page (glm4_app/ui/artifacts.py): a toolbar (title, versions,
// reload, full screen, download, open in a new tab) over a frame that loads /artifact/<id>.
//
// The frame carries sandbox="allow-scripts" and no allow-same-origin, and the server sends the
// document with a CSP sandbox too: what the model wrote runs in an opaque origin, in a process
// of its own. This script is the app's own code; it only reads numbers from the frame (its
// height), and only from its own frame.
//
// Streamlit calls this function on every rerun with the same parent element: the first call
// builds the view, later ones update it, so a preview is never reloaded by a rerun.

const MIN_HEIGHT = 48;
const MAX_HEIGHT = 720;

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
  const frame = el("iframe");
  frame.setAttribute("sandbox", "allow-scripts");
  frame.setAttribute("referrerpolicy", "no-referrer");
  frame.setAttribute("loading", "lazy");
  const card = el("div", { className: "card" }, [bar, frame]);
  parent.append(card);

  const view = { index: null, data: null, setState: null };

  function show(i) {
    const all = view.data.versions;
    view.index = Math.max(0, Math.min(i, all.length - 1));
    const shown = all[view.index];
    if (frame.getAttribute("src") !== shown.src) {
      frame.style.height = `${view.data.height}px`;
      frame.setAttribute("src", shown.src);
    }
    frame.title = shown.title;
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
    const height = event.data && event.data.glm4ArtifactHeight;
    if (event.source !== frame.contentWindow || typeof height !== "number" || !isFinite(height)) return;
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
    const src = frame.getAttribute("src");
    frame.setAttribute("src", "about:blank");
    setTimeout(() => frame.setAttribute("src", src), 0);
  });
  full.addEventListener("click", () => {
    fullScreen();
    setTimeout(onFullScreen, 50);
  });
  window.addEventListener("message", onMessage);
  document.addEventListener("keydown", onKey);
  document.addEventListener("fullscreenchange", onFullScreen);

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
    window.removeEventListener("message", onMessage);
    document.removeEventListener("keydown", onKey);
    document.removeEventListener("fullscreenchange", onFullScreen);
  };
  return view;
}
