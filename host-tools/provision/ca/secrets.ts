// Where the CA's secrets come from: an environment variable (a station, CI) or the person at the
// terminal, typed without echo. Never from argv (other users see it in ps), never logged or
// written: the text of every error here names the variable, not the value.

import { CaError } from "./errors.ts";
import { promptHidden as promptTerminal } from "../../terminal.ts";

const promptHidden = (prompt: string) => promptTerminal(prompt, () => new CaError("interrupted"));

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
