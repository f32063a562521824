"""A key scope: keys pressed in a sessionkit widget stay in it, and reach Python.

Plain ipywidgets cannot carry HTML attributes, only CSS classes, and no key
event reaches Python. So each sessionkit screen (browser, detail, editor)
holds one invisible :class:`KeyScope`, a tiny anywidget. Once drawn, it
finds the screen's root element (its nearest ancestor with the CSS class
``scope``) and

* marks the root and every focusable element in it
  ``data-lm-suppress-shortcuts``: JupyterLab then ignores every key pressed
  there (``a``, ``b``, ``x``, ``d d``, ``m``, arrows, Shift+Enter would
  otherwise insert, delete or move cells), while the widget's own handlers
  still get them. The mark must sit on the focused element itself: the
  notebook's shortcuts match ``:focus`` before an ancestor's mark is seen;
* handles the keys the screen asked for (``keys``, the ``handles`` trait) and sends each as a
  message ``{"action": ...}`` to Python, where :meth:`KeyScope.handle`
  calls the screen's method for it:

  - ``"cards"``: arrows move the focus between the cards (a visible ring),
    Enter opens (the card's button), ``l`` sends ``like`` with the card's
    ``slot`` (its ``sk-slot-N`` class);
  - ``"escape"``: Escape sends ``escape`` (close the detail);
  - ``"overlay"``: on a narrow screen, the open detail (``.sk-side.sk-open``)
    is placed over the screen where the user is, the focus goes to its close
    button, and back to the card when it closes;
  - ``"tag"``: in the tag entry field, Enter sends ``tag-enter`` with the
    text, Escape empties the field (nothing to tell Python), Backspace in the empty
    field sends ``tag-backspace`` with the (empty) text; Delete or Backspace on a focused tag
    sends ``tag-remove`` with its index;

* gives what ipywidgets cannot express its accessible name and state:
  ``aria-pressed`` on toggle buttons, ``aria-label`` from ``labels``
  (CSS selector: name), ``role=group`` with a name from ``groups``, and a
  polite live region on the elements matching ``live`` (the save state).

It renders nothing visible. The same code works in JupyterLab and in Voila
(``sessionkit serve``), which both draw anywidgets without a build step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import anywidget
import traitlets

Action = Callable[[Mapping[str, Any]], object]

_ESM = r"""
const TAGS = ".sk-tags .jupyter-widget-tag:not(.jupyter-widget-taginput)";
const ARROWS = ["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown", "Home", "End"];

function visibleCards(root) {
  return [...root.querySelectorAll(".sk-card")].filter((card) => card.offsetParent !== null);
}

function slotOf(card) {
  const found = [...card.classList].find((name) => name.startsWith("sk-slot-"));
  return found ? Number(found.slice("sk-slot-".length)) : -1;
}

function moveFocus(root, card, key) {
  const cards = visibleCards(root);
  const index = cards.indexOf(card);
  if (index < 0) return;
  const top = cards[0].getBoundingClientRect().top;
  const columns = Math.max(1, cards.filter((c) => c.getBoundingClientRect().top === top).length);
  const step = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -columns, ArrowDown: columns }[key];
  let next = key === "Home" ? 0 : key === "End" ? cards.length - 1 : index + step;
  next = Math.min(cards.length - 1, Math.max(0, next));
  const target = cards[next].querySelector(".sk-hit");
  if (target) {
    target.focus();
    target.scrollIntoView({ block: "nearest" });
  }
}

const PHONE = "(max-width: 600px)";
const FOCUSABLE = "button, input, select, textarea, [tabindex], .sk-tags .jupyter-widget-tag";
const SUPPRESS = "data-lm-suppress-shortcuts";

/* On a phone the open detail covers the screen where the user is. CSS makes it
   position: fixed, but JupyterLab and Voila hold outputs in panels with
   `contain: strict`, where "fixed" means "at the top of the scrolled panel":
   shift it by however far that is from the top of the screen. */
function placeOverlay(side) {
  side.style.top = "0px";
  side.style.bottom = "auto";
  side.style.height = `${window.innerHeight}px`;
  const offset = side.getBoundingClientRect().top;
  if (Math.abs(offset) > 0.5) side.style.top = `${-offset}px`;
}

