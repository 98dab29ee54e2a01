// A tiny npm package, installed with `npm install` (a file: dependency): bundled into the program.
export function shout(text) {
  return text.toUpperCase() + "!";
}
