// What every subcommand shares: one-line errors with a non-zero exit, --verbose for the stack.

export class UsageError extends Error {}

export function fail(e: unknown, verbose: boolean): never {
  const err = e instanceof Error ? e : new Error(String(e));
  const line = err.message.split("\n")[0];
  process.stderr.write(`error: ${line}\n`);
  if (verbose && err.stack) process.stderr.write(`${err.stack}\n`);
  process.exit(err instanceof UsageError ? 2 : 1);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function parsePort(value: string, what = "--uart-port"): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`${what} ${value}: a TCP port is an integer 0..65535`);
  return n;
}

/** Resolves when the process is asked to stop (Ctrl-C, SIGTERM). */
export function untilInterrupted(): Promise<string> {
  return new Promise((resolve) => {
    const done = (sig: string) => resolve(sig);
    process.once("SIGINT", () => done("SIGINT"));
    process.once("SIGTERM", () => done("SIGTERM"));
  });
}
