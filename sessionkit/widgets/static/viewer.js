// The image viewer's view (anywidget). Python owns the state (current file, marks);
// this view owns the keys, shows images from a small cache the kernel fills ahead
// of time, and steps to a cached neighbour at once, before the kernel answers.
// Every text from files or users goes in through textContent, never as HTML.

const CACHE_SIZE = 12;
const KEYS = new Set(["ArrowLeft", "ArrowRight", "j", "k", "l", "d", "0", "1", "2", "3", "4", "5", "Backspace", "Escape"]);
const STEP = { ArrowLeft: 0, j: 0, ArrowRight: 1, k: 1 };
const NOTE_DEBOUNCE_MS = 1000; // as the session editor: saved 1 s after the last keystroke
const SWIPE_PX = 50;

function h(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function button(label, title, className) {
  const node = h("button", `sk-iv-button ${className || ""}`, label);
  node.type = "button";
  node.title = title;
  node.setAttribute("aria-label", title);
  return node;
}

async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch (error) {
    // no clipboard API (plain http, or a denied permission): the old way
    const area = h("textarea");
    area.value = text;
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    let copied = false;
    try {
      copied = document.execCommand("copy");
    } catch (ignored) {
      copied = false;
    }
    area.remove();
    return copied;
  }
}

function render({ model, el }) {
  const cache = new Map(); // filename -> {url, error, note, info, image}
  let shown = ""; // the file on screen (may run ahead of model's filename)

  const root = h("div", "sk-iv sk-own-keys"); // sk-own-keys: a screen's KeyScope leaves our keys alone
  root.tabIndex = 0;
  root.setAttribute("data-lm-suppress-shortcuts", "true");
  root.setAttribute("role", "region");
  root.setAttribute("aria-label", "image viewer: arrows or j/k step, l like, d dislike, 0 clear, 1-5 stars");

  const bar = h("div", "sk-iv-bar");
  const back = button("← grid", "back to the grid (Escape)", "sk-iv-back");
  const previous = button("‹", "previous image (← or j)", "sk-iv-prev");
  const position = h("span", "sk-iv-position");
  const next = button("›", "next image (→ or k)", "sk-iv-next");
  const name = h("span", "sk-iv-name");
  bar.append(back, previous, position, next, name);

  const body = h("div", "sk-iv-body");
  const stage = h("div", "sk-iv-stage");
  const image = h("img", "sk-iv-image");
  image.alt = "";
  image.draggable = false;
  const problem = h("div", "sk-iv-problem");
  problem.setAttribute("role", "alert");
  const tapPrevious = button("‹", "previous image", "sk-iv-tap sk-iv-tap-prev");
  const tapNext = button("›", "next image", "sk-iv-tap sk-iv-tap-next");
  stage.append(image, problem, tapPrevious, tapNext);

  // the marks sit above the image on a narrow screen (always in sight while culling),
  // beside it on a wide one; the image's facts and prompt come after them
  const markBox = h("div", "sk-iv-markbox");
  const side = h("div", "sk-iv-side");
  const marks = h("div", "sk-iv-marks");
  const like = button("👍 like", "like (l)", "sk-iv-like");
  const dislike = button("👎 dislike", "dislike (d)", "sk-iv-dislike");
  const clear = button("clear", "clear the rating (0)", "sk-iv-clear");
  const stars = h("span", "sk-iv-stars");
  stars.setAttribute("role", "group");
  stars.setAttribute("aria-label", "stars");
  const starButtons = [1, 2, 3, 4, 5].map((n) => {
    const star = button("☆", `${n} star${n > 1 ? "s" : ""} (${n})`, "sk-iv-star");
    star.dataset.stars = String(n);
    stars.append(star);
    return star;
  });
  marks.append(like, dislike, clear, stars);
  const tags = h("div", "sk-iv-tags");
  const tagList = h("span", "sk-iv-taglist");
  const tagInput = h("input", "sk-iv-tag-input");
  tagInput.placeholder = "add tag (t)";
  tagInput.setAttribute("aria-label", "add a tag: Enter adds, Escape cancels");
  tags.append(tagList, tagInput);
  const status = h("div", "sk-iv-status");
  status.setAttribute("role", "status");
  status.setAttribute("aria-live", "polite");
  // the note: typed here, saved by the kernel 1 s after the last keystroke and when the
  // field is left; `was` is the stored note the typing started from (a conflict check)
  const noteBox = h("label", "sk-iv-notebox");
  const noteInput = h("textarea", "sk-iv-note");
  noteInput.rows = 2;
  noteInput.placeholder = "note (n)";
  noteInput.setAttribute("aria-label", "the image's note: saved as you type; Escape leaves the field");
  const noteCounter = h("span", "sk-iv-counter");
  noteBox.append(noteInput, noteCounter);
  const noteEdit = { filename: "", was: "", dirty: false, timer: 0 };
  const facts = h("dl", "sk-iv-facts");
  const values = h("ul", "sk-iv-values");
  const promptHead = h("div", "sk-iv-head");
  promptHead.append(h("span", "", "Prompt"));
  const copy = button("copy", "copy the prompt", "sk-iv-copy");
  promptHead.append(copy);
  const prompt = h("div", "sk-iv-prompt");
  const negativeHead = h("div", "sk-iv-head", "Negative prompt");
  const negative = h("div", "sk-iv-prompt sk-iv-negative");
  markBox.append(marks, tags, noteBox, status);
  side.append(facts, values, promptHead, prompt, negativeHead, negative);
  body.append(stage, markBox, side);
  root.append(bar, body);
  el.append(root);

  function remember(filename, entry) {
    const old = cache.get(filename);
    if (old && old.url) URL.revokeObjectURL(old.url);
    cache.delete(filename);
    cache.set(filename, entry);
    while (cache.size > CACHE_SIZE) {
      const [oldest, dropped] = cache.entries().next().value;
      if (oldest === shown) break;
      if (dropped.url) URL.revokeObjectURL(dropped.url);
      cache.delete(oldest);
    }
  }

  function currentInfo() {
    if (shown === model.get("filename")) return model.get("info") || {};
    const entry = cache.get(shown);
    return (entry && entry.info) || {};
  }

  function drawImage() {
    const entry = cache.get(shown);
    root.classList.toggle("sk-iv-loading", !entry);
    if (!entry) {
      problem.textContent = shown ? "loading…" : "This session has no images.";
      image.removeAttribute("src");
      image.hidden = true;
      return;
    }
    if (entry.error) {
      problem.textContent = entry.error;
      image.hidden = true;
      image.removeAttribute("src");
      return;
    }
    problem.textContent = "";
    image.hidden = false;
    if (image.dataset.filename !== shown) {
      image.dataset.filename = shown;
      image.src = entry.url;
    }
  }

  function drawInfo() {
    const info = currentInfo();
    const total = info.total || 0;
    position.textContent = total ? `${(info.index ?? -1) + 1} / ${total}` : "0 / 0";
    name.textContent = shown;
    name.title = shown;
    const [before, after] = model.get("neighbours") || ["", ""];
    const settled = shown === model.get("filename"); // else the neighbours are not known yet
    previous.disabled = tapPrevious.disabled = settled && !before;
    next.disabled = tapNext.disabled = settled && !after;
    back.hidden = !model.get("closable");
    like.setAttribute("aria-pressed", String(info.rating === "like"));
    dislike.setAttribute("aria-pressed", String(info.rating === "dislike"));
    starButtons.forEach((star, i) => {
      const on = (info.stars || 0) > i;
      star.textContent = on ? "★" : "☆";
      star.setAttribute("aria-pressed", String(info.stars === i + 1));
    });
    tagList.replaceChildren(
      ...(info.tags || []).map((tag) => {
        const chip = button(`${tag} ×`, `remove the tag ${tag}`, "sk-iv-tag");
        chip.addEventListener("click", () => model.send({ type: "untag", tag }));
        return chip;
      }),
    );
    drawNote(info);
    const entry = cache.get(shown);
    const rows = [["seed", info.seed ?? "—"]];
    if (entry && entry.note) rows.push(["shown", entry.note]);
    if (entry && entry.error) rows.push(...(info.facts || []).filter(([label]) => !label.startsWith("{")));
    facts.replaceChildren(...rows.flatMap(([label, value]) => [h("dt", "", label), h("dd", "", value)]));
    values.replaceChildren(
      ...(info.values || []).map(([placeholder, value]) => {
        const item = h("li", "sk-iv-value");
        item.append(h("span", "sk-iv-placeholder", placeholder), h("span", "sk-iv-sep", ": "), h("span", "sk-iv-chosen", value));
        return item;
      }),
    );
    prompt.textContent = info.prompt || "—";
    negative.textContent = info.negative_prompt || "—";
    copy.disabled = !info.prompt;
  }

  function drawNote(info) {
    const stored = info.note || "";
    if (noteEdit.filename !== shown) {
      saveNote(); // typed for the image left: it goes with that image's name
      Object.assign(noteEdit, { filename: shown, was: stored, dirty: false });
      noteInput.value = stored;
    } else if (!noteEdit.dirty && noteInput.value === noteEdit.was) {
      noteEdit.was = stored; // nothing typed since the last note shown: show it as stored now
      noteInput.value = stored;
    } else {
      // saved, typed on meanwhile, or refused (the status says why): the user's text stays,
      // and the next keystroke saves it over what is stored now
      noteEdit.was = stored;
    }
    countNote();
  }

  function countNote() {
    const limit = model.get("note_limit");
    noteCounter.textContent = `${noteInput.value.length}/${limit}`;
    noteCounter.classList.toggle("sk-iv-over", noteInput.value.length > limit);
  }

  function saveNote() {
    clearTimeout(noteEdit.timer);
    if (!noteEdit.dirty || !noteEdit.filename) return;
    noteEdit.dirty = false;
    model.send({ type: "note", filename: noteEdit.filename, note: noteInput.value, was: noteEdit.was });
  }

  function draw() {
    drawImage();
    drawInfo();
  }

  function stepLocally(direction) {
    // only when in step with the kernel: its neighbours are then the right ones
    if (shown !== model.get("filename")) return;
    const target = (model.get("neighbours") || ["", ""])[direction];
    if (target && cache.has(target)) {
      shown = target;
      draw();
    }
  }

  function press(key) {
    if (key in STEP) stepLocally(STEP[key]);
    model.send({ type: "key", key });
  }

  function onKey(event) {
    if (event.target === noteInput) {
      event.stopPropagation(); // typing a note: no key is a notebook shortcut, nor ours
      if (event.key === "Escape") {
        event.preventDefault();
        saveNote();
        root.focus();
      }
      return;
    }
    if (event.target === tagInput) {
      event.stopPropagation(); // typing a tag: no key is a notebook shortcut
      if (event.key === "Enter") {
        event.preventDefault();
        if (tagInput.value.trim()) model.send({ type: "tag", tag: tagInput.value.trim() });
        tagInput.value = "";
        root.focus();
      } else if (event.key === "Escape") {
        event.preventDefault();
        tagInput.value = "";
        root.focus();
      }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "t" || event.key === "n") {
      event.preventDefault();
      event.stopPropagation();
      (event.key === "t" ? tagInput : noteInput).focus();
      return;
    }
    if (!KEYS.has(event.key)) return;
    event.preventDefault();
    event.stopPropagation();
    press(event.key);
  }

  root.addEventListener("keydown", onKey);
  noteInput.addEventListener("input", () => {
    noteEdit.dirty = true;
    countNote();
    clearTimeout(noteEdit.timer);
    noteEdit.timer = setTimeout(saveNote, NOTE_DEBOUNCE_MS);
  });
  noteInput.addEventListener("blur", saveNote);
  back.addEventListener("click", () => press("Escape"));
  for (const [node, key] of [[previous, "ArrowLeft"], [tapPrevious, "ArrowLeft"], [next, "ArrowRight"], [tapNext, "ArrowRight"]]) {
    node.addEventListener("click", () => {
      press(key);
      root.focus({ preventScroll: true });
    });
  }
  like.addEventListener("click", () => press("l"));
  dislike.addEventListener("click", () => press("d"));
  clear.addEventListener("click", () => press("0"));
  // a click on the stars an image has takes them away; Backspace does the same
  starButtons.forEach((star) => star.addEventListener("click", () => {
    press(currentInfo().stars === Number(star.dataset.stars) ? "Backspace" : star.dataset.stars);
  }));
  copy.addEventListener("click", async () => {
    const copied = await copyText(currentInfo().prompt || "");
    copy.textContent = copied ? "copied" : "copy failed";
    setTimeout(() => { copy.textContent = "copy"; }, 1500);
  });
  stage.addEventListener("pointerdown", () => root.focus({ preventScroll: true }));
  let touchX = null;
  stage.addEventListener("touchstart", (event) => { touchX = event.changedTouches[0].clientX; }, { passive: true });
  stage.addEventListener("touchend", (event) => {
    if (touchX === null) return;
    const moved = event.changedTouches[0].clientX - touchX;
    touchX = null;
    if (Math.abs(moved) >= SWIPE_PX) press(moved < 0 ? "ArrowRight" : "ArrowLeft");
  });
  image.addEventListener("load", () => { root.dataset.loaded = image.dataset.filename || ""; });
  image.addEventListener("error", () => {
    if (!image.getAttribute("src")) return;
    image.hidden = true;
    problem.textContent = "The browser could not decode this image (a damaged or truncated file?).";
    const info = currentInfo();
    facts.replaceChildren(...(info.facts || []).flatMap(([label, value]) => [h("dt", "", label), h("dd", "", value)]));
  });

  function onMessage(message, buffers) {
    if (message.type !== "image") return;
    let url = null;
    let decoded = null;
    if (!message.error && buffers && buffers.length) {
      url = URL.createObjectURL(new Blob([buffers[0]], { type: message.mime }));
      decoded = new Image(); // decode ahead, so that showing it later costs nothing
      decoded.src = url;
      decoded.decode().catch(() => {});
    }
    remember(message.filename, { url, decoded, error: message.error, note: message.note, info: message.info });
    if (message.filename === shown) draw();
  }

  function onState() {
    shown = model.get("filename");
    draw();
  }

  function onStatus() {
    const text = model.get("status");
    status.textContent = text;
    status.classList.toggle("sk-iv-error", text.startsWith("not saved"));
  }

  function onFocusRequest() {
    requestAnimationFrame(() => root.focus({ preventScroll: false }));
  }

  const changes = {
    "msg:custom": onMessage,
    "change:filename": onState,
    "change:info": drawInfo,
    "change:neighbours": drawInfo,
    "change:closable": drawInfo,
    "change:status": onStatus,
    "change:focus_request": onFocusRequest,
  };
  for (const [name, handler] of Object.entries(changes)) model.on(name, handler);
  shown = model.get("filename");
  draw();
  onStatus();
  model.send({ type: "ready" });
  if (model.get("focus_request")) onFocusRequest();

  return () => {
    saveNote(); // a view taken away while a note waits for its debounce: saved now
    for (const [name, handler] of Object.entries(changes)) model.off(name, handler);
    for (const entry of cache.values()) if (entry.url) URL.revokeObjectURL(entry.url);
  };
}

export default { render };