function clearOverlay(side) {
  side.style.top = "";
  side.style.bottom = "";
  side.style.height = "";
}

function render({ model, el }) {
  el.style.display = "none";
  let root = null;
  let observer = null;
  let tries = 0;

  const send = (message) => model.send(message);
  let wasOpen = false;
  let lastCard = null;

  const overlay = () => {
    const side = root && root.querySelector(".sk-side");
    if (!side) return;
    const open = side.classList.contains("sk-open") && window.matchMedia(PHONE).matches;
    if (!open) {
      clearOverlay(side);
      if (wasOpen && lastCard && lastCard.isConnected) lastCard.focus();
      wasOpen = false;
      return;
    }
    placeOverlay(side);
    const close = side.querySelector(".sk-close");
    if (!wasOpen && close && close.offsetParent !== null) {
      close.focus({ preventScroll: true }); // the detail may still be drawing: until then, retry
      wasOpen = true;
    }
  };
  const onScroll = () => {
    if (wasOpen) overlay();
  };
  const onFocus = (event) => {
    if (event.target.matches(".sk-card .sk-hit")) lastCard = event.target;
  };

  const decorate = () => {
    if (!root) return;
    // JupyterLab's command-mode shortcuts match the focused element itself (":focus"),
    // before looking at its ancestors: so each focusable element carries the mark
    for (const node of root.querySelectorAll(FOCUSABLE)) {
      if (!node.hasAttribute(SUPPRESS)) node.setAttribute(SUPPRESS, "true");
    }
    if (model.get("handles").includes("overlay")) overlay();
    for (const button of root.querySelectorAll(".widget-toggle-button")) {
      const pressed = String(button.classList.contains("mod-active"));
      if (button.getAttribute("aria-pressed") !== pressed) {
        button.setAttribute("aria-pressed", pressed);
      }
    }
    for (const [selector, name] of Object.entries(model.get("labels"))) {
      for (const node of root.querySelectorAll(selector)) {
        if (node.getAttribute("aria-label") !== name) node.setAttribute("aria-label", name);
      }
    }
    for (const [selector, name] of Object.entries(model.get("groups"))) {
      for (const node of root.querySelectorAll(selector)) {
        node.setAttribute("role", "group");
        if (node.getAttribute("aria-label") !== name) node.setAttribute("aria-label", name);
      }
    }
    const live = model.get("live");
    if (live) {
      for (const node of root.querySelectorAll(live)) {
        node.setAttribute("role", "status");
        node.setAttribute("aria-live", "polite");
      }
    }
    if (model.get("handles").includes("tag")) {
      root.querySelectorAll(TAGS).forEach((tag, index) => {
        tag.tabIndex = 0;
        tag.setAttribute("aria-label", `tag ${tag.textContent.trim()}: Delete removes it`);
        tag.dataset.skIndex = String(index);
      });
    }
    for (const node of root.querySelectorAll("[data-saved-at]")) {
      const seconds = Math.max(0, Math.round(Date.now() / 1000 - Number(node.dataset.savedAt)));
      const text = seconds < 60 ? `${seconds} s ago` : `${Math.round(seconds / 60)} min ago`;
      if (node.textContent !== text) node.textContent = text;
    }
  };

  const onKey = (event) => {
    if (event.skHandled) return;
    // the image viewer, grid and compare handle their own keys (Escape goes back to the grid)
    if (event.target.closest(".sk-own-keys")) return;
    const keys = model.get("handles");
    const target = event.target;
    if (keys.includes("tag") && target.matches(".sk-add-tag input")) {
      // the field is emptied here, not from Python: its typed value may still be on the
      // way to the kernel and would arrive after Python emptied it
      const text = target.value;
      const empty = () => {
        target.value = "";
        target.dispatchEvent(new Event("input", { bubbles: true }));
      };
      if (event.key === "Enter") {
        empty();
        send({ action: "tag-enter", text });
      } else if (event.key === "Escape") {
        empty();
      } else if (event.key === "Backspace" && text === "") {
        send({ action: "tag-backspace", text });
      } else {
        return;
      }
      event.preventDefault();
      event.skHandled = true;
      return;
    }
    const tag = target.closest(TAGS);
    if (keys.includes("tag") && tag && (event.key === "Delete" || event.key === "Backspace")) {
      send({ action: "tag-remove", index: Number(tag.dataset.skIndex) });
      event.preventDefault();
      event.skHandled = true;
      return;
    }
    const card = target.closest(".sk-card");
    if (keys.includes("cards") && card && target.matches(".sk-hit")) {
      const plain = !event.ctrlKey && !event.metaKey && !event.altKey;
      if (ARROWS.includes(event.key) && plain) {
        moveFocus(root, card, event.key);
        event.preventDefault();
        event.skHandled = true;
        return;
      }
      if (event.key === "l" && plain) {
        send({ action: "like", slot: slotOf(card) });
        event.preventDefault();
        event.skHandled = true;
        return;
      }
    }
    // Escape in a tag field holding text cancels the text (the editor's key), nothing else
    const typing = target.matches(".sk-add-tag input") && target.value !== "";
    if (keys.includes("escape") && event.key === "Escape" && !typing) {
      send({ action: "escape" });
      event.skHandled = true;
    }
  };

  const onInput = (event) => {
    // a value picked from the autocomplete list is a whole tag: add it at once
    const field = event.target;
    if (field.matches(".sk-add-tag input") && event.inputType === "insertReplacementText") {
      const text = field.value;
      field.value = "";
      field.dispatchEvent(new Event("input", { bubbles: true }));
      send({ action: "tag-enter", text });
    }
  };

  const attach = () => {
    root = el.isConnected ? el.closest("." + model.get("scope")) : null;
    if (!root) {
      if (tries++ < 600) requestAnimationFrame(attach);
      return;
    }
    root.setAttribute(SUPPRESS, "true");
    // capture: ipywidgets' text fields stop their keydown from bubbling
    root.addEventListener("keydown", onKey, true);
    if (model.get("handles").includes("tag")) root.addEventListener("input", onInput);
    if (model.get("handles").includes("overlay")) {
      document.addEventListener("scroll", onScroll, true);
      window.addEventListener("resize", onScroll);
      root.addEventListener("focusin", onFocus);
    }
    observer = new MutationObserver(decorate);
    observer.observe(root, { subtree: true, childList: true, attributes: true,
                             attributeFilter: ["class"] });
    decorate();
  };
  const ticker = setInterval(decorate, 1000);
  model.on("change:labels", decorate);
  attach();
  return () => {
    clearInterval(ticker);
    if (observer) observer.disconnect();
    document.removeEventListener("scroll", onScroll, true);
    window.removeEventListener("resize", onScroll);
    if (root) {
      root.removeEventListener("keydown", onKey, true);
      root.removeEventListener("input", onInput);
      root.removeEventListener("focusin", onFocus);
    }
  };
}

