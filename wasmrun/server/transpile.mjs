// Transpile a component for the browser with jco's generator, then bundle it with the WASI 0.2
// browser shim into ONE ES module with esbuild:
//   node transpile.mjs JCO_TRANSPILE_INDEX SYNC_GENERATOR ESBUILD_MAIN NODE_MODULES COMPONENT OUT_DIR NAME INLINE_BYTES
// SYNC_GENERATOR is jco 1.12.0's generator (its `js-component-bindgen-component.js`), or "-" to skip
// it: it writes glue without the component-model async runtime newer jco always includes (a
// quarter of the size for a hello component), and is used when it can read the component; a
// component it cannot read (newer encodings, such as extended constant expressions) is
// transpiled by jco-transpile (JCO_TRANSPILE_INDEX, the library behind jco 1.35's `transpile`).
// Core modules of at most INLINE_BYTES are inlined (base64) into the bundle; larger ones are
// written beside it (OUT_DIR/NAME.coreN.wasm) and fetched by it. The bundle first hands the shim's
// `cli` module to `globalThis.wasmrunShim` (when the page set one) so that stdout, stderr, stdin,
// argv and the environment are wired before the component is instantiated, and once instantiated
// hands the component's exports to `globalThis.wasmrunComponent` (for a page holding it inline).
// Prints {files, imports, exports, generator} as JSON on stdout: the files written, the shim
// modules the component imports, its exports as jco names them, and which generator wrote the glue.
import { readFile, writeFile, mkdir, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";

const [index, syncGenerator, esbuildMain, nodeModules, component, outDir, name, inline] = process.argv.slice(2);
const { build } = await import(pathToFileURL(esbuildMain).href);

// where jco's `transpile` sends each WASI interface (its default map)
const SHIM = Object.fromEntries(["cli", "clocks", "filesystem", "http", "io", "random", "sockets"]
  .map((pkg) => [`wasi:${pkg}/*`, `@bytecodealliance/preview2-shim/${pkg}#*`]));

// (not minified by jco: esbuild minifies the bundle, and `compileAtOnce` reads jco's own text)
const bytes = await readFile(component);
const result = await withoutAsyncRuntime(bytes) ?? await withJcoTranspile(bytes);

/** The glue of jco 1.12.0's generator, with the options jco's `transpile` gives it; null when it
 *  cannot read the component (a `note:` line on stderr: wasmrun shows stderr only if jco-transpile fails too). */
async function withoutAsyncRuntime(bytes) {
  if (syncGenerator === "-") return null;
  try {
    const { $init, generate } = await import(pathToFileURL(syncGenerator).href);
    await $init;
    const { files, imports, exports } = generate(bytes, {
      name, map: Object.entries(SHIM), noTypescript: true, base64Cutoff: Number(inline),
      validLiftingOptimization: false, tracing: false, noNodejsCompat: false, tlaCompat: false,
      noNamespacedExports: false, multiMemory: false,
    });
    return { files: Object.fromEntries(files), imports, exports, generator: "jco 1.12.0" };
  } catch (error) {
    process.stderr.write(`note: jco 1.12.0 cannot read the component (${String(error).split("\n")[0]}): jco-transpile instead\n`);
    return null;
  }
}

async function withJcoTranspile(bytes) {
  const { transpileBytes } = await import(pathToFileURL(index).href);
  const { files, imports, exports } = await transpileBytes(bytes, {
    name, emitTypescriptDeclarations: false, minify: false, base64Cutoff: Number(inline),
  });
  return { files, imports, exports, generator: "jco-transpile 0.15.0" };
}

const glue = join(outDir, "glue");
const allInlined = !Object.keys(result.files).some((file) => file.endsWith(".wasm"));
for (const [file, data] of Object.entries(result.files)) {
  const path = join(glue, file);
  await mkdir(dirname(path), { recursive: true });
  if (file !== `${name}.js`) {
    await writeFile(path, data);
    continue;
  }
  const js = withoutDebugLog(Buffer.from(data).toString("utf8"));
  await writeFile(path, allInlined ? compileAtOnce(js) : js);
}

// jco-transpile's glue logs every step of its task machinery through `_debugLog(message,
// {details})`, which prints only when Node's JCO_DEBUG is set: never in a browser, yet each call
// builds its details and the page parses them all (about a tenth of the bundle). Its calls are marked pure, so that
// esbuild drops them (keeping any argument with side effects). Only when `_debugLog` reads exactly
// as expected; otherwise jco's output is left as it is.
function withoutDebugLog(js) {
  const definition = /const _debugLog = \(\.\.\.args\) => \{\s*if \(!globalThis\?\.process\?\.env\?\.JCO_DEBUG\) \{ return; \}\s*console\.debug\(\.\.\.args\);\s*\};/g;
  if ((js.match(definition) ?? []).length !== 1 || (js.match(/\b_debugLog\b/g) ?? []).length < 2) return js;
  return js.replace(/(?<![\w$.])_debugLog\(/g, "/* @__PURE__ */ _debugLog(");
}

// jco compiles and instantiates each inlined core module asynchronously: every step waits for a
// task of its own, and the browser lays out and paints the page between them before the program
// has printed anything. Core modules this small compile in well under a millisecond, so they are
// compiled and instantiated synchronously: the component starts in the task that evaluates it.
// jco's instantiation is a generator whose driver goes on at once when a step yields a value
// that is not a promise; when the driver reads so, the module and instance are handed over as
// they are (no microtask per step), else behind resolved promises, which jco awaits. Only when
// jco's helpers read exactly as expected; otherwise its output is left as it is.
function compileAtOnce(js) {
  const compile = /const base64Compile = str => WebAssembly\.compile\(\s*typeof Buffer !== 'undefined'\s*\? Buffer\.from\(str, 'base64'\)\s*: Uint8Array\.from\(atob\(str\), b => b\.charCodeAt\(0\)\)\s*\);/g;
  const instantiate = /const instantiateCore = WebAssembly\.instantiate;/g;
  if ((js.match(compile) ?? []).length !== 1 || (js.match(instantiate) ?? []).length !== 1) return js;
  return js.replace(compile, "const base64Compile = wasmrunCompileNow;")
    .replace(instantiate, "const instantiateCore = wasmrunInstantiateNow;") + `
function wasmrunBytes(base64) {
  if (Uint8Array.fromBase64) return Uint8Array.fromBase64(base64);
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}
${yieldsValues(js) ? `function wasmrunCompileNow(base64) {
  return new WebAssembly.Module(wasmrunBytes(base64));
}
function wasmrunInstantiateNow(module, imports) {
  return new WebAssembly.Instance(module, imports);
}` : `function wasmrunCompileNow(base64) {
  try { return Promise.resolve(new WebAssembly.Module(wasmrunBytes(base64))); } catch (error) { return Promise.reject(error); }
}
function wasmrunInstantiateNow(module, imports) {
  try { return Promise.resolve(new WebAssembly.Instance(module, imports)); } catch (error) { return Promise.reject(error); }
}`}
`;
}

// Whether jco's helpers are used only as steps of its instantiation generator (`yield
// instantiateCore(yield moduleN, ...)`, `const moduleN = base64Compile(...)`) whose driver runs
// the next step at once after a value that is not a promise.
function yieldsValues(js) {
  const driver = /function runNext ?\(value\) \{\s*try \{\s*let done;\s*do \{\s*\(\{ value, done \} = gen\.next\(value\)\);\s*\} while \(!\(value instanceof Promise\) && !done\);/g;
  const compiles = js.match(/\bbase64Compile\(/g) ?? [];
  const compileSteps = js.match(/const module\d+ = base64Compile\(/g) ?? [];
  const instantiates = js.match(/\binstantiateCore\(/g) ?? [];
  const instantiateSteps = js.match(/= yield instantiateCore\(yield module\d+[,)]/g) ?? [];
  return (js.match(driver) ?? []).length === 1 && (js.match(/\bfunction\* (?:_initGenerator|init) ?\(/g) ?? []).length === 1
    && compiles.length === compileSteps.length && instantiates.length === instantiateSteps.length;
}

// The shim's cli module is handed over first: ES modules evaluate in import order, so this runs
// before the component module's top-level await instantiates it.
await writeFile(join(glue, "wasmrun-shim.js"), [
  'import * as cli from "@bytecodealliance/preview2-shim/cli";',
  "globalThis.wasmrunShim?.(cli);",
].join("\n"));
// Once instantiated, the bundle hands its exports to `globalThis.wasmrunComponent` too: the page
// that holds the bundle inline (no URL to import it from) hears of them that way.
await writeFile(join(glue, "wasmrun-entry.js"), [
  'import "./wasmrun-shim.js";',
  `import * as component from "./${name}.js";`,
  `export * from "./${name}.js";`,
  "globalThis.wasmrunComponent?.(component);",
].join("\n"));
const bundle = `${name}.js`;
await build({
  entryPoints: [join(glue, "wasmrun-entry.js")],
  bundle: true, format: "esm", platform: "browser", target: "es2022", minify: true,
  outfile: join(outDir, bundle), nodePaths: [nodeModules], logLevel: "error", legalComments: "none",
  // jco's loader of core modules that are not inlined imports node:fs/promises when run by Node
  // only: left as is, never reached in a browser
  external: ["node:*"],
});
// the core modules not inlined sit beside the bundle, where its `new URL(..., import.meta.url)` looks
const files = [bundle];
for (const file of Object.keys(result.files)) {
  if (file.endsWith(".wasm")) {
    await writeFile(join(outDir, file), result.files[file]);
    files.push(file);
  }
}
await rm(glue, { recursive: true, force: true });
process.stdout.write(JSON.stringify({ files, imports: result.imports, exports: result.exports, generator: result.generator }));
