// The CA's refusals: one line each, naming what is wrong; never a secret in the text.

const oneLine = (message: string) => message.replace(/\s*[\r\n]+\s*/g, " ");

/** The CA cannot do what was asked (a missing or damaged CA directory, a wrong passphrase, ...). */
export class CaError extends Error {
  constructor(message: string) {
    super(oneLine(message));
    this.name = "CaError";
  }
}

/** A certificate request the CA refuses, with the reason. */
export class CsrError extends Error {
  constructor(message: string) {
    super(oneLine(message));
    this.name = "CsrError";
  }
}
