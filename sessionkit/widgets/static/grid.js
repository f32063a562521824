// The image grid's view (anywidget): filters, cells with thumbnails and marks,
// a focus ring moved by the arrow keys, multi-select and bulk marks. Python owns
// the data (items, filters, marks); thumbnails arrive as binary buffers for the
// cells scrolled into view. Text goes in through textContent, never as HTML.

const FIRST_THUMBS = 60; // asked for at once: about a screenful, before layout tells what shows
const MARK_KEYS = new Set(["l", "d", "0", "1", "2", "3", "4", "5", "Backspace"]);
const MARK_CHOICES = [
  ["", "any mark"],
  ["like", "👍 liked"],
  ["dislike", "👎 disliked"],
  ["none", "not rated"],
  ["stars1", "★ 1 or more"],
  ["stars2", "★ 2 or more"],
  ["stars3", "★ 3 or more"],
  ["stars4", "★ 4 or more"],
  ["stars5", "★ 5"],
];

function h(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function button(label, title, className) {
  const node = h("button", `sk-ig-button ${className || ""}`, label);
  node.type = "button";
  node.title = title;
  node.setAttribute("aria-label", title);
  return node;
}

let gridCount = 0;

function render({ model, el }) {
  const prefix = `sk-ig-${++gridCount}`;
  const thumbs = new Map(); // filename -> blob URL
  const requested = new Set();
  const pending = new Set();
  const cells = new Map(); // filename -> cell element
  let anchor = ""; // where a shift-click range starts

  const root = h("div", "sk-ig sk-own-keys"); // sk-own-keys: a screen's KeyScope leaves our keys alone
  root.tabIndex = 0;
  root.setAttribute("data-lm-suppress-shortcuts", "true");

  const filters = h("div", "sk-ig-filters");
  const valueFilters = h("span", "sk-ig-value-filters");
  const markFilter = h("select", "sk-ig-mark-filter");
  markFilter.setAttribute("aria-label", "filter by mark");
  for (const [value, label] of MARK_CHOICES) {
    const option = h("option", "", label);
    option.value = value;
    markFilter.append(option);
  }
  const count = h("span", "sk-ig-count");
  filters.append(valueFilters, markFilter, count);

  const actions = h("div", "sk-ig-actions");
  const chosen = h("span", "sk-ig-chosen");
  const like = button("👍 like", "like the selected images (l)", "sk-ig-like");
  const dislike = button("👎 dislike", "dislike the selected images (d)", "sk-ig-dislike");
  const clear = button("clear", "clear their rating (0)", "sk-ig-clear");
  const starButtons = [1, 2, 3, 4, 5].map((n) => {
    const star = button(`${n}★`, `${n} star${n > 1 ? "s" : ""} (${n})`, "sk-ig-star");
    star.dataset.key = String(n);
    return star;
  });
  const tagInput = h("input", "sk-ig-tag-input");
  tagInput.placeholder = "tag the selection (t)";
  tagInput.setAttribute("aria-label", "tag the selected images: Enter adds, Escape cancels");
  const compare = button("compare", "compare the two selected images (c)", "sk-ig-compare");
  const all = button("select all", "select every image shown (Ctrl+A)", "sk-ig-all");
  const none = button("select none", "clear the selection (Escape)", "sk-ig-none");
  actions.append(chosen, like, dislike, clear, ...starButtons, tagInput, compare, all, none);

  const status = h("div", "sk-ig-status");
  status.setAttribute("role", "status");
  status.setAttribute("aria-live", "polite");
  const list = h("div", "sk-ig-cells");
  list.setAttribute("role", "listbox");
  list.setAttribute("aria-multiselectable", "true");
  list.setAttribute("aria-label", "images: arrows move, Enter opens, Space selects");
  const help = h(
    "div",
    "sk-ig-help",
    "Arrows move · Enter or click opens · Space, Ctrl+click or Shift+click selects · l d 0 1-5 Backspace mark · t tag · c compare two",
  );
  root.append(filters, actions, status, list, help);
  el.append(root);

  const observer = new IntersectionObserver(
    (entries) => {
      for (const entry of entries) {
        if (!entry.isIntersecting) continue;
        const filename = entry.target.dataset.filename;
        if (!thumbs.has(filename) && !requested.has(filename)) pending.add(filename);
      }
      if (pending.size) queueMicrotask(requestThumbs);
    },
    // the cells scroll inside the list: a cell within 600 px of its visible part is asked for
    { root: list, rootMargin: "600px 0px" },
  );

  function requestThumbs() {
    if (!pending.size) return;
    const filenames = [...pending];
    pending.clear();
    filenames.forEach((name) => requested.add(name));
    model.send({ type: "thumbs", filenames });
  }

  function items() {
    return model.get("items") || [];
  }

  function selected() {
    return new Set(model.get("selected") || []);
  }

  function targets() {
    // what a mark key acts on: the selection, or else the focused image
    const chosenNow = model.get("selected") || [];
    if (chosenNow.length) return chosenNow;
    return model.get("focused") ? [model.get("focused")] : [];
  }

  function setSelected(names) {
    model.set("selected", [...names]);
    model.save_changes();
    drawSelection();
  }

  function setFocused(name, scroll = true) {
    model.set("focused", name);
    model.save_changes();
    drawFocus(scroll);
  }

  function drawFilters() {
    const placeholders = model.get("placeholders") || {};
    const current = model.get("value_filter") || {};
    valueFilters.replaceChildren(
      ...Object.entries(placeholders).map(([placeholder, values]) => {
        const select = h("select", "sk-ig-value-filter");
        select.setAttribute("aria-label", `filter by ${placeholder}`);
        select.dataset.placeholder = placeholder;
        const any = h("option", "", `{${placeholder}}: any`);
        any.value = "";
        select.append(any, ...values.map((value) => {
          const option = h("option", "", value);
          option.value = value;
          return option;
        }));
        select.value = current[placeholder] || "";
        select.addEventListener("change", () => {
          const next = { ...(model.get("value_filter") || {}) };
          if (select.value) next[placeholder] = select.value;
          else delete next[placeholder];
          model.set("value_filter", next);
          model.save_changes();
        });
        return select;
      }),
    );
    markFilter.value = model.get("mark_filter") || "";
  }

  function marksText(item) {
    const parts = [];
    if (item.rating) parts.push(item.rating === "like" ? "liked" : "disliked");
    if (item.stars) parts.push("★".repeat(item.stars));
    return parts.join(" ");
  }

  function drawCells() {
    observer.disconnect();
    cells.clear();
    const rows = items();
    const picked = selected();
    const fresh = rows.map((item, index) => {
      const cell = h("div", "sk-ig-cell");
      cell.id = `${prefix}-${index}`;
      cell.dataset.filename = item.filename;
      cell.setAttribute("role", "option");
      cell.setAttribute("aria-selected", String(picked.has(item.filename)));
      const label = [item.filename, item.seed !== null ? `seed ${item.seed}` : "", marksText(item)];
      cell.setAttribute("aria-label", label.filter(Boolean).join(", "));
      cell.title = [item.filename, ...(item.values || []).map(([p, v]) => `${p}: ${v}`)].join("\n");
      const picture = h("img", "sk-ig-thumb");
      picture.alt = "";
      picture.draggable = false;
      if (thumbs.has(item.filename)) picture.src = thumbs.get(item.filename);
      const check = button("", `select ${item.filename}`, "sk-ig-check");
      check.tabIndex = -1;
      const caption = h("div", "sk-ig-caption");
      const marks = h("span", `sk-ig-marks sk-ig-rated-${item.rating || "none"}`, marksText(item));
      caption.append(
        marks,
        h("span", "sk-ig-seed", item.seed !== null ? `seed ${item.seed}` : "no seed"),
      );
      const tagLine = h("div", "sk-ig-tags", (item.tags || []).join(", "));
      if (!item.on_disk) caption.append(h("span", "sk-ig-missing", "missing"));
      cell.append(picture, check, caption, tagLine);
      cells.set(item.filename, cell);
      return cell;
    });
    list.replaceChildren(...fresh);
    for (const item of rows.slice(0, FIRST_THUMBS)) {
      if (!thumbs.has(item.filename) && !requested.has(item.filename)) pending.add(item.filename);
    }
    requestThumbs();
    fresh.forEach((cell) => observer.observe(cell));
    const total = model.get("total") || 0;
    count.textContent = rows.length === total ? `${total} images` : `${rows.length} of ${total} images`;
    list.classList.toggle("sk-ig-empty", !rows.length);
    if (!rows.length) list.append(h("div", "sk-ig-none", total ? "No image matches these filters." : "This session has no images."));
    drawSelection();
    drawFocus(false);
  }

  function drawSelection() {
    const picked = selected();
    for (const [name, cell] of cells) {
      const on = picked.has(name);
      cell.classList.toggle("sk-ig-selected", on);
      cell.setAttribute("aria-selected", String(on));
      cell.querySelector(".sk-ig-check").setAttribute("aria-pressed", String(on));
    }
    const n = picked.size;
    chosen.textContent = n ? `${n} selected` : "nothing selected: keys mark the focused image";
    compare.disabled = n !== 2;
    none.disabled = n === 0;
  }

  function drawFocus(scroll) {
    const name = model.get("focused");
    for (const [filename, cell] of cells) cell.classList.toggle("sk-ig-focused", filename === name);
    const cell = cells.get(name);
    if (cell) {
      list.setAttribute("aria-activedescendant", cell.id);
      if (scroll) cell.scrollIntoView({ block: "nearest" });
    }
  }

  function columns() {
    const all = [...cells.values()];
    if (!all.length) return 1;
    const top = all[0].offsetTop;
    let n = 0;
    while (n < all.length && all[n].offsetTop === top) n += 1;
    return Math.max(1, n);
  }

  function move(offset) {
    const names = items().map((item) => item.filename);
    if (!names.length) return;
    const here = Math.max(0, names.indexOf(model.get("focused")));
    const there = Math.max(0, Math.min(names.length - 1, here + offset));
    setFocused(names[there]);
  }

  function toggle(name) {
    const picked = selected();
    if (picked.has(name)) picked.delete(name);
    else picked.add(name);
    anchor = name;
    setSelected(picked);
  }

  function selectRange(name) {
    const names = items().map((item) => item.filename);
    const from = names.indexOf(anchor || model.get("focused"));
    const to = names.indexOf(name);
    if (from < 0 || to < 0) return toggle(name);
    const picked = selected();
    names.slice(Math.min(from, to), Math.max(from, to) + 1).forEach((n) => picked.add(n));
    setSelected(picked);
  }

  function mark(key) {
    const filenames = targets();
    if (filenames.length) model.send({ type: "mark", filenames, key });
  }

  function onKey(event) {
    if (event.target === tagInput) {
      event.stopPropagation(); // typing a tag: no key is a notebook shortcut
      if (event.key === "Enter") {
        event.preventDefault();
        const tag = tagInput.value.trim();
        if (tag && targets().length) model.send({ type: "tag", filenames: targets(), tag });
        tagInput.value = "";
        root.focus();
      } else if (event.key === "Escape") {
        event.preventDefault();
        tagInput.value = "";
        root.focus();
      }
      return;
    }
    if (event.target instanceof HTMLSelectElement) {
      event.stopPropagation(); // the filters' own keys (arrows choose a value)
      return;
    }
    let handled = true;
    const key = event.key;
    if ((event.ctrlKey || event.metaKey) && key.toLowerCase() === "a") {
      setSelected(items().map((item) => item.filename));
    } else if (event.ctrlKey || event.metaKey || event.altKey) {
      handled = false;
    } else if (key === "ArrowLeft") move(-1);
    else if (key === "ArrowRight") move(1);
    else if (key === "ArrowUp") move(-columns());
    else if (key === "ArrowDown") move(columns());
    else if (key === "Home") move(-Infinity);
    else if (key === "End") move(Infinity);
    else if (key === "Enter") {
      if (model.get("focused")) model.send({ type: "open", filename: model.get("focused") });
    } else if (key === " ") {
      if (model.get("focused")) toggle(model.get("focused"));
    } else if (MARK_KEYS.has(key)) mark(key);
    else if (key === "t") tagInput.focus();
    else if (key === "c") {
      const picked = model.get("selected") || [];
      if (picked.length === 2) model.send({ type: "compare", filenames: picked });
    } else if (key === "Escape") setSelected([]);
    else handled = false;
    if (handled) {
      event.preventDefault();
      event.stopPropagation();
    }
  }

  function onClick(event) {
    const cell = event.target.closest(".sk-ig-cell");
    if (!cell) return;
    const name = cell.dataset.filename;
    root.focus({ preventScroll: true });
    if (event.target.closest(".sk-ig-check") || event.ctrlKey || event.metaKey) {
      setFocused(name, false);
      toggle(name);
    } else if (event.shiftKey) {
      selectRange(name);
      setFocused(name, false);
    } else {
      setFocused(name, false);
      anchor = name;
      model.send({ type: "open", filename: name });
    }
  }

  function onMessage(message, buffers) {
    if (message.type !== "thumbs") return;
    message.filenames.forEach((name, i) => {
      const old = thumbs.get(name);
      if (old) URL.revokeObjectURL(old);
      const url = URL.createObjectURL(new Blob([buffers[i]], { type: "image/jpeg" }));
      thumbs.set(name, url);
      const cell = cells.get(name);
      if (cell) cell.querySelector(".sk-ig-thumb").src = url;
    });
  }

  function onStatus() {
    const text = model.get("status");
    status.textContent = text;
    status.classList.toggle("sk-ig-error", text.startsWith("not saved"));
  }

  function onFocusRequest() {
    requestAnimationFrame(() => {
      root.focus({ preventScroll: true });
      drawFocus(true);
    });
  }

  root.addEventListener("keydown", onKey);
  list.addEventListener("click", onClick);
  markFilter.addEventListener("change", () => {
    model.set("mark_filter", markFilter.value);
    model.save_changes();
  });
  like.addEventListener("click", () => mark("l"));
  dislike.addEventListener("click", () => mark("d"));
  clear.addEventListener("click", () => mark("0"));
  starButtons.forEach((star) => star.addEventListener("click", () => mark(star.dataset.key)));
  compare.addEventListener("click", () => model.send({ type: "compare", filenames: model.get("selected") }));
  all.addEventListener("click", () => setSelected(items().map((item) => item.filename)));
  none.addEventListener("click", () => setSelected([]));

  const changes = {
    "change:items": drawCells,
    "change:placeholders": drawFilters,
    "change:value_filter": drawFilters,
    "change:mark_filter": drawFilters,
    "change:selected": drawSelection,
    "change:focused": () => drawFocus(false),
    "change:status": onStatus,
    "change:focus_request": onFocusRequest,
    "msg:custom": onMessage,
  };
  for (const [name, handler] of Object.entries(changes)) model.on(name, handler);
  drawFilters();
  drawCells();
  onStatus();
  if (model.get("focus_request")) onFocusRequest();

  return () => {
    for (const [name, handler] of Object.entries(changes)) model.off(name, handler);
    observer.disconnect();
    for (const url of thumbs.values()) URL.revokeObjectURL(url);
  };
}

export default { render };
