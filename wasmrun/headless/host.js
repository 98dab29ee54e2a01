// The driver's side of the page (`wasmrun run --headless`), installed before any script of the
// page runs. It sets `window.wasmrunHost`, which wasmrun's page (boot.js) reports to: every
// write ("stdout", "stderr", "note") and the end ("end", once), each as one console.debug line
// carrying a marker and JSON, so that they reach the driver in the order they happened. It also
// holds the program's standard input. A project's own page may end the run with
// `window.wasmrunHost?.exit(code)`.
(() => {
  const config = __WASMRUN_HOST_CONFIG__;
  const stdin = Uint8Array.from(atob(config.stdin), (c) => c.charCodeAt(0));
  const debug = console.debug.bind(console);
  let ended = false;
  function report(kind, data) {
    if (kind === "end") {
      if (ended) return;
      ended = true;
    }
    debug(config.marker + JSON.stringify([kind, data ?? null]));
  }
  const exit = (code) => report("end", { status: "exited", code: Number(code) | 0, text: `exited with code ${code}` });
  Object.defineProperty(window, "wasmrunHost", { value: Object.freeze({ stdin, report, exit }) });
})();
