// Two images side by side (anywidget); the seed and values that differ are marked.
// Text goes in through textContent, never as HTML.

function h(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function render({ model, el }) {
  const images = new Map(); // filename -> {url, error}
  const root = h("div", "sk-ic sk-own-keys"); // sk-own-keys: a screen's KeyScope leaves our keys alone
  root.tabIndex = 0;
  root.setAttribute("data-lm-suppress-shortcuts", "true");
  root.setAttribute("aria-label", "compare two images: Escape goes back");
  const bar = h("div", "sk-iv-bar");
  const back = h("button", "sk-iv-button sk-iv-back", "← grid");
  back.type = "button";
  back.title = "back to the grid (Escape)";
  const title = h("span", "sk-iv-name");
  bar.append(back, title);
  const panes = h("div", "sk-ic-panes");
  root.append(bar, panes);
  el.append(root);

  function pane(side, differs) {
    const box = h("figure", "sk-ic-pane");
    const stage = h("div", "sk-iv-stage sk-ic-stage");
    const entry = images.get(side.filename);
    if (entry && entry.url) {
      const image = h("img", "sk-iv-image");
      image.alt = "";
      image.src = entry.url;
      stage.append(image);
    } else {
      stage.append(h("div", "sk-iv-problem", entry ? entry.error : "loading…"));
    }
    const caption = h("figcaption", "sk-ic-caption");
    caption.append(h("div", "sk-iv-name", side.filename));
    const marks = [];
    if (side.rating) marks.push(side.rating === "like" ? "liked" : "disliked");
    if (side.stars) marks.push("★".repeat(side.stars));
    if (marks.length) caption.append(h("div", `sk-ic-marks sk-ig-rated-${side.rating || "none"}`, marks.join(" ")));
    const list = h("ul", "sk-iv-values");
    const seed = h("li", "sk-iv-value");
    seed.append(h("span", "sk-iv-placeholder", "seed"), h("span", "sk-iv-sep", ": "), h("span", "sk-iv-chosen", side.seed ?? "—"));
    seed.classList.toggle("sk-ic-differs", differs.has("seed"));
    list.append(seed);
    for (const [placeholder, value] of side.values || []) {
      const item = h("li", "sk-iv-value");
      item.append(h("span", "sk-iv-placeholder", placeholder), h("span", "sk-iv-sep", ": "), h("span", "sk-iv-chosen", value));
      item.classList.toggle("sk-ic-differs", differs.has(placeholder));
      list.append(item);
    }
    caption.append(list);
    box.append(stage, caption);
    return box;
  }

  function draw() {
    const sides = model.get("sides") || [];
    const differs = new Set(model.get("differs") || []);
    back.hidden = !model.get("closable");
    title.textContent = differs.size ? `differ in: ${[...differs].join(", ")}` : "same seed and values";
    panes.replaceChildren(...sides.map((side) => pane(side, differs)));
  }

  function onMessage(message, buffers) {
    if (message.type !== "image") return;
    const old = images.get(message.filename);
    if (old && old.url) URL.revokeObjectURL(old.url);
    const url = !message.error && buffers && buffers.length
      ? URL.createObjectURL(new Blob([buffers[0]], { type: message.mime }))
      : null;
    images.set(message.filename, { url, error: message.error });
    draw();
  }

  function onKey(event) {
    if (event.key !== "Escape" || event.ctrlKey || event.metaKey || event.altKey) return;
    event.preventDefault();
    event.stopPropagation();
    model.send({ type: "key", key: "Escape" });
  }

  function onFocusRequest() {
    requestAnimationFrame(() => root.focus({ preventScroll: false }));
  }

  root.addEventListener("keydown", onKey);
  back.addEventListener("click", () => model.send({ type: "key", key: "Escape" }));
  const changes = {
    "change:sides": draw,
    "change:differs": draw,
    "change:closable": draw,
    "change:focus_request": onFocusRequest,
    "msg:custom": onMessage,
  };
  for (const [name, handler] of Object.entries(changes)) model.on(name, handler);
  draw();
  model.send({ type: "ready" });
  if (model.get("focus_request")) onFocusRequest();
  return () => {
    for (const [name, handler] of Object.entries(changes)) model.off(name, handler);
    for (const entry of images.values()) if (entry.url) URL.revokeObjectURL(entry.url);
  };
}

export default { render };
