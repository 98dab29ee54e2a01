// Live reload for `wasmrun run --watch`: added to every HTML page the server sends. It follows
// /__wasmrun/events (Server-Sent Events): reloads the page after a good build, shows the
// compiler's errors over the page after a failed one (the last good build keeps running).
(() => {
  if (window.__wasmrunLive) return;
  const script = document.currentScript;
  const live = (window.__wasmrunLive = {
    generation: Number(script?.dataset.generation || 0),
    server: null,
    connected: false,
  });
  const OVERLAY_ID = "wasmrun-error";

  function overlay() {
    let box = document.getElementById(OVERLAY_ID);
    if (box) return box;
    box = document.createElement("div");
    box.id = OVERLAY_ID;
    box.setAttribute("role", "alert");
    box.style.cssText = "position:fixed;inset:auto 0 0 0;max-height:60vh;overflow:auto;z-index:2147483647;" +
      "background:#2b0b10;color:#ffd7dc;font:13px/1.4 ui-monospace,Menlo,Consolas,monospace;" +
      "padding:12px 16px;border-top:3px solid #ff4d6a;box-shadow:0 -4px 16px rgba(0,0,0,.4)";
    const title = document.createElement("div");
    title.style.cssText = "font-weight:bold;margin-bottom:6px;font-family:system-ui,sans-serif";
    title.textContent = "wasmrun: the build failed; the page still runs the last good build";
    const close = document.createElement("button");
    close.textContent = "×";
    close.title = "hide";
    close.style.cssText = "float:right;background:none;border:0;color:inherit;font-size:18px;cursor:pointer";
    close.onclick = () => box.remove();
    const pre = document.createElement("pre");
    pre.style.cssText = "margin:0;white-space:pre-wrap";
    box.append(close, title, pre);
    (document.body || document.documentElement).append(box);
    return box;
  }

  function showError(text) {
    overlay().querySelector("pre").textContent = text;
  }

  function clearError() {
    document.getElementById(OVERLAY_ID)?.remove();
  }

  function badge(text) {
    document.documentElement.dataset.wasmrunBuild = text;
  }

  const events = new EventSource("/__wasmrun/events");
  events.addEventListener("hello", (event) => {
    const data = JSON.parse(event.data);
    if (live.server && live.server !== data.server) { location.reload(); return; } // a new server
    live.server = data.server;
    live.connected = true;
    document.documentElement.dataset.wasmrunLive = "connected";
    if (data.generation > live.generation && live.generation) { location.reload(); return; }
    if (data.error) showError(data.error);
    else clearError();
  });
  events.addEventListener("building", () => badge("building"));
  events.addEventListener("reload", () => { badge("reloading"); location.reload(); });
  events.addEventListener("build-failed", (event) => {
    badge("failed");
    showError(JSON.parse(event.data).error);
  });
  events.addEventListener("error", () => {
    live.connected = false;
    document.documentElement.dataset.wasmrunLive = "disconnected";
  });
})();
