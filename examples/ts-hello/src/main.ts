// A WASI command in TypeScript: compiled by tsc, then built like JavaScript.
import { Circle, Rectangle, largest, type Shape } from "./shapes.js";

enum Level { Quiet, Loud }

const shapes: Shape[] = [new Rectangle(3, 4), new Circle(2)];
console.log("hello from TypeScript");
for (const shape of shapes) console.log(`${shape.name}: ${shape.area().toFixed(2)}`);
console.log(`largest: ${largest(shapes)?.name}`);
const level: Level = process.argv.includes("--loud") ? Level.Loud : Level.Quiet;
console.log(`level: ${Level[level]}`);
