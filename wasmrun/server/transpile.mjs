// Transpile a component for the browser with jco's transpiler (the library behind
// `jco transpile`): node transpile.mjs JCO_TRANSPILE_INDEX COMPONENT OUT_DIR NAME
// Writes NAME.js (an ES module importing @bytecodealliance/preview2-shim/*) and the core
// modules beside it, and prints {files, imports, exports} as JSON on stdout.
import { readFile, writeFile, mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";

const [index, component, outDir, name] = process.argv.slice(2);
const { transpileBytes } = await import(pathToFileURL(index).href);
const result = await transpileBytes(await readFile(component), { name, emitTypescriptDeclarations: false, minify: true });
for (const [file, data] of Object.entries(result.files)) {
  const path = join(outDir, file);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, data);
}
process.stdout.write(JSON.stringify({ files: Object.keys(result.files), imports: result.imports, exports: result.exports }));
