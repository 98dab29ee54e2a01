// Transpile a component for the browser with jco's transpiler (the library behind
// `jco transpile`), then bundle it with the WASI 0.2 browser shim into ONE ES module with esbuild:
//   node transpile.mjs JCO_TRANSPILE_INDEX ESBUILD_MAIN NODE_MODULES COMPONENT OUT_DIR NAME INLINE_BYTES
// Core modules of at most INLINE_BYTES are inlined (base64) into the bundle; larger ones are
// written beside it (OUT_DIR/NAME.coreN.wasm) and fetched by it. The bundle first hands the shim's
// `cli` module to `globalThis.wasmrunShim` (when the page set one) so that stdout, stderr, stdin,
// argv and the environment are wired before the component is instantiated, and once instantiated
// hands the component's exports to `globalThis.wasmrunComponent` (for a page holding it inline).
// Prints {files, imports, exports} as JSON on stdout: the files written, the shim modules the
// component imports, and its exports as jco names them.
import { readFile, writeFile, mkdir, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";

const [index, esbuildMain, nodeModules, component, outDir, name, inline] = process.argv.slice(2);
const { transpileBytes } = await import(pathToFileURL(index).href);
const { build } = await import(pathToFileURL(esbuildMain).href);

const result = await transpileBytes(await readFile(component), {
  name, emitTypescriptDeclarations: false, minify: true, base64Cutoff: Number(inline),
});
const glue = join(outDir, "glue");
for (const [file, data] of Object.entries(result.files)) {
  const path = join(glue, file);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, data);
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
process.stdout.write(JSON.stringify({ files, imports: result.imports, exports: result.exports }));
