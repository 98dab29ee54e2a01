// Run by node and as a component: the two must print the same.
if (process.argv[2] === "echo") {
  for (const arg of process.argv.slice(3)) process.stdout.write(`${arg}\n`);
  process.exit(0);
}

class Animal {
  #sound;
  constructor(name, sound) { this.name = name; this.#sound = sound; }
  speak() { return `${this.name} says ${this.#sound}`; }
  static create(...args) { return new this(...args); }
}
class Dog extends Animal {
  constructor(name) { super(name, "woof"); this.tricks = []; }
  get trickCount() { return this.tricks.length; }
}
const dog = Dog.create("rex");
dog.tricks.push("sit", "roll");
console.log(dog.speak(), dog.trickCount, dog instanceof Animal);
console.log(dog);

function* fib() { let [a, b] = [0, 1]; for (;;) { yield a; [a, b] = [b, a + b]; } }
const firsts = [];
for (const n of fib()) { if (n > 100) break; firsts.push(n); }
console.log(firsts.join(","));

const counter = (() => { let c = 0; return () => ++c; })();
counter(); counter();
console.log("closure", counter());

const { a, b: [first, ...rest], ...others } = { a: 1, b: [2, 3, 4], c: 5, d: 6 };
console.log(a, first, rest, others);
console.log([1, [2, [3, [4]]]], { nested: { deeper: { deepest: { gone: 1 } } } });
console.log(new Map([["k", { v: 1 }]]), new Set(["x", 2]), [], {}, [undefined, null]);
console.log(-0, 1e21, 0.1 + 0.2, 2n ** 64n, NaN, -Infinity, true);
console.log("%s is %d years and %i days, %f%%", "ada", 36.5, 7.9, 1.5, "extra");
console.log("%j", { json: [1, "two"] });
console.log(JSON.stringify({ when: "now", list: [1, 2, { x: null }] }, null, 2));
console.log("named groups", "2026-12-01".match(/(?<y>\d+)-(?<m>\d+)-(?<d>\d+)/).groups.m);
console.log("sorted", [10, 9, 1, 100].sort((x, y) => x - y), ["b", "a", "C"].sort());
console.log([1, 2, 3, 4].flatMap((x) => (x % 2 ? [x, x * 10] : [])), Object.entries({ p: 1, q: 2 }));
console.log("optional", dog?.owner?.name ?? "nobody", "unicode ✓ é 😀".length);
console.log([..."héllo"].reverse().join(""), "abc".padStart(6, "*"), "x".repeat(3));
try { null.x; } catch (e) { console.log("caught", e instanceof TypeError); }
try { JSON.parse("{bad"); } catch (e) { console.log("caught", e.name); }
label: for (const i of [1, 2, 3]) { for (const j of [1, 2]) { if (i * j === 4) break label; console.log("pair", i, j); } }
console.log(typeof Symbol.iterator, String(Symbol("s")), [3, 1, 2].at(-1), Object.fromEntries([["z", 26]]));
console.log(new Uint8Array([1, 2, 255]), Array.from({ length: 3 }, (_, i) => i * i));
console.log(Number.parseFloat("3.14abc"), (1234.5678).toFixed(2), Math.max(...[4, 8, 2]));
const wait = (ms, v) => new Promise((resolve) => setTimeout(() => resolve(v), ms));
const got = await Promise.race([wait(30, "slow"), wait(5, "fast")]);
console.log("race", got, await Promise.allSettled([Promise.reject(new Error("no")), 1]).then((r) => r.map((x) => x.status)));
process.exitCode = 5;
