// What wasmrun's prelude gives a TypeScript program without its own tsconfig.json: console and a
// subset of Node's process, over wasi:cli.
declare var console: {
  log(...data: unknown[]): void;
  info(...data: unknown[]): void;
  debug(...data: unknown[]): void;
  error(...data: unknown[]): void;
  warn(...data: unknown[]): void;
  trace(...data: unknown[]): void;
  dir(item: unknown): void;
  assert(condition: unknown, ...data: unknown[]): void;
  count(label?: string): void;
};
declare var process: {
  argv: string[];
  argv0: string;
  env: Record<string, string | undefined>;
  exitCode: number | undefined;
  platform: string;
  exit(code?: number): never;
  stdout: { write(chunk: string | Uint8Array): boolean };
  stderr: { write(chunk: string | Uint8Array): boolean };
};
