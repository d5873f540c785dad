// Where the CA's secrets come from: an environment variable (a station, CI) or the person at the
// terminal, typed without echo. Never from argv (other users see it in ps), never logged or
// written: the text of every error here names the variable, not the value.

import { CaError } from "./errors.ts";

export const PASSPHRASE_VARIABLE = "TINCAN_CA_PASSPHRASE";
export const PIN_VARIABLE = "TINCAN_HSM_PIN";

export interface SecretRequest {
  /** The environment variable that may hold it. */
  variable: string;
  /** What the prompt asks for, e.g. "CA key passphrase". */
  what: string;
  /** Ask twice on the terminal (a new passphrase). */
  confirm?: boolean;
  /** Refuse shorter secrets (a new passphrase). */
  minLength?: number;
}

export async function obtainSecret(req: SecretRequest): Promise<string> {
  const fromEnv = process.env[req.variable];
  let secret: string;
  if (fromEnv !== undefined) {
    if (fromEnv === "") throw new CaError(`${req.variable} is set but empty`);
    secret = fromEnv;
  } else if (process.stdin.isTTY && process.stderr.isTTY) {
    secret = await promptHidden(`${req.what}: `);
    if (req.confirm && secret !== "" && (await promptHidden(`${req.what} again: `)) !== secret) throw new CaError(`the two ${req.what}s typed differ`);
    if (secret === "") throw new CaError(`no ${req.what} typed`);
  } else {
    throw new CaError(`no ${req.what}: set ${req.variable}, or run on a terminal to be asked for it`);
  }
  if (req.minLength !== undefined && secret.length < req.minLength) {
    throw new CaError(`the ${req.what} is ${secret.length} characters; a new one needs at least ${req.minLength}`);
  }
  return secret;
}

/** One line from the terminal in raw mode (so nothing is echoed); Ctrl-C or Ctrl-D aborts. */
async function promptHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  // Raw mode before the prompt: whatever is typed once it shows is never echoed.
  stdin.setRawMode(true);
  process.stderr.write(prompt);
  stdin.resume();
  try {
    return await new Promise<string>((resolve, reject) => {
      let typed = "";
      const onData = (chunk: Buffer) => {
        for (const ch of chunk.toString("utf8")) {
          if (ch === "\r" || ch === "\n") {
            stdin.off("data", onData);
            process.stderr.write("\n");
            resolve(typed);
            return;
          }
          if (ch === "\u0003" || ch === "\u0004") {
            stdin.off("data", onData);
            process.stderr.write("\n");
            reject(new CaError("interrupted"));
            return;
          }
          typed = ch === "\u007f" || ch === "\b" ? typed.slice(0, -1) : typed + ch;
        }
      };
      stdin.on("data", onData);
    });
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
  }
}
