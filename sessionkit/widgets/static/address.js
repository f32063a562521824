// Keeps the session browser's filters in the page's address (anywidget, the app only).
// The kernel sends its part of the query string; the parameters it names are replaced,
// every other one (Voila's ?token=) is left as it is. replaceState: no history entries,
// no page load; a reload or a copied link opens the app on the same filters.

function render({ model, el }) {
  el.style.display = "none";
  function write() {
    const url = new URL(window.location.href);
    for (const key of model.get("names")) url.searchParams.delete(key);
    for (const [key, value] of new URLSearchParams(model.get("query"))) {
      url.searchParams.append(key, value);
    }
    if (url.href !== window.location.href) {
      window.history.replaceState(window.history.state, "", url.href);
    }
  }
  model.on("change:query", write);
  write();
  return () => model.off("change:query", write);
}

export default { render };
