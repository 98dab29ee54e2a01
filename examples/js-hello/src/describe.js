export function describe(args) {
  const counts = new Map();
  for (const arg of args) counts.set(arg.length, (counts.get(arg.length) ?? 0) + 1);
  return { count: args.length, args, lengths: counts };
}
