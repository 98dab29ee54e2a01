// A WASI command in JavaScript: console, process.argv, process.env and exit codes.
import { shout } from "shout";
import { describe } from "./describe.js";

console.log("hello from JavaScript");
console.log(shout("npm packages are bundled"));

const args = process.argv.slice(2);
console.log(describe(args));
if (process.env.WHO) console.log(`WHO is ${process.env.WHO}`);

if (args[0] === "exit") {
  console.error(`exiting with ${args[1]}`);
  process.exit(Number(args[1]));
}
if (args[0] === "throw") {
  throw new RangeError("out of range: " + args[1]);
}