export default { render };
"""


class KeyScope(anywidget.AnyWidget):
    """The invisible key and accessibility helper of one sessionkit screen (see the module).

    ``actions`` maps each message's ``action`` to the screen's method; a
    test (or any caller) can play a key with :meth:`handle` directly.
    """

    _esm = _ESM
    scope = traitlets.Unicode().tag(sync=True)
    handles = traitlets.List(traitlets.Unicode()).tag(sync=True)
    labels = traitlets.Dict().tag(sync=True)
    groups = traitlets.Dict().tag(sync=True)
    live = traitlets.Unicode("").tag(sync=True)

    def __init__(
        self,
        scope: str,
        actions: Mapping[str, Action],
        *,
        keys: tuple[str, ...] = (),
        labels: Mapping[str, str] | None = None,
        groups: Mapping[str, str] | None = None,
        live: str = "",
    ) -> None:
        super().__init__(
            scope=scope,
            handles=list(keys),
            labels=dict(labels or {}),
            groups=dict(groups or {}),
            live=live,
        )
        self.actions = dict(actions)
        self.on_msg(lambda _widget, content, _buffers: self.handle(content))

    def handle(self, message: Mapping[str, Any]) -> None:
        """Run the action a key asked for; unknown actions and malformed messages are ignored."""
        action = self.actions.get(str(message.get("action", "")))
        if action is not None:
            action(message)
